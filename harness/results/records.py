"""Plain records the results room hands out and takes in: no ORM rows leave the room."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from harness import clock
from harness.plan import Plan
from harness.results.outcomes import Outcome, RunStatus
from harness.results.status import ReportStatus


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


# --- the report workflow's records ------------------------------------------------------------


@dataclass(frozen=True)
class NewReport:
    """A report revision to store; the number comes from allocate_report_number (revision 1) or is
    the report's own (a later revision)."""

    number: str
    revision: int
    run_id: str
    kind: str
    language: str
    languages: tuple[str, ...]
    tests_completed: date
    due: date | None
    content: dict[str, Any]
    content_sha256: str
    out_dir: str
    status: ReportStatus = ReportStatus.DRAFT
    created: datetime = field(default_factory=clock.stamp)


@dataclass(frozen=True)
class ReportRecord:
    """A stored report revision. `content` is the report's JSON truth as stored."""

    number: str
    revision: int
    run_id: str
    status: ReportStatus
    content: dict[str, Any]
    id: int = 0
    kind: str = "full"
    language: str = "zh"
    languages: tuple[str, ...] = ()  # the renderings its folder holds, its own language first
    created: datetime | None = None
    tests_completed: date | None = None
    due: date | None = None
    content_sha256: str = ""
    out_dir: str = ""

    @property
    def label(self) -> str:
        return f"{self.number} revision {self.revision}"


@dataclass(frozen=True)
class ReportEventRecord:
    """One step of a revision's trail: prepared, reviewed, approved (in that order), submitted."""

    action: str
    name: str
    at: datetime


@dataclass(frozen=True)
class ManifestRecord:
    """Every file of a report folder with its SHA-256, as written (what `harness verify` compares)."""

    files: dict[str, str]
    digest: str
    evidence_digest: str
    written: datetime = field(default_factory=clock.stamp)


@dataclass(frozen=True)
class ItemRecordEntry:
    """An engineer's verdict on a document-review or semi-automated item of a run; the latest one of
    an item is the one the report uses."""

    run_id: str
    item_id: str
    verdict: str  # 符合 | 不符合 | 不适用
    note: str
    engineer: str
    recorded: datetime
    evidence: tuple[dict[str, Any], ...] = ()  # {title, path, sha256, size}, path relative to the run folder
    note_en: str | None = None
    reference: str | None = None  # the reviewed document and section
    no_evidence_reason: str | None = None
    id: int = 0


@dataclass(frozen=True)
class WaiverRecord:
    """An approved waiver (the clause is not assessed) or deviation (assessed otherwise), scoped to
    one run or one sample."""

    clause_id: str
    kind: str  # waiver | deviation
    justification: str
    approved_by: str
    approved_on: date
    expires: date
    run_id: str | None = None
    sample_id: str | None = None
    justification_en: str | None = None
    created: datetime = field(default_factory=clock.stamp)
    id: int = 0
