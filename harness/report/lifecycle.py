"""A report revision's signing lifecycle: prepared, reviewed and approved in that order by the people
the lab configuration names for each role, never one person twice, never dated before the tests
ended or before the previous signature; reopened while not yet approved; corrected by a new revision
once approved; submitted to the certification body, not dated before its approval.

The lab's rules are checked here; the lab record (harness.results) moves the status only as
harness.results.status allows, and only from the status that was read here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from harness import clock, results
from harness.config import lab_config, lab_identity
from harness.report.build import build_content
from harness.report.conclusion import unfinished
from harness.report.folder import lab_signature, write_revision
from harness.report.labels import check_language
from harness.report.terms import ReportError
from harness.report.workflow import WrittenReport, rebuild, refuse_frozen, report_revision, revisions
from harness.results import SIGNING_ORDER, NewReport, ReportEventRecord, ReportRecord, ReportStatus
from harness.results.content import ReportContent, Signature, Signatures, Supersedes

ROLES = tuple(s.value for s in SIGNING_ORDER)  # prepared, reviewed, approved
ROLE_ZH = {"prepared": "编制", "reviewed": "审核", "approved": "批准"}
FUTURE_SLACK = timedelta(minutes=5)  # clocks differ a little; a signature dated later is refused


def _signer(role: str, name: str) -> str | None:
    """The signer's English name from the lab configuration; ReportError when they may not sign so."""
    if role not in ROLES:
        raise ReportError(f"role {role!r}: one of {', '.join(ROLES)}")
    if not name:
        raise ReportError("a signature needs the signer's name")
    ident = lab_identity()  # LabConfigError: no lab configuration, no signature
    person = ident.person(name)
    if person is None or role not in person.roles:
        may = ident.who_may(role)
        raise ReportError(
            f"{name} may not sign as {role} ({ROLE_ZH[role]}): the lab configuration ({ident.path}) names "
            + (", ".join(may) if may else "nobody")
            + f" for {role}"
        )
    return person.name_en


def _check_order(report: ReportRecord, role: str, name: str, at: datetime) -> None:
    events = results.events_of(report.id)
    done = [r for r in ROLES if r in events]
    if role in events:
        raise ReportError(f"report {report.label} is already {role} by {events[role].name}")
    if role != ROLES[len(done)]:
        raise ReportError(
            f"report {report.label}: sign {ROLES[len(done)]!r} before {role!r} (order: {' -> '.join(ROLES)})"
        )
    twice = [r for r, e in events.items() if e.name == name]
    if twice:
        raise ReportError(
            f"{name} already signed report {report.number} as {twice[0]}: one person may not also sign as {role}"
        )
    run = results.get_run(report.run_id)
    ended = run.finished if run is not None else None
    if ended is not None and at < ended:
        raise ReportError(
            f"signature time {at:%Y-%m-%d %H:%M} is before the tests ended ({ended:%Y-%m-%d %H:%M}, "
            f"{clock.zone_label(ended)})"
        )
    last = max((e.at for e in events.values()), default=None)
    if last is not None and at < last:
        raise ReportError(
            f"signature time {at:%Y-%m-%d %H:%M} is before the previous signature ({last:%Y-%m-%d %H:%M})"
        )


def sign(number: str, role: str, name: str, at: datetime | None = None, revision: int | None = None) -> ReportRecord:
    """Sign a report revision as prepared, reviewed or approved (see the module's rules). The preparer
    signs what the lab record says now; later signers sign that same content. The approved PDF
    carries the lab's digital signature."""
    name = name.strip()
    name_en = _signer(role, name)
    at = clock.to_lab(at).replace(microsecond=0) if at is not None else clock.stamp()
    if at > clock.stamp() + FUTURE_SLACK:
        raise ReportError(f"signature time {at:%Y-%m-%d %H:%M} is in the future ({clock.zone_label()})")
    report = report_revision(number, revision)
    refuse_frozen(report)
    _check_order(report, role, name, at)
    content = rebuild(report) if role == "prepared" else ReportContent.from_json(report.content)
    missing = unfinished(content)
    if role in ("prepared", "approved") and missing:
        raise ReportError(
            f"report {number} cannot be {role}: {len(missing)} item(s) have no final verdict: "
            + ", ".join(missing)
            + "\n(record document/semi items with `harness record`, rerun lab errors, or add an approved waiver)"
        )
    setattr(content.signatures, role, Signature(name=name, name_en=name_en, at=clock.iso(at)))
    if role == "approved":
        content.dates.issued = at.date().isoformat()
    truth = content.to_json()
    sig = lab_signature(number, report.revision, truth) if role == "approved" else None
    written = write_revision(report, truth, sign=sig)
    return results.change_status(
        report.id,
        ReportStatus(role),
        expected=report.status,
        event=ReportEventRecord(role, name, at),
        written=written.record(),
        supersede_older=role == "approved",
    )


def reopen(number: str) -> ReportRecord:
    """Withdraw the prepared/reviewed signatures of a not-yet-approved revision so it can be corrected."""
    report = report_revision(number)
    refuse_frozen(report)
    if report.status == ReportStatus.DRAFT:
        raise ReportError(f"report {report.label} is a draft already: nothing to reopen")
    content = ReportContent.from_json(report.content)
    content.signatures = Signatures()
    written = write_revision(report, content.to_json())
    return results.change_status(
        report.id, ReportStatus.DRAFT, expected=report.status, clear_events=True, written=written.record()
    )


def revise(
    number: str, reason: str, run_id: str | None = None, language: str | None = None, reason_en: str | None = None
) -> WrittenReport:
    """A correction of an approved report: the same number, the next revision, naming what it replaces.
    The submission deadline stays the original report's."""
    if not reason.strip():
        raise ReportError("a revision needs a reason (--reason)")
    if language:
        check_language(language)
    last = revisions(number)[-1]
    if last.status not in (ReportStatus.APPROVED, ReportStatus.SUBMITTED):
        raise ReportError(
            f"report {last.label} is {last.status}, not approved: correct it in place "
            f"(harness report refresh / reopen {number}) instead of revising it"
        )
    run_id = run_id or last.run_id
    if results.get_run(run_id) is None:
        raise ReportError(f"no run {run_id!r} in the lab database")
    revision = last.revision + 1
    lang = language or last.language
    content = build_content(run_id, number, revision, lang)
    content.supersedes = Supersedes(
        number=number, revision=last.revision, reason=reason.strip(), reason_en=(reason_en or "").strip() or None
    )
    truth = content.to_json()
    report = results.insert_report(
        NewReport(
            number=number,
            revision=revision,
            run_id=run_id,
            kind=content.kind,
            language=lang,
            languages=(lang, *[x for x in last.languages if x != lang]),
            tests_completed=date.fromisoformat(content.dates.tests_completed),
            due=last.due,
            content=truth,
            content_sha256="",
            out_dir=str(lab_config().reports_dir / f"{number}-r{revision}"),
        )
    )
    try:
        written = write_revision(report, truth)
        results.store_written(report.id, *written.record(), expected=ReportStatus.DRAFT)
    except BaseException:
        results.delete_report(report.id)
        raise
    return WrittenReport(number, revision, Path(report.out_dir), written.files)


def submit(number: str, on: datetime | None = None, by: str = "", revision: int | None = None) -> ReportRecord:
    """Mark a report as submitted to the certification body: its latest approved revision (or the one given)."""
    if revision is None:
        revs = revisions(number)
        approved = [r for r in revs if r.status in (ReportStatus.APPROVED, ReportStatus.SUBMITTED)]
        report = approved[-1] if approved else revs[-1]
    else:
        report = report_revision(number, revision)
    if report.status == ReportStatus.SUBMITTED:
        raise ReportError(f"report {report.label} was already submitted")
    if report.status != ReportStatus.APPROVED:
        raise ReportError(f"report {report.label} is {report.status}: only an approved report is submitted")
    when = clock.to_lab(on) if on is not None else clock.stamp()
    approval = results.events_of(report.id).get("approved")
    if approval is not None and when < approval.at:
        raise ReportError(
            f"submission time {when:%Y-%m-%d %H:%M} is before the approval ({approval.at:%Y-%m-%d %H:%M})"
        )
    if when > clock.stamp() + FUTURE_SLACK:
        raise ReportError(f"submission time {when:%Y-%m-%d %H:%M} is in the future")
    return results.change_status(
        report.id,
        ReportStatus.SUBMITTED,
        expected=ReportStatus.APPROVED,
        event=ReportEventRecord("submitted", by or "-", when),
    )


@dataclass
class Status:
    number: str
    revision: int
    status: str
    run_id: str
    out_dir: str
    due: date | None
    languages: list[str]
    events: list[tuple[str, str, datetime]]
    unfinished: list[str]


def status(number: str) -> list[Status]:
    return [
        Status(
            r.number,
            r.revision,
            r.status,
            r.run_id,
            r.out_dir,
            r.due,
            list(r.languages),
            sorted(((e.action, e.name, e.at) for e in results.events_of(r.id).values()), key=lambda t: t[2]),
            unfinished(r.content),
        )
        for r in revisions(number)
    ]
