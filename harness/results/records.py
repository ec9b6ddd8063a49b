"""Plain records the results room hands out and takes in: no ORM rows leave the room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from harness import clock
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
    # Naive wall-clock time in the lab's zone (harness.clock), as every time in the record.
    started: datetime = field(default_factory=clock.stamp)
    finished: datetime = field(default_factory=clock.stamp)
    evidence: tuple[EvidenceRef, ...] = ()
    # Opinions and hints beside the result ({"zh", "en"} each), and a lab error's kind
    # ({"kinds": exception class names, "zh": its Chinese sentence}): the report's own language.
    hints: tuple[dict[str, str | None], ...] = ()
    error: dict[str, Any] | None = None


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
