"""Report commands: record, waiver, report (create/render/refresh/sign/reopen/revise/submit/status/
check), verify, deadlines, and `lab init` (the lab configuration the report's identity and signatures
come from).

`harness report RUN` (the original command) still writes a run's report: the `report` group falls
back to `create` when its first word is not one of its subcommands.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from harness import clock
from harness.commands.common import BadInput, app, out
from harness.report import deadline, lifecycle, prior, records, verify, workflow


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
lab_app = typer.Typer(no_args_is_help=True, help="The lab configuration: identity, signatories, signing certificate.")
app.add_typer(lab_app, name="lab")


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
    if w.note:
        out.print(w.note)
    out.print(f"report {w.number} revision {w.revision}: {w.out_dir}")
    for kind in ("json", "html", "pdf", "html.en", "pdf.en", "html.zh", "pdf.zh", "manifest"):
        if kind in w.files:
            out.print(f"  {w.files[kind]}")


def _rebuilt(r: workflow.Rebuilt) -> None:
    for line in r.lines():
        out.print(line)


@report_app.command("create")
def report_create(
    run_id: Annotated[str, typer.Argument(help="the run (R-...)")],
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
    pdf: Annotated[bool, typer.Option(help="also render the PDF")] = True,
) -> None:
    """Write a new report (draft) of a run: JSON, HTML, PDF, evidence and manifest. For a run that has a
    report already, --lang adds that report's rendering in another language (same number)."""
    _written(workflow.create_report(run_id, lang, pdf=pdf))


@report_app.command("render")
def report_render(
    number: str,
    lang: Annotated[str, typer.Option(help="the language to add: en or zh")],
    revision: Annotated[int | None, typer.Option(help="default: the latest")] = None,
) -> None:
    """Add a rendering of a report in another language to its folder: the same report (same number,
    content and deadline); an approved revision's PDF is signed."""
    _written(workflow.render_language(number, lang, revision))


@report_app.command("refresh")
def report_refresh(
    number: str,
    lang: Annotated[str | None, typer.Option(help="change the draft's language: zh or en")] = None,
    revision: Annotated[int | None, typer.Option(help="default: the latest")] = None,
) -> None:
    """Rebuild a draft from the lab database (after `record` or `waiver add`) and re-render it."""
    r = workflow.refresh(number, revision, lang)
    out.print(f"report {r.number} revision {r.revision} rebuilt: {r.out_dir}")
    _print_unfinished(r.content)


def _print_unfinished(content: dict[str, Any]) -> None:
    from harness.report.conclusion import unfinished

    missing = unfinished(content)
    if missing:
        out.print(f"{len(missing)} item(s) without a final verdict: {', '.join(missing)}")


@report_app.command("sign")
def report_sign(
    number: str,
    role: Annotated[str, typer.Option(help="prepared | reviewed | approved (in that order)")],
    name: Annotated[str, typer.Option(help="the signer")],
    at: Annotated[str | None, typer.Option(help="when (ISO date-time, lab time zone; default now)")] = None,
    revision: Annotated[int | None, typer.Option(help="default: the latest")] = None,
) -> None:
    """Sign a report: prepared, then reviewed, then approved, each by a person the lab configuration
    names for that role, never one person twice. An approved report never changes; its PDF carries
    the lab's digital signature."""
    r = lifecycle.sign(number, role, name, _datetime(at, "--at"), revision)
    out.print(f"report {r.number} revision {r.revision}: {role} by {name}; status {r.status}")
    if r.status == "approved":
        out.print(f"content SHA-256 {r.content_sha256}; signed PDF {Path(r.out_dir) / 'report.pdf'}")


@report_app.command("reopen")
def report_reopen(number: str) -> None:
    """Withdraw the signatures of a revision not yet approved, to correct it."""
    r = lifecycle.reopen(number)
    out.print(f"report {r.number} revision {r.revision} is a draft again")


@report_app.command("revise")
def report_revise(
    number: str,
    reason: Annotated[str, typer.Option(help="why the approved revision is replaced")],
    run: Annotated[str | None, typer.Option(help="build from this run (default: the replaced revision's)")] = None,
    lang: Annotated[str | None, typer.Option(help="zh or en (default: the replaced revision's)")] = None,
    reason_en: Annotated[str | None, typer.Option(help="the reason in English, for the English rendering")] = None,
) -> None:
    """A correction of an approved report: the same number, the next revision, naming what it replaces."""
    _written(lifecycle.revise(number, reason, run, lang, reason_en))


@report_app.command("submit")
def report_submit(
    number: str,
    on: Annotated[str | None, typer.Option(help="when it was submitted (ISO date/time, lab time; default now)")] = None,
    by: Annotated[str, typer.Option(help="who submitted it")] = "",
    revision: Annotated[int | None, typer.Option(help="default: the latest approved")] = None,
) -> None:
    """Mark an approved report as submitted to the certification body (not dated before its approval)."""
    r = lifecycle.submit(number, _datetime(on, "--on"), by, revision)
    out.print(f"report {r.number} revision {r.revision} submitted")


@report_app.command("status")
def report_status(number: str) -> None:
    """A report's revisions, signatures and what still lacks a verdict."""
    rows = lifecycle.status(number)
    for st in rows:
        out.print(
            f"{st.number} revision {st.revision}: {st.status}; run {st.run_id}; due {st.due}; "
            f"renderings {', '.join(st.languages)}; {st.out_dir}"
        )
        for action, who, when in st.events:
            out.print(f"  {action:9} {who}  {clock.iso(when)}")
        if st.unfinished:
            out.print(f"  {len(st.unfinished)} without a final verdict: {', '.join(st.unfinished)}")


@report_app.command("check")
def report_check(
    report: Annotated[Path, typer.Argument(help="the earlier report: its folder (preferred) or its report.json")],
    spec: Annotated[Path, typer.Option(help="the sample's current spec")],
    today: Annotated[str | None, typer.Option(help="judge as of this date (default today)")] = None,
) -> None:
    """Judge an earlier report an applicant offers: first its folder's manifest, then whether it was
    superseded, its age, the product's identity and the coverage of the basis; list what to retest.
    Answers in the report's language. Exit 0: acceptable as it is; 1: not (or only in part); 2: bad input."""
    if not report.exists():
        raise BadInput(f"{report}: no such file or folder")
    res = prior.check_prior(report, spec, _date(today, "--today"))
    zh = res.language == "zh"
    issued, until = res.issued or "-", res.valid_until or "-"
    rev = f"（第 {res.revision} 版）" if zh and res.revision else f" revision {res.revision}" if res.revision else ""
    out.print(
        f"报告 {res.number}{rev}：签发 {issued}，有效至 {until}"
        if zh
        else f"report {res.number}{rev}: issued {issued}, valid until {until}"
    )
    if res.verification is not None and res.verification.ok:
        out.print("报告文件夹校验通过" if zh else "the report folder verifies against its manifest")
    for f in res.findings:
        out.print(f"{'问题' if zh else 'finding'}{'：' if zh else ': '}{f[res.language]}")
    if res.retest:
        out.print(f"须重新检测的项目（{len(res.retest)} 项）：" if zh else f"to test again ({len(res.retest)}):")
        for line in res.retest:
            out.print(f"  {line}")
    if res.acceptable:
        out.print(
            "可以接受：报告覆盖当前检测依据对该版本的全部适用条款"
            if zh
            else "acceptable: it covers every applicable clause of the current basis for this version"
        )
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
    reference: Annotated[
        str | None, typer.Option(help="the reviewed document and section, e.g. '《应急预案》v2.1 第 3 章'")
    ] = None,
    no_evidence: Annotated[
        str | None, typer.Option(help="why there is no evidence (instead of a file or reference)")
    ] = None,
    note_en: Annotated[str | None, typer.Option(help="the note in English, for the English rendering")] = None,
    revise: Annotated[
        str | None, typer.Option(help="the run's report is approved: open its next revision, for this reason")
    ] = None,
) -> None:
    """Enter the verdict of a document-review or semi-automated item of a run, with what backs it.
    Rebuilds the run's draft reports and says which reports it did not change; refused on a run whose
    report is approved, unless --revise opens the report's next revision."""
    rec, rebuilt = records.record(
        run_id,
        item,
        verdict,
        note,
        engineer,
        evidence or [],
        reference=reference,
        no_evidence=no_evidence,
        note_en=note_en,
        revise_reason=revise,
    )
    missing = records.pending_items(run_id)
    backing = (
        f"{len(rec.evidence)} evidence file(s)"
        if rec.evidence
        else rec.reference or f"no evidence: {rec.no_evidence_reason}"
    )
    out.print(f"recorded {rec.item_id} = {rec.verdict} by {rec.engineer} ({backing})")
    _rebuilt(rebuilt)
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
    expires: Annotated[str, typer.Option(help="expiry date (YYYY-MM-DD); an expired one is refused")],
    approved_on: Annotated[str | None, typer.Option(help="approval date (default today)")] = None,
    run: Annotated[str | None, typer.Option(help="scope: this run")] = None,
    sample: Annotated[str | None, typer.Option(help="scope: this sample (every run of it)")] = None,
    justification_en: Annotated[str | None, typer.Option(help="the justification in English")] = None,
) -> None:
    """Record an approved waiver or deviation; the report shows it, never as a pass. Rebuilds the draft
    reports it touches and says which it did not."""
    exp = _date(expires, "--expires")
    assert exp is not None
    w, rebuilt = records.add_waiver(
        clause,
        kind,
        justification,
        approved_by,
        exp,
        _date(approved_on, "--approved-on"),
        run,
        sample,
        justification_en,
    )
    out.print(f"{w.kind} {w.id} on {w.clause_id}: approved by {w.approved_by} {w.approved_on}, expires {w.expires}")
    _rebuilt(rebuilt)


@waiver_app.command("list")
def waiver_list() -> None:
    """The waivers and deviations on record."""
    today = clock.today()
    for w in records.list_waivers():
        scope = f"run {w.run_id}" if w.run_id else f"sample {w.sample_id}"
        state = "in force" if w.approved_on <= today <= w.expires else "expired" if w.expires < today else "not yet"
        out.print(
            f"{w.id:>4}  {w.clause_id:<24}{w.kind:<10}{scope:<32}approved by {w.approved_by} on {w.approved_on}, "
            f"expires {w.expires} ({state}): {w.justification}"
        )


@app.command("verify")
def verify_cmd(report_dir: Annotated[Path, typer.Argument(help="a report folder (…/FTL-YYYY-NNNN-rN)")]) -> None:
    """Recompute a report folder's manifest; list changed, missing and added files; check an approved
    report's PDF signature against the lab's certificate, and the run's record against the verdict
    chain the report fixed when it was built.
    Exit 0: intact; 1: verification failed; 2: bad input."""
    res = verify.verify(report_dir)
    for p in res.changed:
        out.print(f"changed: {p}")
    for p in res.missing:
        out.print(f"missing: {p}")
    for p in res.added:
        out.print(f"added: {p}")
    for p in res.problems:
        out.print(f"problem: {p}")
    for line in res.signatures:
        out.print(line)
    if res.record:
        out.print(res.record)
    if res.superseded_by:
        out.print(f"note: superseded by {res.superseded_by}")
    if not res.ok:
        out.print(f"FAILED: {res.number} revision {res.revision} does not match {res.against}")
        raise typer.Exit(1)
    out.print(f"verified: {res.number} revision {res.revision} matches {res.against} (manifest {res.digest})")


@app.command("deadlines")
def deadlines_cmd(
    soon: Annotated[int, typer.Option(help="flag as due soon within this many working days")] = 2,
    today: Annotated[str | None, typer.Option(help="as of this date (default today)")] = None,
) -> None:
    """Open (not yet submitted) reports with their due dates; flags the overdue and the due soon, and
    names what it cannot compute (a year without calendar data) instead of guessing."""
    if soon < 0:
        raise BadInput("--soon: a number of working days, 0 or more")
    rows = deadline.deadlines(_date(today, "--today"), soon)
    if not rows:
        out.print("no open reports")
        return
    out.print(f"{'report':<16}{'rev':>4}  {'status':<10}{'completed':<12}{'due':<12}{'left':>5}  {'flag':<9}sample")
    for d in rows:
        flag = d.flag.upper() if d.flag in ("overdue", "due-soon") else d.flag
        left = "?" if d.left is None else str(d.left)
        due = "?" if d.due is None else str(d.due)
        out.print(
            f"{d.number:<16}{d.revision:>4}  {d.status:<10}{d.completed!s:<12}{due:<12}{left:>5}  {flag:<9}{d.sample}"
            + (f"  ({d.note})" if d.note else "")
        )


@lab_app.command("init")
def lab_init(
    force: Annotated[bool, typer.Option(help="replace an existing lab configuration")] = False,
) -> None:
    """Create the lab configuration (lab_env/lab.yaml, or HARNESS_LAB_CONFIG) from the example, with a
    lab-made test certificate for signing reports. Edit it: name, address, accreditation, people."""
    from harness.report.setup import init_lab_config

    path, made = init_lab_config(force=force)
    out.print(f"lab configuration {'written' if made else 'already there (kept)'}: {path}")


@lab_app.command("show")
def lab_show() -> None:
    """The lab configuration in force: identity, signatories by role, signing certificate."""
    from harness.config import lab_identity

    ident = lab_identity()
    out.print(f"{ident.path}")
    out.print(f"  {ident.name} / {ident.name_en}; {ident.address}; accreditation {ident.accreditation}")
    out.print(f"  tests done at: {ident.location}; time zone {ident.time_zone}")
    for role in ("prepared", "reviewed", "approved"):
        out.print(f"  {role}: {', '.join(ident.who_may(role)) or '-'}")
    out.print(f"  signing certificate: {ident.resolve(ident.signing.certificate)}")
