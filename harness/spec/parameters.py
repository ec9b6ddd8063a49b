"""What the sample declares that the checks judge against (limits, recovery, service level,
session and password rules) and which clauses apply to it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from harness.spec.fields import Strict


class Limits(Strict):
    per_transaction: Decimal = Field(gt=0)
    daily: Decimal = Field(gt=0)
    currency: str = "CNY"
    decimals: int = Field(default=2, ge=0, le=8)


class DisasterRecovery(Strict):
    level: int = Field(ge=1, le=6)  # GB/T 20988 capability level
    rto_s: float = Field(gt=0)
    rpo_s: float = Field(ge=0)


class ServiceLevel(Strict):
    """The service level the sample declares beyond its P95 (``latency_p95_ms``). Every figure is
    optional: ``None`` means "not declared", and the load check then judges by the lab's stated
    default (and says so) or only reports what it measured."""

    concurrency: int | None = Field(default=None, ge=1, le=64)  # concurrent users the figures hold at
    p99_ms: float | None = Field(default=None, gt=0)
    throughput_rps: float | None = Field(default=None, gt=0)  # operations per second, at least
    error_rate: float | None = Field(default=None, ge=0, le=1)  # share of operations that may fail
    # With several instances: the longest interruption clients may see when one of them fails.
    failover_s: float | None = Field(default=None, gt=0)


class Parameters(Strict):
    """What the sample declares; suites compare what they observe against these. "Not declared" is a
    value: a check then judges against the lab's stated default (harness/policy.py) or the
    standard's requirement and says which, or hands the item to an engineer with what it observed."""

    session_idle_timeout_s: float | None = Field(default=None, gt=0, le=86400)
    lockout_threshold: int | None = Field(default=None, ge=1)
    password_min_length: int | None = Field(default=None, ge=1)
    limits: Limits | None = None
    dr: DisasterRecovery | None = None
    latency_p95_ms: float | None = Field(default=None, gt=0)
    service_level: ServiceLevel = ServiceLevel()
    tls_min_version: Literal["1.2", "1.3"] = "1.2"
    national_crypto: bool = False  # SM2/SM3/SM4 declared
    masking: dict[str, tuple[int, int]] = {"card_number": (6, 4), "id_number": (6, 4), "phone": (3, 4)}
    # Login attempts the product lets one client make per minute before it slows or refuses them.
    login_rate_limit_per_min: int | None = Field(default=None, ge=1)


class Applicability(Strict):
    applicable: bool = True
    reason: str | None = None

    @model_validator(mode="after")
    def _reason_when_not_applicable(self) -> Applicability:
        if not self.applicable and not (self.reason and self.reason.strip()):
            raise ValueError("a clause marked not applicable needs a reason")
        return self
