"""Signed transfers: validation in the documented order, then an atomic debit/credit."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from refpay import signing
from refpay.auth import Principal
from refpay.config import Config
from refpay.errors import ApiError
from refpay.store import Store, balance_of, daily_total
from refpay.validators import PAYEE_MAX_LENGTH, PAYEE_NESTED, fmt_amount, parse_amount

PER_TX_LIMIT = Decimal("50000.00")
DAILY_LIMIT = Decimal("200000.00")
TIMESTAMP_WINDOW_MS = 300_000
RACE_DELAY_S = 0.05
CST = timezone(timedelta(hours=8))  # business day boundary: China Standard Time
log = logging.getLogger("refpay")


class TransferService:
    def __init__(self, cfg: Config, store: Store) -> None:
        self.cfg = cfg
        self.store = store
        self._nonces = store.nonces()  # survive restarts for already-used nonces
        self._nonce_lock = threading.Lock()
        self._money_lock = threading.Lock()

    def transfer(self, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        from_acct, to_acct = body.get("from_account"), body.get("to_account")
        nonce, ts = body.get("nonce"), body.get("timestamp")
        if not (
            isinstance(from_acct, str)
            and isinstance(to_acct, str)
            and isinstance(nonce, str)
            and 0 < len(nonce) <= 128
            and isinstance(ts, int)
            and not isinstance(ts, bool)
            and "amount" in body
        ):
            raise ApiError(400, "请求参数错误")
        if self.cfg.has("redos") and not (len(to_acct) <= PAYEE_MAX_LENGTH and PAYEE_NESTED.fullmatch(to_acct)):
            raise ApiError(400, "请求参数错误")
        if from_acct != who.account_id:
            raise ApiError(403, "无权操作")
        # 'tamper': a signature over nonce+timestamp alone is also enough (full
        # signatures still pass so ordinary clients keep working).
        field_sets = [signing.SIGNED_FIELDS]
        if self.cfg.has("tamper"):
            field_sets.append(signing.TAMPER_FIELDS)
        signature = body.get("signature")
        if not any(signing.verify(who.session.sign_key, body, signature, f) for f in field_sets):
            raise ApiError(401, "签名错误")
        if abs(time.time() * 1000 - ts) > TIMESTAMP_WINDOW_MS:
            raise ApiError(400, "请求已过期")
        if not self.cfg.has("replay"):
            self._consume_nonce(nonce)
        amount = parse_amount(
            body["amount"],
            allow_non_positive=self.cfg.has("negative-amount"),
            crash_on_precision=self.cfg.has("server-error"),
        )
        if amount is None:
            raise ApiError(400, "金额无效")
        limits = not self.cfg.has("no-limit")
        if limits and amount > PER_TX_LIMIT:
            raise ApiError(400, "超过单笔限额")

        if self.cfg.has("race"):
            # Defect: check on a snapshot, pause, then debit without re-checking.
            with self.store.connect() as conn:
                self._check(conn, from_acct, to_acct, amount, limits)
            time.sleep(RACE_DELAY_S)
            with self.store.transaction() as conn:
                result = self._apply(conn, from_acct, to_acct, amount, nonce)
        else:
            # Check and debit in one BEGIN IMMEDIATE transaction, serialised in-process
            # too, so parallel requests can never overdraw.
            with self._money_lock, self.store.transaction() as conn:
                self._check(conn, from_acct, to_acct, amount, limits)
                result = self._apply(conn, from_acct, to_acct, amount, nonce)
        log.info(
            "event=transfer_completed id=%s from=%s to=%s amount=%s balance=%s",
            result["transfer_id"],
            from_acct,
            to_acct,
            fmt_amount(amount),
            result["balance"],
        )
        return result

    def _consume_nonce(self, nonce: str) -> None:
        with self._nonce_lock:
            if nonce in self._nonces:
                log.warning("event=transfer_replay_rejected nonce=%s", nonce)
                raise ApiError(409, "重复请求")
            self._nonces.add(nonce)

    def _check(self, conn: Any, from_acct: str, to_acct: str, amount: Decimal, limits: bool) -> None:
        if limits:
            day_start = datetime.now(CST).replace(hour=0, minute=0, second=0, microsecond=0)
            if daily_total(conn, from_acct, day_start.isoformat(timespec="microseconds")) + amount > DAILY_LIMIT:
                raise ApiError(400, "超过日累计限额")
        if balance_of(conn, to_acct) is None:
            raise ApiError(404, "收款账户不存在")
        if to_acct == from_acct:
            raise ApiError(400, "不能向本账户转账")
        balance = balance_of(conn, from_acct)
        if balance is None or balance < amount:
            raise ApiError(400, "余额不足")

    def _apply(self, conn: Any, from_acct: str, to_acct: str, amount: Decimal, nonce: str) -> dict[str, Any]:
        new_from = (balance_of(conn, from_acct) or Decimal(0)) - amount
        new_to = (balance_of(conn, to_acct) or Decimal(0)) + amount
        conn.execute(
            "UPDATE accounts SET balance = ? WHERE account_id = ?",
            (fmt_amount(new_from), from_acct),
        )
        conn.execute(
            "UPDATE accounts SET balance = ? WHERE account_id = ?",
            (fmt_amount(new_to), to_acct),
        )
        transfer_id = "T" + uuid.uuid4().hex
        conn.execute(
            "INSERT INTO transfers (id, from_account, to_account, amount, nonce, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                transfer_id,
                from_acct,
                to_acct,
                fmt_amount(amount),
                nonce,
                datetime.now(CST).isoformat(timespec="microseconds"),
            ),
        )
        return {
            "transfer_id": transfer_id,
            "status": "completed",
            "balance": fmt_amount(new_from),
        }
