"""Plain records the results room hands out and takes in: no ORM rows leave the room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from harness.plan import Plan
from harness.results.outcomes import JobStatus, Outcome, RunStatus


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


@dataclass(frozen=True)
class NewJob:
    """One sample x model (or backend) x suites run, as the campaign plans it."""

    spec_path: str
    sample: str  # name and version, for people
    backend: str
    target: str  # the terminal model, or the backend
    queue: str
    only: list[str] | None = None
    suites: list[str] | None = None
    max_attempts: int = 2


@dataclass(frozen=True)
class JobRecord(NewJob):
    id: str = ""
    campaign_id: str = ""
    status: JobStatus = JobStatus.QUEUED
    attempt: int = 1
    worker: str | None = None
    unit_id: str | None = None
    run_id: str | None = None
    heartbeat: datetime | None = None
    queued: datetime | None = None
    started: datetime | None = None
    finished: datetime | None = None
    exit_code: int | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class WorkerRecord:
    name: str
    host: str
    queues: list[str]
    units: list[dict[str, str]]  # [{id, model}]
    capacity: int
    started: datetime
    heartbeat: datetime
    stopped: datetime | None

    def alive(self, now: datetime, lease: timedelta) -> bool:
        return self.stopped is None and self.heartbeat >= now - lease


@dataclass(frozen=True)
class ReservationRecord:
    unit_id: str
    model: str
    job_id: str
    worker: str
    acquired: datetime
    lease_until: datetime
