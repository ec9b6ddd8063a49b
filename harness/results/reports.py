"""Report revisions in the lab record: stored, read, and moved through their statuses with their trail
(report events) and their folder's manifest. The report room decides what a report says and whether a
step is allowed by the lab's rules (who signs, when); this room keeps the record consistent: a status
changes only as harness.results.status allows, and only from the status the caller saw."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from harness.errors import InputError
from harness.results.db import session
from harness.results.models import Report, ReportEvent, ReportManifest, Run
from harness.results.numbers import release_report_number
from harness.results.records import ManifestRecord, NewReport, ReportEventRecord, ReportRecord
from harness.results.status import ReportStatus, StatusChangeRefused, transition


class ReportRevisionTaken(InputError):
    """Another harness stored the same report revision first."""


def _record(r: Report) -> ReportRecord:
    return ReportRecord(
        number=r.number,
        revision=r.revision,
        run_id=r.run_id,
        status=ReportStatus(r.status),
        content=dict(r.content or {}),
        id=r.id,
        kind=r.kind,
        language=r.language,
        languages=tuple(r.languages or [r.language]),
        created=r.created,
        tests_completed=r.tests_completed,
        due=r.due,
        content_sha256=r.content_sha256,
        out_dir=r.out_dir,
    )


def insert_report(new: NewReport) -> ReportRecord:
    """Store a new report revision; ReportRevisionTaken when that number and revision exist already."""
    row = Report(
        number=new.number,
        revision=new.revision,
        run_id=new.run_id,
        kind=new.kind,
        language=new.language,
        languages=list(new.languages),
        created=new.created,
        tests_completed=new.tests_completed,
        due=new.due,
        status=new.status.value,
        content=new.content,
        content_sha256=new.content_sha256,
        out_dir=new.out_dir,
    )
    try:
        with session() as s:
            s.add(row)
            s.flush()
            return _record(row)
    except IntegrityError:
        raise ReportRevisionTaken(
            f"report {new.number} revision {new.revision} was stored by another harness meanwhile"
        ) from None


def delete_report(report_id: int) -> None:
    """Remove a revision whose folder could not be written: nothing of it is left, and a first
    revision's number goes back to its sequence when no later number was handed out meanwhile."""
    with session() as s:
        row = s.get(Report, report_id)
        if row is None:
            return
        number, first = row.number, row.revision == 1
        s.execute(delete(ReportManifest).where(ReportManifest.report_id == report_id))
        s.execute(delete(ReportEvent).where(ReportEvent.report_id == report_id))
        s.delete(row)
    if first:
        release_report_number(number)


def revisions(number: str) -> list[ReportRecord]:
    """Every revision of a report, oldest first ([] when no report has this number)."""
    with session() as s:
        rows = s.scalars(select(Report).where(Report.number == number).order_by(Report.revision))
        return [_record(r) for r in rows]


def revision_of(number: str, revision: int) -> ReportRecord | None:
    with session() as s:
        row = s.scalar(select(Report).where(Report.number == number, Report.revision == revision))
        return _record(row) if row else None


def reports_of_run(run_id: str) -> list[ReportRecord]:
    """Every revision of every report built from the run, by number and revision."""
    with session() as s:
        rows = s.scalars(select(Report).where(Report.run_id == run_id).order_by(Report.number, Report.revision))
        return [_record(r) for r in rows]


def all_reports() -> list[ReportRecord]:
    with session() as s:
        return [_record(r) for r in s.scalars(select(Report).order_by(Report.number, Report.revision))]


def latest_revision(number: str) -> ReportRecord | None:
    """A report's latest revision, None when no report has this number."""
    revs = revisions(number)
    return revs[-1] if revs else None


def latest_run_of(sample_id: str) -> str | None:
    with session() as s:
        return s.scalars(select(Run.id).where(Run.sample_id == sample_id).order_by(Run.started.desc())).first()


def events_of(report_id: int) -> dict[str, ReportEventRecord]:
    """A revision's trail by action (prepared, reviewed, approved, submitted)."""
    with session() as s:
        rows = s.scalars(select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.at))
        return {e.action: ReportEventRecord(e.action, e.name, e.at) for e in rows}


def manifest_of(report_id: int) -> ManifestRecord | None:
    with session() as s:
        row = s.scalar(select(ReportManifest).where(ReportManifest.report_id == report_id))
        if row is None:
            return None
        return ManifestRecord(dict(row.files), row.digest, row.evidence_digest, row.written)


def _store_manifest(s: Session, report_id: int, manifest: ManifestRecord) -> None:
    row = s.scalar(select(ReportManifest).where(ReportManifest.report_id == report_id))
    if row is None:
        row = ReportManifest(report_id=report_id)
        s.add(row)
    row.files = manifest.files
    row.digest = manifest.digest
    row.evidence_digest = manifest.evidence_digest
    row.written = manifest.written


def _locked(s: Session, report_id: int) -> Report:
    row = s.scalars(select(Report).where(Report.id == report_id).with_for_update()).first()
    if row is None:
        raise InputError(f"report record {report_id} is not in the lab database")
    return row


def store_written(
    report_id: int,
    content: dict[str, object],
    content_sha256: str,
    manifest: ManifestRecord,
    *,
    expected: ReportStatus,
    language: str | None = None,
    languages: tuple[str, ...] | None = None,
) -> ReportRecord:
    """A revision's folder was (re)written: store its content and manifest (and the renderings it
    holds), provided the revision is still `expected` (nobody signed it meanwhile)."""
    with session() as s:
        row = _locked(s, report_id)
        if row.status != expected:
            raise StatusChangeRefused(
                f"report {row.number} revision {row.revision} became {row.status} meanwhile (it was {expected})"
            )
        row.content = content
        row.content_sha256 = content_sha256
        if language is not None:
            row.language = language
        if languages is not None:
            row.languages = list(languages)
        _store_manifest(s, report_id, manifest)
        return _record(row)


def change_status(
    report_id: int,
    new: ReportStatus,
    *,
    expected: ReportStatus,
    event: ReportEventRecord | None = None,
    written: tuple[dict[str, object], str, ManifestRecord] | None = None,
    clear_events: bool = False,
    supersede_older: bool = False,
) -> ReportRecord:
    """Move a revision from `expected` to `new` in one unit of work: its trail (`event`, or every event
    withdrawn), its rewritten folder's content, digest and manifest (`written`), and, on approval, the
    earlier approved or submitted revisions of the same number superseded."""
    try:
        with session() as s:
            row = _locked(s, report_id)
            if row.status != expected:
                raise StatusChangeRefused(
                    f"report {row.number} revision {row.revision} became {row.status} meanwhile (it was {expected})"
                )
            row.status = transition(row.status, new).value
            if clear_events:
                s.execute(delete(ReportEvent).where(ReportEvent.report_id == report_id))
            if event is not None:
                s.add(ReportEvent(report_id=report_id, action=event.action, name=event.name, at=event.at))
            if written is not None:
                row.content, row.content_sha256, manifest = written
                _store_manifest(s, report_id, manifest)
            if supersede_older:
                older = s.scalars(
                    select(Report).where(Report.number == row.number, Report.revision < row.revision).with_for_update()
                )
                for o in older:
                    if ReportStatus(o.status) in (ReportStatus.APPROVED, ReportStatus.SUBMITTED):
                        o.status = transition(o.status, ReportStatus.SUPERSEDED).value
            s.flush()
            return _record(row)
    except IntegrityError:
        action = event.action if event else new.value
        raise StatusChangeRefused(f"report record {report_id} already has its {action} step") from None
