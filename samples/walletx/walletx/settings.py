"""Runtime settings and the layout of the home directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    bind: str = "127.0.0.1"
    port: int = 9443
    max_failures: int = 3  # consecutive failed logins before the holder is locked
    lock_minutes: int = 30
    failures_per_client_min: int = 30  # failed sign-ins from one client per minute before it must wait
    idle_seconds: float = 6.0  # a session unused this long is gone
    single_limit_fen: int = 2_000_000  # 20000.00 yuan per payment
    daily_limit_fen: int = 5_000_000  # 50000.00 yuan per payer per day (Beijing time)
    ts_window_s: int = 300  # accepted clock skew of a payment's ts

    @property
    def db_path(self) -> Path:
        return self.home / "walletx.sqlite3"

    @property
    def cert_path(self) -> Path:
        return self.home / "tls" / "server.crt"

    @property
    def key_path(self) -> Path:
        return self.home / "tls" / "server.key"

    @property
    def master_key_path(self) -> Path:
        return self.home / "master.key"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "walletx.log"
