"""Report commands: record, waiver, report (create/refresh/sign/reopen/revise/submit/status/check),
verify, deadlines.

`harness report RUN` (the original command) still writes a run's report: the `report` group falls
back to `create` when its first word is not one of its subcommands.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from harness.commands.common import BadInput, app, bad_input, out
from harness.report import workflow


class _DefaultToCreate(typer.core.TyperGroup):
    """`harness report RUN ...` means `harness report create RUN ...`."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


report_app = typer.Typer(
    cls=_DefaultToCreate,
    no_args_is_help=True,
    help="Type-test reports: write, sign, revise, submit, check (`harness report RUN` writes a run's report).",
)
app.add_typer(report_app, name="report")
waiver_app = typer.Typer(no_args_is_help=True, help="Approved waivers and deviations of clauses.")
app.add_typer(waiver_app, name="waiver")


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{what} {text!r}: not a date (YYYY-MM-DD)") from None


def _datetime(text: str | None, what: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{what} {text!r}: not a date-time (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None


def _written(w: workflow.WrittenReport) -> None:
    out.print(f"report {w.number} revision {w.revision}: {w.out_dir}")
    for kind in ("json", "html", "pdf", "manifest"):
        if kind in w.files:
            out.print(f"  {w.files[kind]}")


@report_app.command("create")
def report_create(
    run_id: Annotated[str, typer.Argument(help="the run (R-...)")],
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
    pdf: Annotated[bool, typer.Option(help="also render the PDF")] = True,
) -> None:
    """Write a new report (draft) of a run: JSON, HTML, PDF, evidence and manifest."""
    with bad_input():
        _written(workflow.create_report(run_id, lang, pdf=pdf))


@report_app.command("refresh")
def report_refresh(
    number: str,
    lang: Annotated[str | None, typer.Option(help="change the draft's language: zh or en")] = None,
    revision: Annotated[int | None, typer.Option(help="default: the latest")] = None,
) -> None:
    """Rebuild a draft from the lab database (after `record` or `waiver add`) and re-render it."""
    with bad_input():
        r = workflow.refresh(number, revision, lang)
    out.print(f"report {r.number} revision {r.revision} rebuilt: {r.out_dir}")
    _print_unfinished(r.content)


def _print_unfinished(content: dict[str, Any]) -> None:
    from harness.report.build import unfinished

    missing = unfinished(content)
    if missing:
        out.print(f"{len(missing)} item(s) without a final verdict: {', '.join(missing)}")


@report_app.command("sign")
def report_sign(
    number: str,
    role: Annotated[str, typer.Option(help="prepared | reviewed | approved (in that order)")],
    name: Annotated[str, typer.Option(help="the signer")],
    at: Annotated[str | None, typer.Option(help="when (ISO date-time; default now)")] = None,
    revision: Annotated[int | None, typer.Option(help="default: the latest")] = None,
) -> None:
    """Sign a report: prepared, then reviewed, then approved. An approved report never changes."""
    with bad_input():
        r = workflow.sign(number, role, name, _datetime(at, "--at"), revision)
    out.print(f"report {r.number} revision {r.revision}: {role} by {name}; status {r.status}")
    if r.status == "approved":
        out.print(f"content SHA-256 {r.content_sha256}; {Path(r.out_dir) / 'report.pdf'}")


@report_app.command("reopen")
def report_reopen(number: str) -> None:
    """Withdraw the signatures of a revision not yet approved, to correct it."""
    with bad_input():
        r = workflow.reopen(number)
    out.print(f"report {r.number} revision {r.revision} is a draft again")


@report_app.command("revise")
def report_revise(
    number: str,
    reason: Annotated[str, typer.Option(help="why the approved revision is replaced")],
    run: Annotated[str | None, typer.Option(help="build from this run (default: the replaced revision's)")] = None,
    lang: Annotated[str | None, typer.Option(help="zh or en (default: the replaced revision's)")] = None,
) -> None:
    """A correction of an approved report: the same number, the next revision, naming what it replaces."""
    with bad_input():
        _written(workflow.revise(number, reason, run, lang))


@report_app.command("submit")
def report_submit(
    number: str,
    on: Annotated[str | None, typer.Option(help="when it was submitted (ISO date/time; default now)")] = None,
    by: Annotated[str, typer.Option(help="who submitted it")] = "",
    revision: Annotated[int | None, typer.Option(help="default: the latest approved")] = None,
) -> None:
    """Mark an approved report as submitted to the certification body."""
    with bad_input():
        r = workflow.submit(number, _datetime(on, "--on"), by, revision)
    out.print(f"report {r.number} revision {r.revision} submitted")


@report_app.command("status")
def report_status(number: str) -> None:
    """A report's revisions, signatures and what still lacks a verdict."""
    with bad_input():
        rows = workflow.status(number)
    for st in rows:
        out.print(f"{st.number} revision {st.revision}: {st.status}; run {st.run_id}; due {st.due}; {st.out_dir}")
        for action, who, when in st.events:
            out.print(f"  {action:9} {who}  {when:%Y-%m-%d %H:%M}")
        if st.unfinished:
            out.print(f"  {len(st.unfinished)} without a final verdict: {', '.join(st.unfinished)}")


@report_app.command("check")
def report_check(
    report_json: Annotated[Path, typer.Argument(help="the earlier report's report.json")],
    spec: Annotated[Path, typer.Option(help="the sample's current spec")],
    today: Annotated[str | None, typer.Option(help="judge as of this date (default today)")] = None,
) -> None:
    """Judge an earlier report an applicant offers: age, product version, coverage; list what to retest.
    Exit 0: acceptable as it is; 1: not (or only in part); 2: bad input."""
    with bad_input():
        if not report_json.is_file():
            raise BadInput(f"{report_json}: no such file")
        res = workflow.check_prior(report_json, spec, _date(today, "--today"))
    out.print(f"report {res.number}: issued {res.issued or '-'}, valid until {res.valid_until or '-'}")
    for f in res.findings:
        out.print(f"finding: {f}")
    if res.retest:
        out.print(f"to test again ({len(res.retest)}):")
        for line in res.retest:
            out.print(f"  {line}")
    if res.acceptable:
        out.print("acceptable: it covers every applicable clause of the current basis for this version")
        return
    raise typer.Exit(1)


@app.command("record")
def record_cmd(
    run_id: Annotated[str, typer.Argument(help="the run (R-...)")],
    item: Annotated[str, typer.Argument(help="the catalogue item (or use case) ID")],
    verdict: Annotated[str, typer.Option(help="符合 | 不符合 | 不适用 (or pass | fail | na)")],
    note: Annotated[str, typer.Option(help="what was reviewed or observed (the report's observed result)")],
    engineer: Annotated[str, typer.Option(help="who judged it")],
    evidence: Annotated[list[Path] | None, typer.Option(help="an evidence file (repeatable)")] = None,
) -> None:
    """Enter the verdict of a document-review or semi-automated item of a run."""
    with bad_input():
        rec = workflow.record(run_id, item, verdict, note, engineer, evidence or [])
        drafts = workflow.draft_reports_of(run_id)
        for number in drafts:
            workflow.refresh(number)
        missing = workflow.pending_items(run_id)
    out.print(f"recorded {rec.item_id} = {rec.verdict} by {rec.engineer} ({len(rec.evidence)} evidence file(s))")
    if drafts:
        out.print(f"draft report(s) rebuilt: {', '.join(drafts)}")
    if missing:
        out.print(f"still without a final verdict ({len(missing)}): {', '.join(missing)}")
    else:
        out.print("every applicable item of the run has a verdict")


@waiver_app.command("add")
def waiver_add(
    clause: Annotated[str, typer.Argument(help="the catalogue item ID")],
    kind: Annotated[str, typer.Option(help="waiver | deviation")],
    justification: Annotated[str, typer.Option(help="why")],
    approved_by: Annotated[str, typer.Option(help="who approved it")],
    expires: Annotated[str, typer.Option(help="expiry date (YYYY-MM-DD)")],
    approved_on: Annotated[str | None, typer.Option(help="approval date (default today)")] = None,
    run: Annotated[str | None, typer.Option(help="scope: this run")] = None,
    sample: Annotated[str | None, typer.Option(help="scope: this sample (every run of it)")] = None,
) -> None:
    """Record an approved waiver or deviation; the report shows it, never as a pass."""
    with bad_input():
        exp = _date(expires, "--expires")
        assert exp is not None
        w = workflow.add_waiver(
            clause, kind, justification, approved_by, exp, _date(approved_on, "--approved-on"), run, sample
        )
    out.print(f"{w.kind} {w.id} on {w.clause_id}: approved by {w.approved_by} {w.approved_on}, expires {w.expires}")


@waiver_app.command("list")
def waiver_list() -> None:
    """The waivers and deviations on record."""
    today = date.today()
    for w in workflow.list_waivers():
        scope = f"run {w.run_id}" if w.run_id else f"sample {w.sample_id}"
        state = "in force" if w.approved_on <= today <= w.expires else "expired" if w.expires < today else "not yet"
        out.print(
            f"{w.id:>4}  {w.clause_id:<24}{w.kind:<10}{scope:<32}approved by {w.approved_by} on {w.approved_on}, "
            f"expires {w.expires} ({state}): {w.justification}"
        )


@app.command("verify")
def verify_cmd(report_dir: Annotated[Path, typer.Argument(help="a report folder (…/FTL-YYYY-NNNN-rN)")]) -> None:
    """Recompute a report folder's manifest; list changed, missing and added files.
    Exit 0: intact; 1: verification failed; 2: bad input."""
    with bad_input():
        res = workflow.verify(report_dir)
    for p in res.changed:
        out.print(f"changed: {p}")
    for p in res.missing:
        out.print(f"missing: {p}")
    for p in res.added:
        out.print(f"added: {p}")
    for p in res.problems:
        out.print(f"problem: {p}")
    if not res.ok:
        out.print(f"FAILED: {res.number} revision {res.revision} does not match {res.against}")
        raise typer.Exit(1)
    out.print(f"verified: {res.number} revision {res.revision} matches {res.against} (manifest {res.digest})")


@app.command("deadlines")
def deadlines_cmd(
    soon: Annotated[int, typer.Option(help="flag as due soon within this many working days")] = 2,
    today: Annotated[str | None, typer.Option(help="as of this date (default today)")] = None,
) -> None:
    """Open (not yet submitted) reports with their due dates; flags the overdue and the due soon."""
    with bad_input():
        if soon < 0:
            raise BadInput("--soon: a number of working days, 0 or more")
        rows = workflow.deadlines(_date(today, "--today"), soon)
    if not rows:
        out.print("no open reports")
        return
    out.print(f"{'report':<16}{'rev':>4}  {'status':<10}{'completed':<12}{'due':<12}{'left':>5}  {'flag':<9}sample")
    for d in rows:
        flag = d.flag.upper() if d.flag in ("overdue", "due-soon") else d.flag
        left = "-" if d.left is None else str(d.left)
        out.print(
            f"{d.number:<16}{d.revision:>4}  {d.status:<10}{d.completed!s:<12}{d.due or '-'!s:<12}{left:>5}  "
            f"{flag:<9}{d.sample}"
        )
