"""Plain records the results room hands out and takes in: no ORM rows leave the room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from harness.plan import Plan
from harness.results.outcomes import Outcome, RunStatus


@dataclass(frozen=True)
class EvidenceRef:
    """One evidence file of a verdict, as written during the check (path relative to the run folder)."""

    kind: str
    title: str
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class VerdictInput:
    """What the plugin hands over when a check ends: plain values only."""

    check_id: str
    clause_ids: tuple[str, ...]
    model: str
    outcome: Outcome
    detail: str = ""
    summary: str = ""
    summary_en: str | None = ""
    started: datetime = field(default_factory=datetime.now)
    finished: datetime = field(default_factory=datetime.now)
    evidence: tuple[EvidenceRef, ...] = ()


@dataclass(frozen=True)
class VerdictRecord(VerdictInput):
    id: int = 0
    run_id: str = ""
    chain_sha256: str | None = None


@dataclass(frozen=True)
class NewSample:
    """A registration's fields; the room gives it its ID."""

    name: str
    version: str
    applicant: str
    producer: str
    spec_path: str
    spec_sha256: str
    spec_snapshot: dict[str, Any]
    media: list[dict[str, Any]]
    received: date
    retain_until: date
    observed: dict[str, Any]


@dataclass(frozen=True)
class SampleRecord(NewSample):
    id: str = ""
    status: str = "registered"


@dataclass(frozen=True)
class RunRecord:
    id: str
    sample_id: str
    kind: str
    status: RunStatus
    started: datetime
    finished: datetime | None
    heartbeat: datetime | None
    end_reason: str | None
    environment: dict[str, Any]
    deployments: list[dict[str, Any]]
    retest: dict[str, Any] | None
    plan: Plan | None


@dataclass(frozen=True)
class RunTally:
    """How a run's checks ended: counts per outcome and the clauses that failed or errored."""

    counts: dict[str, int]
    failing: list[str]
    erroring: list[str]
