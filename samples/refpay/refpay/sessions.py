"""Server-side session table: a JWT is only valid while its jti is active."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

from refpay.errors import ApiError


@dataclass
class Session:
    jti: str
    username: str
    account_id: str
    sign_key: str
    last_seen: float
    # The web client's anti-CSRF token (cookie refpay_csrf, sent back as X-CSRF-Token).
    csrf_token: str = ""


class SessionStore:
    def __init__(self, idle_timeout: float, *, enforce_idle: bool = True) -> None:
        self._idle_timeout = idle_timeout
        self._enforce_idle = enforce_idle
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, username: str, account_id: str) -> Session:
        session = Session(
            jti=secrets.token_hex(16),
            username=username,
            account_id=account_id,
            sign_key=secrets.token_hex(32),
            last_seen=time.monotonic(),
            csrf_token=secrets.token_urlsafe(24),
        )
        with self._lock:
            self._sessions[session.jti] = session
        return session

    def touch(self, jti: str) -> Session:
        """Return the live session and refresh its idle timer."""
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(jti)
            if session is None:
                raise ApiError(401, "未授权")
            if self._enforce_idle and now - session.last_seen > self._idle_timeout:
                del self._sessions[jti]
                raise ApiError(401, "会话已过期")
            session.last_seen = now
            return session

    def revoke(self, jti: str) -> None:
        with self._lock:
            self._sessions.pop(jti, None)
