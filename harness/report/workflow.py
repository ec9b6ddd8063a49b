"""A run's report: written (numbered, its folder whole), rendered in another language, rebuilt while
it is a draft, and what a change to the lab record (a record, a waiver) does to the run's reports.

The signing lifecycle is harness.report.lifecycle; engineers' records and waivers are
harness.report.records; a folder's verification is harness.report.verify; judging an earlier report is
harness.report.prior. Every refusal is a ReportError naming what is wrong (exit 2); a folder the lab
cannot write is a LabError (exit 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from harness import clock, results
from harness.config import lab_config
from harness.report.build import build_content
from harness.report.folder import lab_signature, write_revision
from harness.report.labels import check_language
from harness.report.terms import ReportError
from harness.results import FROZEN, NewReport, ReportRecord, ReportStatus
from harness.results.content import ReportContent, Supersedes


@dataclass(frozen=True)
class WrittenReport:
    number: str
    revision: int
    out_dir: Path
    files: dict[str, Path]
    note: str = ""  # what the command did besides writing (e.g. "English rendering of ...")


def revisions(number: str) -> list[ReportRecord]:
    revs = results.revisions(number)
    if not revs:
        raise ReportError(f"no report {number!r} in the lab database ({lab_config().db_url})")
    return revs


def report_revision(number: str, revision: int | None = None) -> ReportRecord:
    """A revision of a report (the latest by default); ReportError naming the revisions there are."""
    revs = revisions(number)
    if revision is None:
        return revs[-1]
    for r in revs:
        if r.revision == revision:
            return r
    raise ReportError(f"report {number} has no revision {revision} (revisions: {[r.revision for r in revs]})")


def refuse_frozen(report: ReportRecord) -> None:
    if report.status in FROZEN:
        raise ReportError(
            f"report {report.label} is {report.status}: an approved report never changes; a correction is a "
            f"new revision: harness report revise {report.number} --reason TEXT"
        )


def rebuild(report: ReportRecord, language: str | None = None) -> ReportContent:
    """The revision's content built again from the lab record, keeping what it corrects."""
    content = build_content(report.run_id, report.number, report.revision, language or report.language)
    old = report.content.get("supersedes")
    content.supersedes = Supersedes.model_validate(old) if old else None
    return content


def create_report(run_id: str, language: str = "zh", pdf: bool = True) -> WrittenReport:
    """A new report (revision 1, draft) for a run: JSON, HTML, PDF, evidence and manifest. A run that
    already has a report gets that report's rendering in `language` instead (same number, no
    deadline of its own), or a refusal if it has that language already."""
    check_language(language)
    existing = results.reports_of_run(run_id)
    if existing:
        latest = existing[-1]
        if language in latest.languages:
            raise ReportError(
                f"run {run_id} already has report {latest.number} (revision {latest.revision}, {latest.status}, "
                f"in {language}): rebuild a draft with `harness report refresh {latest.number}`; a correction of "
                f"an approved report is `harness report revise {latest.number} --reason TEXT`"
            )
        return render_language(latest.number, language, pdf=pdf)
    content = build_content(run_id, "PENDING", 1, language)
    # The number is the lab record's (one atomic step, whoever else writes a report now).
    content.number = results.allocate_report_number(year=clock.today().year)
    truth = content.to_json()
    report = results.insert_report(
        NewReport(
            number=content.number,
            revision=1,
            run_id=run_id,
            kind=content.kind,
            language=language,
            languages=(language,),
            tests_completed=date.fromisoformat(content.dates.tests_completed),
            due=date.fromisoformat(content.dates.due) if content.dates.due else None,
            content=truth,
            content_sha256="",  # set once the folder is written
            out_dir=str(lab_config().reports_dir / f"{content.number}-r1"),
        )
    )
    try:
        written = write_revision(report, truth, pdf=pdf)
        results.store_written(report.id, *written.record(), expected=ReportStatus.DRAFT)
    except BaseException:
        results.delete_report(report.id)  # nothing of this report was written; its number goes back
        raise
    return WrittenReport(report.number, 1, Path(report.out_dir), written.files)


def render_language(number: str, language: str, revision: int | None = None, pdf: bool = True) -> WrittenReport:
    """Add a rendering of a report revision in another language to its folder: the same report (same
    number, content and deadline), the manifest renewed; an approved revision's PDF is signed."""
    check_language(language)
    report = report_revision(number, revision)
    if language in report.languages:
        raise ReportError(f"report {report.label} already has its {language} rendering")
    languages = (*report.languages, language)
    sign = lab_signature(number, report.revision, report.content) if report.status in FROZEN else None
    written = write_revision(report, report.content, languages, pdf, sign)  # the stored content, as it is
    results.store_written(report.id, *written.record(), expected=report.status, languages=languages)
    return WrittenReport(
        number,
        report.revision,
        Path(report.out_dir),
        written.files,
        note=f"{language} rendering of report {report.label} added (same number, no deadline of its own)",
    )


def refresh(number: str, revision: int | None = None, language: str | None = None, pdf: bool = True) -> ReportRecord:
    """Rebuild a draft from the lab record (after records or waivers) and re-render it."""
    if language:
        check_language(language)
    report = report_revision(number, revision)
    refuse_frozen(report)
    if report.status != ReportStatus.DRAFT:
        raise ReportError(
            f"report {report.label} is {report.status}: its content is fixed while it is signed; to change it, "
            f"reopen it first: harness report reopen {number}"
        )
    content = rebuild(report, language)
    languages = report.languages
    if language and language != report.language:
        languages = (language, *[x for x in report.languages if x != language])
    written = write_revision(report, content.to_json(), languages, pdf)
    return results.store_written(
        report.id, *written.record(), expected=ReportStatus.DRAFT, language=language or None, languages=languages
    )


# --- what a change to the lab record does to the run's reports ----------------------------------


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


def latest_of_run(run_id: str) -> list[ReportRecord]:
    """The latest revision of every report number built from the run."""
    latest: dict[str, ReportRecord] = {}
    for r in results.reports_of_run(run_id):
        latest[r.number] = r
    return list(latest.values())


def approved_reports_of(run_id: str) -> list[ReportRecord]:
    return [r for r in latest_of_run(run_id) if r.status in FROZEN]


def draft_reports_of(run_id: str) -> list[str]:
    return [r.number for r in latest_of_run(run_id) if r.status == ReportStatus.DRAFT]


def rebuild_drafts(run_ids: list[str]) -> Rebuilt:
    """Rebuild the drafts of these runs' reports; name the signed or approved ones that were not."""
    out = Rebuilt()
    for run_id in run_ids:
        for r in latest_of_run(run_id):
            if r.status == ReportStatus.DRAFT:
                refresh(r.number, r.revision)
                out.rebuilt.append(r.label)
            elif r.status in FROZEN:
                out.untouched.append(f"{r.label} is {r.status}: unchanged (a correction is `harness report revise`)")
            else:
                out.untouched.append(f"{r.label} is {r.status}: unchanged until reopened (`harness report reopen`)")
    return out
