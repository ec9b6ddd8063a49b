"""The report's life after a run: engineer records, waivers and deviations, signing in order,
revisions, the evidence manifest and its verification, submission deadlines, and judging an
earlier report an applicant offers.

Every refusal is a ReportError whose text names what is wrong (the CLI turns it into exit 2).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from harness.catalogue import load_catalogue
from harness.config import lab_config
from harness.dates import add_months
from harness.evidence import sha256_file
from harness.report.build import (
    CONFORM,
    NONCONFORM,
    NOT_APPLICABLE,
    ReportError,
    build_content,
    canonical_json,
    copy_evidence,
    digest,
    next_number,
    unfinished,
)
from harness.report.deadline import CalendarGap, working_days_between
from harness.report.labels import check_language
from harness.report.render import write_html, write_json, write_pdf
from harness.store import Report, Run, Sample, session
from harness.store.models import ItemRecord, ReportEvent, ReportManifest, Waiver

ROLES = ("prepared", "reviewed", "approved")
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
MANIFEST = "manifest.json"
FROZEN = ("approved", "submitted", "superseded")


# --- the report folder: renders and manifest -------------------------------------------------


def _files(root: Path, under: Path | None = None) -> dict[str, str]:
    """{path relative to root: sha256} for every file under `under` (default: root), manifest excluded."""
    base = under or root
    if not base.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(base.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() != MANIFEST
    }


def files_digest(files: dict[str, str]) -> str:
    return hashlib.sha256(canonical_json(dict(sorted(files.items())))).hexdigest()


def _write_folder(report: Report, content: dict[str, Any], pdf: bool = True) -> tuple[dict[str, Path], dict[str, Any]]:
    """Write report.json/html/pdf and manifest.json into the report's folder; store the manifest."""
    out_dir = Path(report.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_evidence(report.run_id, out_dir)
    evidence = _files(out_dir, out_dir / "evidence")
    ev_digest = files_digest(evidence)
    content["evidence_manifest"] = {
        "sha256": ev_digest,
        "files": [{"path": p, "sha256": h} for p, h in evidence.items()],
    }
    written = {"json": write_json(content, out_dir), "html": write_html(content, out_dir)}
    if pdf:
        written["pdf"] = write_pdf(content, out_dir)
    else:
        (out_dir / "report.pdf").unlink(missing_ok=True)
    files = _files(out_dir)
    manifest = {
        "number": content["number"],
        "revision": content["revision"],
        "evidence_sha256": ev_digest,
        "files": files,
        "digest": files_digest(files),
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    written["manifest"] = out_dir / MANIFEST
    report.content = content
    report.content_sha256 = digest(content)
    return written, manifest


def _store_manifest(s: Any, report_id: int, manifest: dict[str, Any]) -> None:
    row = s.scalar(select(ReportManifest).where(ReportManifest.report_id == report_id))
    if row is None:
        row = ReportManifest(report_id=report_id)
        s.add(row)
    row.files = manifest["files"]
    row.digest = manifest["digest"]
    row.evidence_digest = manifest["evidence_sha256"]
    row.written = datetime.now()


def _save(s: Any, report: Report, content: dict[str, Any], pdf: bool = True) -> dict[str, Path]:
    written, manifest = _write_folder(report, content, pdf)
    s.flush()
    _store_manifest(s, report.id, manifest)
    return written


@dataclass(frozen=True)
class WrittenReport:
    number: str
    revision: int
    out_dir: Path
    files: dict[str, Path]


def create_report(run_id: str, language: str = "zh", pdf: bool = True) -> WrittenReport:
    """A new report (revision 1, draft) for a run: JSON, HTML, PDF, evidence and manifest."""
    check_language(language)
    number = next_number()
    content = build_content(run_id, number, 1, language)
    out_dir = lab_config().reports_dir / f"{number}-r1"
    with session() as s:
        report = Report(
            number=number,
            revision=1,
            run_id=run_id,
            kind=content["kind"],
            language=language,
            created=datetime.now(),
            tests_completed=date.fromisoformat(content["dates"]["tests_completed"]),
            due=date.fromisoformat(content["dates"]["due"]) if content["dates"]["due"] else None,
            status="draft",
            content=content,
            content_sha256=digest(content),
            out_dir=str(out_dir),
        )
        s.add(report)
        files = _save(s, report, content, pdf)
    return WrittenReport(number, 1, out_dir, files)


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
        if language:
            report.language = language
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


def sign(number: str, role: str, name: str, at: datetime | None = None, revision: int | None = None) -> Report:
    """Sign a report revision as prepared, reviewed or approved, in that order."""
    if role not in ROLES:
        raise ReportError(f"role {role!r}: one of {', '.join(ROLES)}")
    name = name.strip()
    if not name:
        raise ReportError("a signature needs the signer's name")
    at = (at or datetime.now()).replace(microsecond=0)
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
        prepared = events.get("prepared")
        if prepared is not None and name == prepared.name:
            raise ReportError(f"{name} prepared report {number}; the {role} signature must be someone else's")
        last = max((e.at for e in events.values()), default=None)
        if last is not None and at < last:
            raise ReportError(f"signature time {at} is before the previous signature ({last})")
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
            role: {"name": name, "at": at.isoformat(sep=" ", timespec="minutes")},
        }
        if role == "approved":
            content["dates"] = {**content["dates"], "issued": at.date().isoformat()}
            for older in _revisions(s, number):
                if older.revision < report.revision and older.status in ("approved", "submitted"):
                    older.status = "superseded"
        s.add(ReportEvent(report_id=report.id, action=role, name=name, at=at))
        report.status = role
        _save(s, report, content)
        return report


def revise(number: str, reason: str, run_id: str | None = None, language: str | None = None) -> WrittenReport:
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
        out_dir = lab_config().reports_dir / f"{number}-r{revision}"
        report = Report(
            number=number,
            revision=revision,
            run_id=run_id,
            kind=content["kind"],
            language=lang,
            created=datetime.now(),
            tests_completed=date.fromisoformat(content["dates"]["tests_completed"]),
            due=last.due,  # the submission deadline is the original report's
            status="draft",
            content=content,
            content_sha256=digest(content),
            out_dir=str(out_dir),
        )
        s.add(report)
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
        s.add(ReportEvent(report_id=report.id, action="submitted", name=by or "-", at=on or datetime.now()))
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
                sorted(((e.action, e.name, e.at) for e in _events(s, r.id).values()), key=lambda t: t[2]),
                unfinished(r.content),
            )
            for r in _revisions(s, number)
        ]


# --- engineer records ------------------------------------------------------------------------


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
) -> ItemRecord:
    """An engineer's verdict on an item no automated check decides (document review, semi-automated)."""
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
            shutil.copyfile(f, target)
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
            engineer=engineer.strip(),
            recorded=(at or datetime.now()).replace(microsecond=0),
            evidence=stored,
        )
        s.add(rec)
        return rec


def pending_items(run_id: str) -> list[str]:
    """What a run's report would still lack before it can be signed."""
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise ReportError(f"no run {run_id!r} in the lab database")
    return unfinished(build_content(run_id, "PENDING", 1))


def draft_reports_of(run_id: str) -> list[str]:
    with session() as s:
        return [r.number for r in s.scalars(select(Report).where(Report.run_id == run_id, Report.status == "draft"))]


# --- waivers and deviations ------------------------------------------------------------------


def add_waiver(
    clause_id: str,
    kind: str,
    justification: str,
    approved_by: str,
    expires: date,
    approved_on: date | None = None,
    run_id: str | None = None,
    sample_id: str | None = None,
) -> Waiver:
    problems = []
    approved_on = approved_on or date.today()
    if kind not in ("waiver", "deviation"):
        problems.append(f"kind {kind!r}: waiver or deviation")
    if not justification.strip():
        problems.append("a waiver or deviation needs its justification (--justification)")
    if not approved_by.strip():
        problems.append("a waiver or deviation needs who approved it (--approved-by)")
    if expires < approved_on:
        problems.append(f"expiry {expires} is before the approval date {approved_on}")
    if (run_id is None) == (sample_id is None):
        problems.append("give its scope: exactly one of --run RUN or --sample SAMPLE")
    with session() as s:
        if run_id is not None:
            run = s.get(Run, run_id)
            if run is None:
                problems.append(f"no run {run_id!r} in the lab database")
            else:
                ids = {p["item_id"] for p in (run.plan or {}).get("items", []) + (run.plan or {}).get("functional", [])}
                if ids and clause_id not in ids:
                    problems.append(f"{clause_id!r} is not an item of run {run_id}'s plan")
        if sample_id is not None:
            sample = s.get(Sample, sample_id)
            if sample is None:
                problems.append(f"no sample {sample_id!r} in the lab database")
            else:
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
            approved_by=approved_by.strip(),
            approved_on=approved_on,
            expires=expires,
            run_id=run_id,
            sample_id=sample_id,
            created=datetime.now(),
        )
        s.add(w)
        return w


def list_waivers() -> list[Waiver]:
    with session() as s:
        return list(s.scalars(select(Waiver).order_by(Waiver.id)))


# --- verification ----------------------------------------------------------------------------


@dataclass
class Verification:
    report_dir: Path
    number: str
    revision: int | None
    against: str  # what the files were compared with
    digest: str
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.added or self.problems)


def _load_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verify(report_dir: Path) -> Verification:
    """Recompute a report folder's manifest; compare it with the lab database's and the folder's own."""
    if not report_dir.is_dir():
        raise ReportError(f"{report_dir}: not a directory")
    manifest_path = report_dir / MANIFEST
    if not manifest_path.is_file() and not (report_dir / "report.json").is_file():
        raise ReportError(f"{report_dir}: not a report folder (no {MANIFEST}, no report.json)")
    folder_manifest = _load_json(manifest_path)
    content = _load_json(report_dir / "report.json")
    ident = folder_manifest or content or {}
    number, revision = str(ident.get("number", "")), ident.get("revision")
    problems: list[str] = []
    if folder_manifest is None:
        problems.append(f"{MANIFEST} is missing or unreadable")
    expected: dict[str, str] | None = None
    against = MANIFEST
    db_content_sha = None
    with session() as s:
        report = None
        if number and isinstance(revision, int):
            report = s.scalar(select(Report).where(Report.number == number, Report.revision == revision))
        if report is not None:
            row = s.scalar(select(ReportManifest).where(ReportManifest.report_id == report.id))
            if row is not None:
                expected, against = dict(row.files), "the lab database"
                if folder_manifest is not None and folder_manifest.get("digest") != row.digest:
                    problems.append(f"{MANIFEST} does not match the manifest the lab database holds")
            db_content_sha = report.content_sha256
    if expected is None:
        if folder_manifest is None:
            raise ReportError(f"{report_dir}: no {MANIFEST} and no record of this report in the lab database")
        expected = dict(folder_manifest.get("files") or {})
        against = f"{MANIFEST} (no record in this lab database)"
        if files_digest(expected) != folder_manifest.get("digest"):
            problems.append(f"{MANIFEST}: its digest does not match its own file list")
    actual = _files(report_dir)
    result = Verification(
        report_dir,
        number,
        revision if isinstance(revision, int) else None,
        against,
        files_digest(expected),
        changed=sorted(p for p in expected.keys() & actual.keys() if expected[p] != actual[p]),
        missing=sorted(expected.keys() - actual.keys()),
        added=sorted(actual.keys() - expected.keys()),
        problems=problems,
    )
    if content is not None:
        ev = {p: h for p, h in actual.items() if p.startswith("evidence/")}
        carried = (content.get("evidence_manifest") or {}).get("sha256")
        if carried != files_digest(ev):
            result.problems.append("the evidence digest the report carries does not match the evidence files")
        if db_content_sha is not None and digest(content) != db_content_sha:
            result.problems.append("report.json is not the content the lab database holds for this report")
    return result


# --- deadlines -------------------------------------------------------------------------------


@dataclass
class Deadline:
    number: str
    revision: int
    status: str
    sample: str
    completed: date
    due: date | None
    left: int | None  # working days from today to the due date (negative: overdue)
    flag: str  # overdue | due-soon | ok | unknown


def deadline_flag(today: date, due: date | None, soon: int = 2) -> tuple[int | None, str]:
    """(working days from today to the due date, flag): overdue once the due date has passed;
    due-soon when at most `soon` working days are left; unknown when the calendar has no data."""
    if due is None:
        return None, "unknown"
    try:
        left: int | None = working_days_between(today, due)
    except CalendarGap:
        left = None
    if today > due:
        return left, "overdue"
    if left is None:
        return None, "unknown"
    return left, "due-soon" if left <= soon else "ok"


def deadlines(today: date | None = None, soon: int = 2) -> list[Deadline]:
    """Open reports (no revision submitted) with their due dates, most urgent first."""
    today = today or date.today()
    with session() as s:
        reports = list(s.scalars(select(Report).order_by(Report.number, Report.revision)))
        by_number: dict[str, list[Report]] = {}
        for r in reports:
            by_number.setdefault(r.number, []).append(r)
        rows = []
        for number, revs in by_number.items():
            if any(r.status == "submitted" for r in revs):
                continue
            r = revs[-1]
            sample = r.content.get("sample", {}) if r.content else {}
            left, flag = deadline_flag(today, r.due, soon)
            rows.append(
                Deadline(
                    number,
                    r.revision,
                    r.status,
                    f"{sample.get('name', '')} {sample.get('version', '')}".strip(),
                    r.tests_completed,
                    r.due,
                    left,
                    flag,
                )
            )
    order = {"overdue": 0, "due-soon": 1, "unknown": 2, "ok": 3}
    return sorted(rows, key=lambda d: (order[d.flag], d.due or date.max, d.number))


# --- an earlier report offered by an applicant -----------------------------------------------


@dataclass
class PriorCheck:
    number: str
    issued: date | None
    valid_until: date | None
    findings: list[str] = field(default_factory=list)  # why the report cannot be accepted as is
    retest: list[str] = field(default_factory=list)  # "item_id: reason"

    @property
    def acceptable(self) -> bool:
        return not self.findings and not self.retest


def check_prior(report_json: Path, spec_path: Path, today: date | None = None) -> PriorCheck:
    """Judge an earlier report against the sample as it is now (its current spec)."""
    from harness.spec import load_spec

    today = today or date.today()
    content = _load_json(report_json)
    if content is None:
        raise ReportError(f"{report_json}: not a readable report JSON")
    missing_keys = [k for k in ("number", "dates", "sample", "basis", "items") if k not in content]
    if missing_keys:
        raise ReportError(f"{report_json}: not a type-test report (missing {', '.join(missing_keys)})")
    loaded = load_spec(spec_path)  # SpecError: bad input
    spec = loaded.spec
    issued_text = (content.get("dates") or {}).get("issued")
    approved = (content.get("signatures") or {}).get("approved")
    issued = date.fromisoformat(issued_text) if issued_text else None
    validity = lab_config().retention_months
    result = PriorCheck(str(content["number"]), issued, add_months(issued, validity) if issued else None)
    everything = False
    if issued is None or not approved:
        result.findings.append("the report was never approved and issued: it is a draft")
        everything = True
    elif result.valid_until is not None and today > result.valid_until:
        age = (today.year - issued.year) * 12 + today.month - issued.month
        result.findings.append(
            f"issued {issued}, about {age} months ago: older than {validity} months (valid until {result.valid_until})"
        )
        everything = True
    s = content["sample"]
    unit = s.get("certification_unit") or {}
    then = {
        "sample name": s.get("name"),
        "sample version": s.get("version"),
        "model": unit.get("model"),
        "certification-unit version": unit.get("version"),
    }
    now = {
        "sample name": spec.sample.name,
        "sample version": spec.sample.version,
        "model": spec.certification_unit.model,
        "certification-unit version": spec.certification_unit.version,
    }
    for k in then:
        if then[k] != now[k]:
            result.findings.append(f"{k} changed: report {then[k]!r}, now {now[k]!r}")
            everything = True
    old_media = {m.get("sha256") for m in s.get("media") or []}
    new_media = {m.sha256 for m in spec.media}
    if old_media != new_media:
        result.findings.append("the sample's media (SHA-256) differ from those the report names: the product changed")
        everything = True
    cat = load_catalogue(spec.basis[0])
    if content["basis"].get("standard") != cat.standard.id:
        result.findings.append(f"basis changed: report {content['basis'].get('standard')}, now {cat.standard.id}")
        everything = True
    not_applicable: dict[str, str] = {}
    for key, appl in spec.applicability.items():
        try:
            covered = cat.covers(key)
        except KeyError:
            continue  # a use case, or a typo intake reports
        if not appl.applicable:
            for it in covered:
                not_applicable[it.id] = appl.reason or ""
    old = {i.get("item_id"): i for i in content["items"]}
    for it in cat.items:
        if it.id in not_applicable:
            continue
        prior = old.get(it.id)
        if everything:
            result.retest.append(f"{it.id}: {it.title}")
        elif prior is None:
            result.retest.append(f"{it.id}: {it.title} (not covered by the report)")
        elif prior.get("verdict") != CONFORM:
            result.retest.append(f"{it.id}: {it.title} (the report says {prior.get('verdict')})")
    return result
