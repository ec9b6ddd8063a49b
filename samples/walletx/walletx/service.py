"""Business rules: sign-in with lockout, idle sessions, wallet views and signed payments."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from walletx import secure
from walletx.db import Database, balance_of, paid_since
from walletx.settings import Settings

log = logging.getLogger("walletx")
BEIJING = timezone(timedelta(hours=8))
MAX_AMOUNT_FEN = 99_999_999_999


class Refusal(Exception):
    """A refused request: HTTP status, business code and a Chinese message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status, self.code, self.msg = status, code, msg


BAD_LOGIN = (401, 4011, "登录名或密码错误")
LOCKED = (403, 4033, "账户已锁定，请稍后再试")
NO_SESSION = (401, 4012, "会话无效或已过期，请重新登录")
TOO_MANY = (429, 4291, "登录尝试过于频繁，请一分钟后再试")


@dataclass
class Session:
    login_name: str
    wallet_no: str
    last_used: float


class Sessions:
    """Opaque tokens; only their SHA-256 is kept, and a session dies after idle_seconds unused."""

    def __init__(self, idle_seconds: float) -> None:
        self.idle_seconds = idle_seconds
        self._by_digest: dict[str, Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def open(self, login_name: str, wallet_no: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_digest[self._digest(token)] = Session(login_name, wallet_no, time.monotonic())
        return token

    def use(self, token: str | None) -> Session:
        if not token:
            raise Refusal(*NO_SESSION)
        key, now = self._digest(token.strip()), time.monotonic()
        with self._lock:
            s = self._by_digest.get(key)
            if s is None:
                raise Refusal(*NO_SESSION)
            if now - s.last_used > self.idle_seconds:
                del self._by_digest[key]
                raise Refusal(*NO_SESSION)
            s.last_used = now
            return s

    def close(self, token: str) -> None:
        with self._lock:
            self._by_digest.pop(self._digest(token.strip()), None)


class WalletService:
    def __init__(self, settings: Settings, db: Database, master: bytes) -> None:
        self.cfg = settings
        self.db = db
        self.master = master
        self.sessions = Sessions(settings.idle_seconds)
        self._money = threading.Lock()
        self._failed: dict[str, deque[float]] = {}  # client address -> times of its failed sign-ins
        self._failed_lock = threading.Lock()

    # --- sign-in ------------------------------------------------------------------------------
    def _held_back(self, client: str) -> bool:
        """Whether this client already failed the allowed number of sign-ins within the last minute."""
        now = time.monotonic()
        with self._failed_lock:
            window = self._failed.setdefault(client, deque())
            while window and now - window[0] > 60:
                window.popleft()
            return len(window) >= self.cfg.failures_per_client_min

    def sign_in(self, login_name: str, credential: str, client: str = "") -> dict[str, Any]:
        if self._held_back(client):
            log.warning("event=sign_in_throttled client=%s", client)
            raise Refusal(*TOO_MANY)
        try:
            return self._sign_in(login_name, credential)
        except Refusal as r:
            if r.status in (401, 403):
                with self._failed_lock:
                    self._failed.setdefault(client, deque()).append(time.monotonic())
            raise

    def _sign_in(self, login_name: str, credential: str) -> dict[str, Any]:
        row = self.db.holder_by_login(login_name)
        now = int(time.time())
        if row is None:
            secure.check_credential(credential, secure.DUMMY_HASH)
            log.info("event=sign_in_refused reason=bad_credentials")
            raise Refusal(*BAD_LOGIN)
        if row["locked_until"] > now:
            log.info("event=sign_in_refused reason=locked wallet=%s", row["wallet_no"])
            raise Refusal(*LOCKED)
        if row["locked_until"]:
            self.db.clear_failures(login_name)  # the lock ran out: count afresh
        if not secure.check_credential(credential, row["credential_hash"]):
            n = self.db.count_failure(login_name, self.cfg.max_failures, now + self.cfg.lock_minutes * 60)
            log.info("event=sign_in_refused reason=bad_credentials wallet=%s failures=%d", row["wallet_no"], n)
            if n >= self.cfg.max_failures:
                log.warning("event=holder_locked wallet=%s minutes=%d", row["wallet_no"], self.cfg.lock_minutes)
            raise Refusal(*BAD_LOGIN)
        self.db.clear_failures(login_name)
        token = self.sessions.open(login_name, row["wallet_no"])
        log.info("event=signed_in wallet=%s mobile=%s", row["wallet_no"], secure.mask_mobile(row["mobile"]))
        return {"accessToken": token, "walletNo": row["wallet_no"], "idleSeconds": int(self.cfg.idle_seconds)}

    def sign_out(self, token: str) -> None:
        s = self.sessions.use(token)
        self.sessions.close(token)
        log.info("event=signed_out wallet=%s", s.wallet_no)

    # --- reading ------------------------------------------------------------------------------
    def _own(self, s: Session, wallet_no: str) -> Any:
        row = self.db.holder_by_wallet(wallet_no)
        if row is None or row["wallet_no"] != s.wallet_no:
            # Someone else's wallet and a wallet that does not exist look the same.
            log.warning("event=access_refused wallet=%s target=%s", s.wallet_no, wallet_no)
            raise Refusal(403, 4031, "无权访问该钱包")
        return row

    def wallet(self, s: Session, wallet_no: str) -> dict[str, Any]:
        row = self._own(s, wallet_no)
        return {
            "walletNo": row["wallet_no"],
            "holderName": row["holder_name"],
            "currency": "CNY",
            "balanceFen": self.db.balance(wallet_no),
            "bankCardNo": secure.mask_card(row["bank_card_no"]),
            "mobile": secure.mask_mobile(row["mobile"]),
            "idCardNo": secure.mask_id_card(row["id_card_no"]),
        }

    def ledger(self, s: Session, wallet_no: str, limit_raw: str | None) -> dict[str, Any]:
        self._own(s, wallet_no)
        try:
            limit = int(limit_raw) if limit_raw is not None else 50
        except ValueError:
            raise Refusal(400, 4001, "参数错误") from None
        if not 1 <= limit <= 200:
            raise Refusal(400, 4001, "参数错误")
        entries = [
            {
                "paymentNo": r["payment_no"],
                "direction": "OUT" if r["payer"] == wallet_no else "IN",
                "counterpartyWalletNo": r["payee"] if r["payer"] == wallet_no else r["payer"],
                "amountFen": r["amount_fen"],
                "createdAt": r["created_at"],
            }
            for r in self.db.ledger(wallet_no, limit)
        ]
        return {"walletNo": wallet_no, "entries": entries, "count": len(entries)}

    # --- payments -----------------------------------------------------------------------------
    def pay(self, s: Session, body: dict[str, Any], sig: str | None) -> dict[str, Any]:
        payer, payee = body.get("walletNo"), body.get("payeeWalletNo")
        req_id, ts, amount = body.get("reqId"), body.get("ts"), body.get("amountFen")
        if not (
            isinstance(payer, str)
            and isinstance(payee, str)
            and isinstance(req_id, str)
            and 0 < len(req_id) <= 64
            and isinstance(ts, int)
            and not isinstance(ts, bool)
            and "amountFen" in body
        ):
            raise Refusal(400, 4001, "参数错误")
        if payer != s.wallet_no:
            raise Refusal(403, 4032, "无权从该钱包付款")
        holder = self.db.holder_by_wallet(payer)
        if holder is None:
            raise Refusal(403, 4032, "无权从该钱包付款")
        if not secure.signature_ok(secure.unseal(self.master, holder["sign_key_sealed"]), body, sig):
            log.warning("event=payment_refused reason=bad_signature wallet=%s", payer)
            raise Refusal(401, 4013, "签名校验失败")
        now = int(time.time())
        if abs(now - ts) > self.cfg.ts_window_s:
            raise Refusal(400, 4003, "请求已过期")
        if not self.db.remember_request(req_id, payer, now):
            log.warning("event=payment_refused reason=duplicate_request wallet=%s", payer)
            raise Refusal(409, 4091, "重复请求")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT_FEN:
            raise Refusal(400, 4002, "金额无效")
        if amount > self.cfg.single_limit_fen:
            raise Refusal(422, 4221, "超过单笔限额")
        with self._money, self.db.write() as conn:
            day_start = datetime.now(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
            paid_today = paid_since(conn, payer, day_start.isoformat(timespec="microseconds"))
            if paid_today + amount > self.cfg.daily_limit_fen:
                raise Refusal(422, 4222, "超过日累计限额")
            if payee == payer:
                raise Refusal(422, 4224, "不能向本钱包付款")
            if balance_of(conn, payee) is None:
                raise Refusal(404, 4041, "收款钱包不存在")
            balance = balance_of(conn, payer) or 0
            if balance < amount:
                raise Refusal(422, 4223, "余额不足")
            conn.execute("UPDATE wallets SET balance_fen = balance_fen - ? WHERE wallet_no = ?", (amount, payer))
            conn.execute("UPDATE wallets SET balance_fen = balance_fen + ? WHERE wallet_no = ?", (amount, payee))
            payment_no = "P" + datetime.now(BEIJING).strftime("%Y%m%d") + uuid.uuid4().hex[:16].upper()
            conn.execute(
                "INSERT INTO payments (payment_no, payer, payee, amount_fen, req_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (payment_no, payer, payee, amount, req_id, datetime.now(BEIJING).isoformat(timespec="microseconds")),
            )
            left = balance - amount
        log.info(
            "event=payment_done no=%s payer=%s payee=%s amount=%s balance=%s",
            payment_no,
            payer,
            payee,
            secure.yuan(amount),
            secure.yuan(left),
        )
        return {"paymentNo": payment_no, "status": "SUCCEEDED", "amountFen": amount, "balanceFen": left}
