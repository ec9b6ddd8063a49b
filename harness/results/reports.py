"""What other rooms read of a report without going through the report workflow: a retest's baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from harness.results.db import session
from harness.results.models import Report, Run
from harness.results.status import ReportStatus


@dataclass(frozen=True)
class ReportRecord:
    number: str
    revision: int
    run_id: str
    status: ReportStatus
    content: dict[str, Any]


def latest_revision(number: str) -> ReportRecord | None:
    """A report's latest revision, None when no report has this number."""
    with session() as s:
        r = s.scalars(select(Report).where(Report.number == number).order_by(Report.revision.desc())).first()
        if r is None:
            return None
        return ReportRecord(r.number, r.revision, r.run_id, ReportStatus(r.status), dict(r.content or {}))


def latest_run_of(sample_id: str) -> str | None:
    with session() as s:
        return s.scalars(select(Run.id).where(Run.sample_id == sample_id).order_by(Run.started.desc())).first()
