"""Runtime configuration shared by the server and its services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Config:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8443
    session_idle_timeout: float = 300.0
    lockout_threshold: int = 5
    login_rate_limit: int = 60  # failed logins per client per minute before it is throttled
    defects: frozenset[str] = field(default_factory=frozenset)
    # One of several instances on one data directory (behind ``refpay gateway``), by name: then
    # sessions, the token key, used nonces and the login-failure window live in the database.
    instance: str = ""

    def has(self, defect: str) -> bool:
        return defect in self.defects

    @property
    def shared_state(self) -> bool:
        return bool(self.instance)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "refpay.db"

    @property
    def cert_path(self) -> Path:
        return self.data_dir / "cert.pem"

    @property
    def key_path(self) -> Path:
        return self.data_dir / "key.pem"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "refpay.log"

    @property
    def running_marker(self) -> Path:
        # One per instance: instances sharing a data directory stop and crash one by one.
        return self.data_dir / (f"refpay.{self.instance}.running" if self.instance else "refpay.running")
