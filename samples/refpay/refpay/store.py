"""SQLite persistence. Every query is parameterised except the one that
deliberately models the 'sqli' defect."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from refpay.passwords import hash_password, scheme_of, verify_password
from refpay.seed import SeedUser

SCHEMA = """
DROP TABLE IF EXISTS reset_codes;
DROP TABLE IF EXISTS transfers;
DROP TABLE IF EXISTS accounts;
DROP TABLE IF EXISTS users;
CREATE TABLE users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    account_id    TEXT NOT NULL UNIQUE,
    card_number   TEXT NOT NULL,
    id_number     TEXT NOT NULL,
    phone         TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked        INTEGER NOT NULL DEFAULT 0,  -- unix time the lock started, 0 = unlocked
    nickname      TEXT NOT NULL DEFAULT ''     -- the user's display name (profile)
);
CREATE TABLE accounts (
    account_id TEXT PRIMARY KEY,
    owner      TEXT NOT NULL REFERENCES users(username),
    balance    TEXT NOT NULL  -- decimal string, handled with decimal.Decimal
);
CREATE TABLE transfers (
    id           TEXT PRIMARY KEY,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    amount       TEXT NOT NULL,
    nonce        TEXT NOT NULL,  -- not UNIQUE: the 'replay' defect must be able to store duplicates
    created_at   TEXT NOT NULL   -- ISO 8601 with fixed +08:00 offset, so text order = time order
);
CREATE TABLE reset_codes (
    username  TEXT PRIMARY KEY REFERENCES users(username),
    code_hash TEXT NOT NULL,  -- SHA-256 of the code: the code itself only goes out by SMS
    expires   INTEGER NOT NULL,  -- unix time
    attempts  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX transfers_from ON transfers(from_account, created_at);
CREATE INDEX transfers_to ON transfers(to_account, created_at);
"""

USER_COLUMNS = "username, password_hash, account_id, card_number, id_number, phone, failed_logins, locked"


log = logging.getLogger("refpay")


class Store:
    def __init__(self, path: Path, write_behind_s: float | None = None) -> None:
        self.path = path
        # 'ack-before-write' defect: everything runs on an in-memory copy of the database (one
        # connection, serialised), written back to disk every write_behind_s and at a clean stop.
        self._mem: sqlite3.Connection | None = None
        self._mem_lock = threading.RLock()
        if write_behind_s:
            self._mem = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            self._mem.row_factory = sqlite3.Row
            disk = sqlite3.connect(self.path)
            try:
                disk.backup(self._mem)
            finally:
                disk.close()
            threading.Thread(target=self._write_behind, args=(write_behind_s,), daemon=True).start()

    def _write_behind(self, every_s: float) -> None:
        while True:
            threading.Event().wait(every_s)
            self.flush()

    def flush(self) -> None:
        """Write the in-memory copy to disk (no-op for the ordinary, always-on-disk store)."""
        if self._mem is None:
            return
        with self._mem_lock:
            disk = sqlite3.connect(self.path, timeout=30)
            try:
                self._mem.backup(disk)
            finally:
                disk.close()
        log.info("event=store_flushed")

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        if self._mem is not None:
            with self._mem_lock:
                yield self._mem
            return
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Write transaction taking the DB write lock up front (no upgrade deadlocks)."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- setup -----------------------------------------------------------
    def reset(self, users: tuple[SeedUser, ...]) -> None:
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.execute("BEGIN")
            for u in users:
                conn.execute(
                    f"INSERT INTO users ({USER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
                    (
                        u.username,
                        hash_password(u.password),
                        u.account_id,
                        u.card_number,
                        u.id_number,
                        u.phone,
                    ),
                )
                conn.execute(
                    "INSERT INTO accounts (account_id, owner, balance) VALUES (?, ?, ?)",
                    (u.account_id, u.username, u.balance),
                )
            conn.execute("COMMIT")

    def sync_password_scheme(self, users: tuple[SeedUser, ...], scheme: str) -> None:
        """Re-hash seed passwords when the desired scheme differs from what is stored,
        so '--defects weak-password-hash' really leaves MD5 at rest (and back)."""
        with self.connect() as conn:
            for u in users:
                row = conn.execute("SELECT password_hash FROM users WHERE username = ?", (u.username,)).fetchone()
                if row is not None and scheme_of(row["password_hash"]) != scheme:
                    conn.execute(
                        "UPDATE users SET password_hash = ? WHERE username = ?",
                        (hash_password(u.password, scheme), u.username),
                    )

    # --- users -----------------------------------------------------------
    def find_user(self, username: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE username = ?", (username,)).fetchone()

    def find_user_injectable(self, username: str, password: str) -> sqlite3.Row | None:
        """'sqli' defect: credentials pasted into SQL, so ``alice' --`` logs in."""
        with self.connect() as conn:
            conn.create_function("verify_password", 2, lambda p, h: int(verify_password(p, h)))
            query = (
                f"SELECT {USER_COLUMNS} FROM users WHERE username = '{username}' "
                f"AND verify_password('{password}', password_hash) = 1"
            )
            return conn.execute(query).fetchone()

    def user_by_account(self, account_id: str, *, injectable: bool = False) -> sqlite3.Row | None:
        with self.connect() as conn:
            if injectable:
                # 'sqli-lookup' defect: the account number from the URL pasted into SQL.
                return conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE account_id = '{account_id}'").fetchone()
            return conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE account_id = ?", (account_id,)).fetchone()

    def record_failure(self, username: str, threshold: int, now: int) -> int:
        """Count a failed login atomically; lock when the threshold is reached."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE username = ?",
                (username,),
            )
            count = conn.execute("SELECT failed_logins FROM users WHERE username = ?", (username,)).fetchone()[0]
            if count >= threshold:
                conn.execute("UPDATE users SET locked = ? WHERE username = ?", (now, username))
            return int(count)

    def reset_failures(self, username: str) -> None:
        with self.connect() as conn:
            conn.execute(
                "UPDATE users SET failed_logins = 0, locked = 0 WHERE username = ?",
                (username,),
            )

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE username = ?", (password_hash, username))

    # --- password reset ----------------------------------------------------
    def set_reset_code(self, username: str, code_hash: str, expires: int) -> None:
        with self.connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO reset_codes (username, code_hash, expires, attempts) VALUES (?, ?, ?, 0)",
                (username, code_hash, expires),
            )

    def reset_code(self, username: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(
                "SELECT code_hash, expires, attempts FROM reset_codes WHERE username = ?", (username,)
            ).fetchone()

    def count_reset_attempt(self, username: str) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE reset_codes SET attempts = attempts + 1 WHERE username = ?", (username,))

    def drop_reset_code(self, username: str) -> None:
        with self.connect() as conn:
            conn.execute("DELETE FROM reset_codes WHERE username = ?", (username,))

    # --- profile -----------------------------------------------------------
    def profile(self, username: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(
                "SELECT u.username, u.account_id, u.nickname FROM users u WHERE u.username = ?", (username,)
            ).fetchone()

    def set_nickname(self, username: str, nickname: str) -> None:
        with self.connect() as conn:
            conn.execute("UPDATE users SET nickname = ? WHERE username = ?", (nickname, username))

    def set_balance(self, account_id: str, balance: str) -> None:
        """Only the 'mass-assignment' defect writes a balance outside a transfer."""
        with self.connect() as conn:
            conn.execute("UPDATE accounts SET balance = ? WHERE account_id = ?", (balance, account_id))

    # --- accounts & transfers ---------------------------------------------
    def account(self, account_id: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute(
                "SELECT account_id, owner, balance FROM accounts WHERE account_id = ?",
                (account_id,),
            ).fetchone()

    def transactions(self, account_id: str, *, skip_newest: bool = False) -> list[sqlite3.Row]:
        # skip_newest models 'history-missing' (an off-by-one OFFSET).
        with self.connect() as conn:
            return conn.execute(
                "SELECT id, from_account, to_account, amount, created_at FROM transfers "
                "WHERE from_account = ? OR to_account = ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?",
                (account_id, account_id, 1 if skip_newest else 0),
            ).fetchall()

    def nonces(self) -> set[str]:
        with self.connect() as conn:
            return {row[0] for row in conn.execute("SELECT nonce FROM transfers")}


def balance_of(conn: sqlite3.Connection, account_id: str) -> Decimal | None:
    row = conn.execute("SELECT balance FROM accounts WHERE account_id = ?", (account_id,)).fetchone()
    return None if row is None else Decimal(row[0])


def daily_total(conn: sqlite3.Connection, account_id: str, since_iso: str) -> Decimal:
    rows = conn.execute(
        "SELECT amount FROM transfers WHERE from_account = ? AND created_at >= ?",
        (account_id, since_iso),
    )
    return sum((Decimal(r[0]) for r in rows), Decimal(0))
