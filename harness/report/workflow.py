"""The report's life after a run: engineer records, waivers and deviations, signing in order,
revisions, renderings in another language, the folder's manifest and its verification, submission
deadlines, and judging an earlier report an applicant offers.

Every refusal is a ReportError whose text names what is wrong (the CLI turns it into exit 2); a folder
the lab cannot write is a LabError (exit 3).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from harness import clock
from harness.catalogue import load_catalogue
from harness.config import LabIdentity, lab_config, lab_identity
from harness.evidence import sha256_file
from harness.report.build import (
    CONFORM,
    NONCONFORM,
    NOT_APPLICABLE,
    ReportError,
    build_content,
    digest,
    unfinished,
)
from harness.report.folder import write_folder
from harness.report.labels import check_language
from harness.store import Evidence, Report, Run, Sample, session
from harness.store.models import ItemRecord, ReportEvent, ReportManifest, Waiver

ROLES = ("prepared", "reviewed", "approved")
ROLE_ZH = {"prepared": "编制", "reviewed": "审核", "approved": "批准"}
RECORD_VERDICTS = {
    "符合": CONFORM,
    "pass": CONFORM,
    "conform": CONFORM,
    "不符合": NONCONFORM,
    "fail": NONCONFORM,
    "nonconform": NONCONFORM,
    "不适用": NOT_APPLICABLE,
    "na": NOT_APPLICABLE,
    "not_applicable": NOT_APPLICABLE,
}
FROZEN = ("approved", "submitted", "superseded")
FUTURE_SLACK = timedelta(minutes=5)  # clocks differ a little; a signature dated later is refused


def _prefix() -> str:
    import os

    return os.environ.get("HARNESS_REPORT_PREFIX", "FTL")


# --- writing a revision's folder ------------------------------------------------------------------


def _evidence_kinds(s: Any, run_id: str) -> dict[str, str]:
    return {e.path: e.kind for e in s.scalars(select(Evidence).where(Evidence.run_id == run_id))}


def _store_manifest(s: Any, report_id: int, manifest: dict[str, Any]) -> None:
    row = s.scalar(select(ReportManifest).where(ReportManifest.report_id == report_id))
    if row is None:
        row = ReportManifest(report_id=report_id)
        s.add(row)
    row.files = manifest["files"]
    row.digest = manifest["digest"]
    row.evidence_digest = manifest["evidence_sha256"]
    row.written = clock.stamp()


def _save(
    s: Any,
    report: Report,
    content: dict[str, Any],
    pdf: bool = True,
    sign: tuple[LabIdentity, str, str] | None = None,
) -> dict[str, Path]:
    """Write the revision's folder (replacing its previous one) and store content and manifest."""
    run = s.get(Run, report.run_id)
    sample = s.get(Sample, run.sample_id)
    written = write_folder(
        Path(report.out_dir),
        content,
        report.run_id,
        sample.spec_snapshot,
        _evidence_kinds(s, report.run_id),
        list(report.languages or [report.language]),
        pdf=pdf,
        sign=sign,
        replace=True,
    )
    report.content = written.content
    report.content_sha256 = digest(written.content)
    s.flush()
    _store_manifest(s, report.id, written.manifest)
    return written.files


@dataclass(frozen=True)
class WrittenReport:
    number: str
    revision: int
    out_dir: Path
    files: dict[str, Path]
    note: str = ""  # what the command did besides writing (e.g. "English rendering of ...")


def _insert_numbered(make: Any, year: int) -> Report:
    """Insert a new report under the next free number: concurrent writers (two runs, two processes
    on one database) each get their own, retrying when another took the number first."""
    prefix = _prefix()
    for attempt in range(50):
        with session() as s:
            taken = s.scalars(select(Report.number).where(Report.number.like(f"{prefix}-{year}-%"))).all()
            n = max((int(t.rsplit("-", 1)[1]) for t in taken if t.rsplit("-", 1)[1].isdigit()), default=0) + 1
        number = f"{prefix}-{year}-{n:04d}"
        try:
            with session() as s:
                report = make(number)
                s.add(report)
            return report
        except (IntegrityError, OperationalError) as e:
            if isinstance(e, OperationalError) and "locked" not in str(e) and "busy" not in str(e).lower():
                raise
            time.sleep(0.02 * (attempt + 1))
    raise ReportError(f"could not allocate a report number under {prefix}-{year}- after 50 attempts")


def _run_reports(s: Any, run_id: str) -> list[Report]:
    return list(s.scalars(select(Report).where(Report.run_id == run_id).order_by(Report.number, Report.revision)))


def create_report(run_id: str, language: str = "zh", pdf: bool = True) -> WrittenReport:
    """A new report (revision 1, draft) for a run: JSON, HTML, PDF, evidence and manifest. A run that
    already has a report gets that report's rendering in `language` instead (same number, no
    deadline of its own), or a refusal if it has that language already."""
    check_language(language)
    with session() as s:
        existing = _run_reports(s, run_id)
    if existing:
        latest = existing[-1]
        if language in (latest.languages or [latest.language]):
            raise ReportError(
                f"run {run_id} already has report {latest.number} (revision {latest.revision}, {latest.status}, "
                f"in {language}): rebuild a draft with `harness report refresh {latest.number}`; a correction of "
                f"an approved report is `harness report revise {latest.number} --reason TEXT`"
            )
        return render_language(latest.number, language, pdf=pdf)
    content = build_content(run_id, "PENDING", 1, language)
    completed = date.fromisoformat(content["dates"]["tests_completed"])
    reports_dir = lab_config().reports_dir

    def make(number: str) -> Report:
        content["number"] = number
        return Report(
            number=number,
            revision=1,
            run_id=run_id,
            kind=content["kind"],
            language=language,
            languages=[language],
            created=clock.stamp(),
            tests_completed=completed,
            due=date.fromisoformat(content["dates"]["due"]) if content["dates"]["due"] else None,
            status="draft",
            content=content,
            content_sha256=digest(content),
            out_dir=str(reports_dir / f"{number}-r1"),
        )

    report = _insert_numbered(make, clock.today().year)
    try:
        with session() as s:
            row = s.get(Report, report.id)
            assert row is not None
            files = _save(s, row, content, pdf)
    except BaseException:
        with session() as s:  # the number is free again: nothing of this report was written
            s.delete(s.get(Report, report.id))
        raise
    return WrittenReport(report.number, 1, Path(report.out_dir), files)


def render_language(number: str, language: str, revision: int | None = None, pdf: bool = True) -> WrittenReport:
    """Add a rendering of a report revision in another language to its folder: the same report (same
    number, content and deadline), the manifest renewed; an approved revision's PDF is signed."""
    check_language(language)
    with session() as s:
        report = _report(s, number, revision)
        langs = list(report.languages or [report.language])
        if language in langs:
            raise ReportError(f"report {number} revision {report.revision} already has its {language} rendering")
        report.languages = [*langs, language]
        sign = _signature_for(report) if report.status in FROZEN else None
        files = _save(s, report, dict(report.content), pdf, sign)
        return WrittenReport(
            number,
            report.revision,
            Path(report.out_dir),
            files,
            note=f"{language} rendering of report {number} revision {report.revision} added (same number, no "
            "deadline of its own)",
        )


def _revisions(s: Any, number: str) -> list[Report]:
    revs = list(s.scalars(select(Report).where(Report.number == number).order_by(Report.revision)))
    if not revs:
        raise ReportError(f"no report {number!r} in the lab database ({lab_config().db_url})")
    return revs


def _report(s: Any, number: str, revision: int | None = None) -> Report:
    revs = _revisions(s, number)
    if revision is None:
        return revs[-1]
    for r in revs:
        if r.revision == revision:
            return r
    raise ReportError(f"report {number} has no revision {revision} (revisions: {[r.revision for r in revs]})")


def _events(s: Any, report_id: int) -> dict[str, ReportEvent]:
    return {e.action: e for e in s.scalars(select(ReportEvent).where(ReportEvent.report_id == report_id))}


def _refuse_frozen(report: Report) -> None:
    if report.status in FROZEN:
        raise ReportError(
            f"report {report.number} revision {report.revision} is {report.status}: an approved report never "
            f"changes; a correction is a new revision: harness report revise {report.number} --reason TEXT"
        )


def _rebuild(report: Report, language: str | None = None) -> dict[str, Any]:
    old = report.content or {}
    content = build_content(report.run_id, report.number, report.revision, language or report.language)
    content["supersedes"] = old.get("supersedes")
    return content


def refresh(number: str, revision: int | None = None, language: str | None = None, pdf: bool = True) -> Report:
    """Rebuild a draft from the lab database (after records or waivers) and re-render it."""
    if language:
        check_language(language)
    with session() as s:
        report = _report(s, number, revision)
        _refuse_frozen(report)
        if report.status != "draft":
            raise ReportError(
                f"report {number} revision {report.revision} is {report.status}: its content is fixed while it is "
                f"signed; to change it, reopen it first: harness report reopen {number}"
            )
        content = _rebuild(report, language)
        if language and language != report.language:
            report.language = language
            report.languages = [language, *[x for x in report.languages or [] if x != language]]
        _save(s, report, content, pdf)
        return report


def reopen(number: str) -> Report:
    """Withdraw the prepared/reviewed signatures of a not-yet-approved revision so it can be corrected."""
    with session() as s:
        report = _report(s, number)
        _refuse_frozen(report)
        for e in _events(s, report.id).values():
            s.delete(e)
        content = dict(report.content)
        content["signatures"] = {r: None for r in ROLES}
        report.status = "draft"
        _save(s, report, content)
        return report


def _signature_for(report: Report) -> tuple[LabIdentity, str, str]:
    """(lab identity, reason, name) of the PDF signature of an approved revision."""
    ident = lab_identity()
    approved = (report.content.get("signatures") or {}).get("approved") or {}
    reason = f"批准 Approved: {approved.get('name', '')} ({report.number} r{report.revision})"
    return ident, reason, ident.name


def sign(number: str, role: str, name: str, at: datetime | None = None, revision: int | None = None) -> Report:
    """Sign a report revision as prepared, reviewed or approved, in that order, by a person the lab
    configuration names for that role, never twice by one person, never dated before the tests ended
    or before the previous signature."""
    if role not in ROLES:
        raise ReportError(f"role {role!r}: one of {', '.join(ROLES)}")
    name = name.strip()
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
    at = clock.to_lab(at).replace(microsecond=0) if at is not None else clock.stamp()
    if at > clock.stamp() + FUTURE_SLACK:
        raise ReportError(f"signature time {at:%Y-%m-%d %H:%M} is in the future ({clock.zone_label()})")
    with session() as s:
        report = _report(s, number, revision)
        _refuse_frozen(report)
        events = _events(s, report.id)
        done = [r for r in ROLES if r in events]
        expected = ROLES[len(done)]
        if role in events:
            raise ReportError(f"report {number} revision {report.revision} is already {role} by {events[role].name}")
        if role != expected:
            raise ReportError(
                f"report {number} revision {report.revision}: sign {expected!r} before {role!r} "
                f"(order: {' -> '.join(ROLES)})"
            )
        twice = [r for r, e in events.items() if e.name == name]
        if twice:
            raise ReportError(
                f"{name} already signed report {number} as {twice[0]}: one person may not also sign as {role}"
            )
        run = s.get(Run, report.run_id)
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
        # the preparer signs what the database says now; later signers sign that same content
        content = _rebuild(report) if role == "prepared" else dict(report.content)
        missing = unfinished(content)
        if role in ("prepared", "approved") and missing:
            raise ReportError(
                f"report {number} cannot be {role}: {len(missing)} item(s) have no final verdict: "
                + ", ".join(missing)
                + "\n(record document/semi items with `harness record`, rerun lab errors, or add an approved waiver)"
            )
        content["signatures"] = {
            **content.get("signatures", {}),
            role: {"name": name, "name_en": person.name_en, "at": clock.iso(at)},
        }
        if role == "approved":
            content["dates"] = {**content["dates"], "issued": at.date().isoformat()}
            for older in _revisions(s, number):
                if older.revision < report.revision and older.status in ("approved", "submitted"):
                    older.status = "superseded"
        s.add(ReportEvent(report_id=report.id, action=role, name=name, at=at))
        report.status = role
        report.content = content
        _save(s, report, content, sign=_signature_for(report) if role == "approved" else None)
        return report


def revise(
    number: str, reason: str, run_id: str | None = None, language: str | None = None, reason_en: str | None = None
) -> WrittenReport:
    """A correction of an approved report: the same number, the next revision, naming what it replaces."""
    if not reason.strip():
        raise ReportError("a revision needs a reason (--reason)")
    if language:
        check_language(language)
    with session() as s:
        revs = _revisions(s, number)
        last = revs[-1]
        if last.status not in ("approved", "submitted"):
            raise ReportError(
                f"report {number} revision {last.revision} is {last.status}, not approved: correct it in place "
                f"(harness report refresh / reopen {number}) instead of revising it"
            )
        run_id = run_id or last.run_id
        if s.get(Run, run_id) is None:
            raise ReportError(f"no run {run_id!r} in the lab database")
        revision = last.revision + 1
        lang = language or last.language
        content = build_content(run_id, number, revision, lang)
        content["supersedes"] = {"number": number, "revision": last.revision, "reason": reason.strip()}
        if reason_en and reason_en.strip():
            content["supersedes"]["reason_en"] = reason_en.strip()
        out_dir = lab_config().reports_dir / f"{number}-r{revision}"
        report = Report(
            number=number,
            revision=revision,
            run_id=run_id,
            kind=content["kind"],
            language=lang,
            languages=[lang, *[x for x in last.languages or [] if x != lang]],
            created=clock.stamp(),
            tests_completed=date.fromisoformat(content["dates"]["tests_completed"]),
            due=last.due,  # the submission deadline is the original report's
            status="draft",
            content=content,
            content_sha256=digest(content),
            out_dir=str(out_dir),
        )
        s.add(report)
        s.flush()
        files = _save(s, report, content)
    return WrittenReport(number, revision, out_dir, files)


def submit(number: str, on: datetime | None = None, by: str = "", revision: int | None = None) -> Report:
    """Mark a report as submitted to the certification body: its latest approved revision (or the one given)."""
    with session() as s:
        if revision is None:
            revs = _revisions(s, number)
            approved = [r for r in revs if r.status in ("approved", "submitted")]
            report = approved[-1] if approved else revs[-1]
        else:
            report = _report(s, number, revision)
        if report.status == "submitted":
            raise ReportError(f"report {number} revision {report.revision} was already submitted")
        if report.status != "approved":
            raise ReportError(
                f"report {number} revision {report.revision} is {report.status}: only an approved report is submitted"
            )
        when = clock.to_lab(on) if on is not None else clock.stamp()
        approval = _events(s, report.id).get("approved")
        if approval is not None and when < approval.at:
            raise ReportError(
                f"submission time {when:%Y-%m-%d %H:%M} is before the approval ({approval.at:%Y-%m-%d %H:%M})"
            )
        if when > clock.stamp() + FUTURE_SLACK:
            raise ReportError(f"submission time {when:%Y-%m-%d %H:%M} is in the future")
        s.add(ReportEvent(report_id=report.id, action="submitted", name=by or "-", at=when))
        report.status = "submitted"
        return report


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
    with session() as s:
        return [
            Status(
                r.number,
                r.revision,
                r.status,
                r.run_id,
                r.out_dir,
                r.due,
                list(r.languages or [r.language]),
                sorted(((e.action, e.name, e.at) for e in _events(s, r.id).values()), key=lambda t: t[2]),
                unfinished(r.content),
            )
            for r in _revisions(s, number)
        ]


# --- what a change to the lab database does to the run's reports ---------------------------------


@dataclass
class Rebuilt:
    """What became of a run's reports after a record or a waiver: rebuilt drafts, revisions opened,
    and reports left as they are (with why)."""

    rebuilt: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"draft rebuilt: {n}" for n in self.rebuilt]
        out += [f"revision opened: {n}" for n in self.opened]
        out += [f"not rebuilt: {n}" for n in self.untouched]
        return out or ["no report of this run to rebuild"]


def _latest_of_run(run_id: str) -> list[Report]:
    """The latest revision of every report number built from the run."""
    with session() as s:
        latest: dict[str, Report] = {}
        for r in _run_reports(s, run_id):
            latest[r.number] = r
        return list(latest.values())


def approved_reports_of(run_id: str) -> list[Report]:
    return [r for r in _latest_of_run(run_id) if r.status in FROZEN]


def rebuild_drafts(run_ids: list[str]) -> Rebuilt:
    """Rebuild the drafts of these runs' reports; name the signed or approved ones that were not."""
    out = Rebuilt()
    for run_id in run_ids:
        for r in _latest_of_run(run_id):
            label = f"{r.number} revision {r.revision}"
            if r.status == "draft":
                refresh(r.number, r.revision)
                out.rebuilt.append(label)
            elif r.status in FROZEN:
                out.untouched.append(f"{label} is {r.status}: unchanged (a correction is `harness report revise`)")
            else:
                out.untouched.append(f"{label} is {r.status}: unchanged until reopened (`harness report reopen`)")
    return out


# --- engineer records ------------------------------------------------------------------------------


def _planned(run: Run, item_id: str) -> dict[str, Any]:
    plan = run.plan or {}
    for p in plan.get("items", []) + plan.get("functional", []):
        if p["item_id"] == item_id:
            return p
    raise ReportError(f"{item_id!r} is not an item of run {run.id}'s plan")


def record(
    run_id: str,
    item_id: str,
    verdict: str,
    note: str,
    engineer: str,
    evidence: list[Path] | None = None,
    at: datetime | None = None,
    *,
    reference: str | None = None,
    no_evidence: str | None = None,
    note_en: str | None = None,
    revise_reason: str | None = None,
) -> tuple[ItemRecord, Rebuilt]:
    """An engineer's verdict on an item no automated check decides (document review, semi-automated),
    backed by evidence files, a reference to the reviewed document section, or an explicit reason why
    there is none. On a run whose report is approved, it is refused unless `revise_reason` opens the
    report's next revision; drafts of the run are rebuilt, and the result says which."""
    problems = []
    v = RECORD_VERDICTS.get(verdict.strip().lower()) or RECORD_VERDICTS.get(verdict.strip())
    if v is None:
        problems.append(f"verdict {verdict!r}: one of 符合 / 不符合 / 不适用 (or pass / fail / na)")
    if not note.strip():
        problems.append("a record needs a note: what was reviewed or observed (--note)")
    if not engineer.strip():
        problems.append("a record needs the engineer's name (--engineer)")
    for f in evidence or []:
        if not f.is_file():
            problems.append(f"evidence {f}: no such file")
    reference = (reference or "").strip() or None
    no_evidence = (no_evidence or "").strip() or None
    if not (evidence or reference or no_evidence):
        problems.append(
            "a verdict needs what backs it: --evidence FILE, --reference 'the reviewed document and section', "
            "or --no-evidence 'why there is none'"
        )
    frozen = approved_reports_of(run_id)
    if frozen and not (revise_reason or "").strip():
        problems.append(
            "the run's report "
            + ", ".join(f"{r.number} revision {r.revision} is {r.status}" for r in frozen)
            + ": a record would change what was approved; it is refused. To correct the report, record with "
            "--revise 'reason': that opens its next revision, built with this record"
        )
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise ReportError(f"no run {run_id!r} in the lab database")
        try:
            p = _planned(run, item_id)
        except ReportError as e:
            problems.append(str(e))
            p = None
        if p is not None and not p["applicable"]:
            problems.append(f"{item_id} is not applicable to this sample ({p.get('reason') or ''}): nothing to record")
        if p is not None and p["checks"]:
            problems.append(
                f"{item_id} is decided by its automated checks ({', '.join(p['checks'])}); rerun them "
                "instead of recording a verdict"
            )
        if problems:
            raise ReportError("\n".join(problems))
        assert v is not None
        run_dir = lab_config().run_dir(run_id)
        dest = run_dir / "evidence" / "records" / item_id.replace("/", "_")
        dest.mkdir(parents=True, exist_ok=True)
        stored = []
        start = len(list(dest.iterdir()))
        for n, f in enumerate(evidence or [], start=start + 1):
            target = dest / f"{n:02d}-{f.name}"
            target.write_bytes(f.read_bytes())
            stored.append(
                {
                    "title": f.name,
                    "path": target.relative_to(run_dir).as_posix(),
                    "sha256": sha256_file(target),
                    "size": target.stat().st_size,
                }
            )
        rec = ItemRecord(
            run_id=run_id,
            item_id=item_id,
            verdict=v,
            note=note.strip(),
            note_en=(note_en or "").strip() or None,
            reference=reference,
            no_evidence_reason=no_evidence,
            engineer=engineer.strip(),
            recorded=clock.to_lab(at).replace(microsecond=0) if at is not None else clock.stamp(),
            evidence=stored,
        )
        s.add(rec)
    result = Rebuilt()
    for r in frozen:
        w = revise(r.number, revise_reason or "", run_id)
        result.opened.append(f"{w.number} revision {w.revision} ({w.out_dir})")
    more = rebuild_drafts([run_id])
    result.rebuilt += [x for x in more.rebuilt if x not in " ".join(result.opened)]
    result.untouched += [x for x in more.untouched if not any(o.split(" (")[0] in x for o in result.opened)]
    return rec, result


def pending_items(run_id: str) -> list[str]:
    """What a run's report would still lack before it can be signed."""
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise ReportError(f"no run {run_id!r} in the lab database")
    return unfinished(build_content(run_id, "PENDING", 1))


def draft_reports_of(run_id: str) -> list[str]:
    return [r.number for r in _latest_of_run(run_id) if r.status == "draft"]


# --- waivers and deviations ------------------------------------------------------------------------


def add_waiver(
    clause_id: str,
    kind: str,
    justification: str,
    approved_by: str,
    expires: date,
    approved_on: date | None = None,
    run_id: str | None = None,
    sample_id: str | None = None,
    justification_en: str | None = None,
) -> tuple[Waiver, Rebuilt]:
    """Record an approved waiver or deviation; rebuild the drafts it touches and say which were not."""
    problems = []
    today = clock.today()
    approved_on = approved_on or today
    if kind not in ("waiver", "deviation"):
        problems.append(f"kind {kind!r}: waiver or deviation")
    if not justification.strip():
        problems.append("a waiver or deviation needs its justification (--justification)")
    if not approved_by.strip():
        problems.append("a waiver or deviation needs who approved it (--approved-by)")
    if expires < approved_on:
        problems.append(f"expiry {expires} is before the approval date {approved_on}")
    elif expires < today:
        problems.append(f"expiry {expires} has already passed (today is {today}): an expired {kind} is not entered")
    if approved_on > today:
        problems.append(f"approval date {approved_on} is in the future (today is {today})")
    if (run_id is None) == (sample_id is None):
        problems.append("give its scope: exactly one of --run RUN or --sample SAMPLE")
    runs: list[str] = []
    with session() as s:
        if run_id is not None:
            run = s.get(Run, run_id)
            if run is None:
                problems.append(f"no run {run_id!r} in the lab database")
            else:
                runs = [run_id]
                ids = {p["item_id"] for p in (run.plan or {}).get("items", []) + (run.plan or {}).get("functional", [])}
                if ids and clause_id not in ids:
                    problems.append(f"{clause_id!r} is not an item of run {run_id}'s plan")
        if sample_id is not None:
            sample = s.get(Sample, sample_id)
            if sample is None:
                problems.append(f"no sample {sample_id!r} in the lab database")
            else:
                runs = [r.id for r in s.scalars(select(Run).where(Run.sample_id == sample_id))]
                cat = load_catalogue(sample.spec_snapshot["basis"][0])
                ucs = {uc["id"] for uc in sample.spec_snapshot["documentation"]["use_cases"]}
                if clause_id not in cat.ids() | ucs | {"API-CONFORMANCE"}:
                    problems.append(
                        f"{clause_id!r} is neither a clause of {cat.standard.id} nor a use case of {sample_id}"
                    )
        if problems:
            raise ReportError("\n".join(problems))
        w = Waiver(
            clause_id=clause_id,
            kind=kind,
            justification=justification.strip(),
            justification_en=(justification_en or "").strip() or None,
            approved_by=approved_by.strip(),
            approved_on=approved_on,
            expires=expires,
            run_id=run_id,
            sample_id=sample_id,
            created=clock.stamp(),
        )
        s.add(w)
    return w, rebuild_drafts(runs)


def list_waivers() -> list[Waiver]:
    with session() as s:
        return list(s.scalars(select(Waiver).order_by(Waiver.id)))
