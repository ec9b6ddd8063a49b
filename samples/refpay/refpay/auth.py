"""Login (with lockout), JWT issuance and bearer-token authentication."""

from __future__ import annotations

import logging
import math
import secrets
import sqlite3
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from refpay import tokens
from refpay.config import Config
from refpay.errors import ApiError
from refpay.passwords import DUMMY_HASH, verify_password
from refpay.sessions import Session, SessionStore
from refpay.store import Store
from refpay.validators import mask_card

LOCK_SECONDS = 15 * 60
log = logging.getLogger("refpay")


@dataclass(frozen=True)
class Principal:
    username: str
    account_id: str
    session: Session


class AuthService:
    def __init__(self, cfg: Config, store: Store) -> None:
        self.cfg = cfg
        self.store = store
        # 'weak-jwt' uses a guessable constant; otherwise a fresh secret per process.
        self.secret = b"secret" if cfg.has("weak-jwt") else secrets.token_bytes(32)
        self.sessions = SessionStore(cfg.session_idle_timeout, enforce_idle=not cfg.has("no-session-expiry"))
        self._failures: dict[str, deque[float]] = {}
        self._failures_lock = threading.Lock()

    # --- login -----------------------------------------------------------
    def _throttle(self, client: str) -> None:
        """More than the allowed failed logins from one client in a minute: refuse (429) until the
        oldest leaves the window, whatever the account (apart from the per-account lockout)."""
        if self.cfg.has("no-rate-limit"):
            return
        now = time.monotonic()
        with self._failures_lock:
            window = self._failures.setdefault(client, deque())
            while window and now - window[0] > 60:
                window.popleft()
            if len(window) >= self.cfg.login_rate_limit:
                wait = max(1, math.ceil(60 - (now - window[0])))
                log.warning("event=login_throttled client=%s failures=%d", client, len(window))
                raise ApiError(429, "登录尝试过于频繁，请稍后再试", {"Retry-After": str(wait)})

    def _failed(self, client: str) -> None:
        with self._failures_lock:
            self._failures.setdefault(client, deque()).append(time.monotonic())

    def login(self, username: str, password: str, client: str = "") -> dict[str, Any]:
        self._throttle(client)
        try:
            return self._login(username, password)
        except ApiError as err:
            if err.status in (401, 404, 423):
                self._failed(client)
            raise

    def _login(self, username: str, password: str) -> dict[str, Any]:
        row = None
        if self.cfg.has("sqli"):
            row = self.store.find_user_injectable(username, password)
        if row is None:
            row = self._check_credentials(username, password)
        elif self._is_locked(row):
            raise ApiError(423, "账户已锁定")
        self.store.reset_failures(row["username"])
        session = self.sessions.create(row["username"], row["account_id"])
        claims = {
            "sub": row["username"],
            "account_id": row["account_id"],
            "iat": int(time.time()),
            "jti": session.jti,
        }
        card = row["card_number"] if self.cfg.has("log-leak") else mask_card(row["card_number"])
        extra = f" password={password}" if self.cfg.has("log-leak") else ""
        log.info(
            "event=login_success user=%s account=%s card=%s%s",
            row["username"],
            row["account_id"],
            card,
            extra,
        )
        return {
            "token": tokens.encode(claims, self.secret),
            "sign_key": session.sign_key,
            "account_id": row["account_id"],
            "expires_in": int(self.cfg.session_idle_timeout),
        }

    def _check_credentials(self, username: str, password: str) -> sqlite3.Row:
        row = self.store.find_user(username)
        extra = f" password={password}" if self.cfg.has("log-leak") else ""
        if row is None:
            if not self.cfg.has("timing-enumeration"):
                verify_password(password, DUMMY_HASH)  # same cost as a real check: no timing oracle
            log.info("event=login_failed reason=unknown_user user=%r%s", username, extra)
            if self.cfg.has("user-enumeration"):
                raise ApiError(404, "用户不存在")
            raise ApiError(401, "用户名或密码错误")
        if self._is_locked(row):
            log.info("event=login_rejected reason=locked user=%s", username)
            raise ApiError(423, "账户已锁定")
        if row["locked"]:
            self.store.reset_failures(username)  # lock expired: start counting afresh
        if not verify_password(password, row["password_hash"]):
            log.info("event=login_failed reason=bad_password user=%s%s", username, extra)
            if not self.cfg.has("no-lockout"):
                count = self.store.record_failure(username, self.cfg.lockout_threshold, int(time.time()))
                if count >= self.cfg.lockout_threshold:
                    log.warning("event=account_locked user=%s failures=%d", username, count)
            raise ApiError(401, "用户名或密码错误")
        return row

    def _is_locked(self, row: sqlite3.Row) -> bool:
        if self.cfg.has("no-lockout") or not row["locked"]:
            return False
        return time.time() - row["locked"] < LOCK_SECONDS

    # --- bearer auth -------------------------------------------------------
    def authenticate(self, authorization: str | None) -> Principal:
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "未授权")
        try:
            claims = tokens.decode(
                authorization[7:].strip(),
                self.secret,
                accept_none=self.cfg.has("weak-jwt"),
            )
        except tokens.TokenError as exc:
            raise ApiError(401, "未授权") from exc
        jti, sub, account_id = (
            claims.get("jti"),
            claims.get("sub"),
            claims.get("account_id"),
        )
        if not all(isinstance(v, str) for v in (jti, sub, account_id)):
            raise ApiError(401, "未授权")
        session = self.sessions.touch(jti)
        # Identity comes from the (signed) claims; with 'weak-jwt' they can be forged.
        return Principal(username=sub, account_id=account_id, session=session)

    def logout(self, principal: Principal) -> None:
        if not self.cfg.has("logout-no-revoke"):
            self.sessions.revoke(principal.session.jti)
        log.info("event=logout user=%s", principal.username)
