"""SQLite persistence. Money is stored as integer fen; every statement is parameterised."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from walletx.secure import hash_credential, seal
from walletx.seed import Holder

SCHEMA = """
DROP TABLE IF EXISTS request_ids;
DROP TABLE IF EXISTS payments;
DROP TABLE IF EXISTS wallets;
DROP TABLE IF EXISTS holders;
CREATE TABLE holders (
    login_name      TEXT PRIMARY KEY,
    credential_hash TEXT NOT NULL,           -- $scrypt$ln=14,r=8,p=1$salt$digest
    wallet_no       TEXT NOT NULL UNIQUE,
    holder_name     TEXT NOT NULL,
    bank_card_no    TEXT NOT NULL,
    mobile          TEXT NOT NULL,
    id_card_no      TEXT NOT NULL,
    sign_key_sealed TEXT NOT NULL,           -- payment signing key, sealed with master.key
    failures        INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER NOT NULL DEFAULT 0  -- unix seconds; 0 = not locked
);
CREATE TABLE wallets (
    wallet_no   TEXT PRIMARY KEY REFERENCES holders(wallet_no),
    balance_fen INTEGER NOT NULL CHECK (balance_fen >= 0)
);
CREATE TABLE payments (
    payment_no  TEXT PRIMARY KEY,
    payer       TEXT NOT NULL,
    payee       TEXT NOT NULL,
    amount_fen  INTEGER NOT NULL CHECK (amount_fen > 0),
    req_id      TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL                -- ISO 8601, +08:00, so text order is time order
);
CREATE INDEX payments_payer ON payments(payer, created_at);
CREATE INDEX payments_payee ON payments(payee, created_at);
CREATE TABLE request_ids (
    req_id    TEXT PRIMARY KEY,
    wallet_no TEXT NOT NULL,
    seen_at   INTEGER NOT NULL
);
"""

HOLDER_SQL = (
    "SELECT login_name, credential_hash, wallet_no, holder_name, bank_card_no, mobile, id_card_no, "
    "sign_key_sealed, failures, locked_until FROM holders "
)


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front (BEGIN IMMEDIATE)."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def create(self, holders: tuple[Holder, ...], master: bytes) -> None:
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.execute("BEGIN")
            for h in holders:
                conn.execute(
                    "INSERT INTO holders (login_name, credential_hash, wallet_no, holder_name, bank_card_no, "
                    "mobile, id_card_no, sign_key_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        h.login_name,
                        hash_credential(h.credential),
                        h.wallet_no,
                        h.holder_name,
                        h.bank_card_no,
                        h.mobile,
                        h.id_card_no,
                        seal(master, h.sign_key),
                    ),
                )
                conn.execute("INSERT INTO wallets (wallet_no, balance_fen) VALUES (?, ?)", (h.wallet_no, h.balance_fen))
            conn.execute("COMMIT")

    # --- holders ----------------------------------------------------------------------------
    def holder_by_login(self, login_name: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(HOLDER_SQL + "WHERE login_name = ?", (login_name,)).fetchone()

    def holder_by_wallet(self, wallet_no: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(HOLDER_SQL + "WHERE wallet_no = ?", (wallet_no,)).fetchone()

    def count_failure(self, login_name: str, threshold: int, lock_until: int) -> int:
        with self.write() as conn:
            conn.execute("UPDATE holders SET failures = failures + 1 WHERE login_name = ?", (login_name,))
            n = int(conn.execute("SELECT failures FROM holders WHERE login_name = ?", (login_name,)).fetchone()[0])
            if n >= threshold:
                conn.execute("UPDATE holders SET locked_until = ? WHERE login_name = ?", (lock_until, login_name))
            return n

    def clear_failures(self, login_name: str) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE holders SET failures = 0, locked_until = 0 WHERE login_name = ?", (login_name,))

    # --- wallets and payments ---------------------------------------------------------------
    def balance(self, wallet_no: str) -> int | None:
        with self.connect() as conn:
            return balance_of(conn, wallet_no)

    def ledger(self, wallet_no: str, limit: int) -> list[sqlite3.Row]:
        with self.connect() as conn:
            return conn.execute(
                "SELECT payment_no, payer, payee, amount_fen, created_at FROM payments "
                "WHERE payer = ? OR payee = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (wallet_no, wallet_no, limit),
            ).fetchall()

    def remember_request(self, req_id: str, wallet_no: str, now: int) -> bool:
        """False when the request id was seen before (a replay)."""
        with self.connect() as conn:
            try:
                conn.execute(
                    "INSERT INTO request_ids (req_id, wallet_no, seen_at) VALUES (?, ?, ?)", (req_id, wallet_no, now)
                )
            except sqlite3.IntegrityError:
                return False
            return True


def balance_of(conn: sqlite3.Connection, wallet_no: str) -> int | None:
    row = conn.execute("SELECT balance_fen FROM wallets WHERE wallet_no = ?", (wallet_no,)).fetchone()
    return None if row is None else int(row[0])


def paid_since(conn: sqlite3.Connection, wallet_no: str, since_iso: str) -> int:
    row = conn.execute(
        "SELECT COALESCE(SUM(amount_fen), 0) FROM payments WHERE payer = ? AND created_at >= ?", (wallet_no, since_iso)
    ).fetchone()
    return int(row[0])
