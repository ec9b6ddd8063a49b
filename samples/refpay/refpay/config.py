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

    def has(self, defect: str) -> bool:
        return defect in self.defects

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
        return self.data_dir / "refpay.running"
