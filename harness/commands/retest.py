"""Change analysis, retests and surveillance: `harness diff`, `harness retest`, `harness surveil`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from harness.commands.common import app, fail, out
from harness.config import lab_config
from harness.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_PRODUCT_FAIL
from harness.retest.diff import Analysis, analyse, load_description, load_version
from harness.retest.supplementary import retest
from harness.retest.surveillance import surveil


def print_analysis(a: Analysis) -> None:
    out.print(f"baseline: {a.baseline}")
    out.print(f"changed:  {a.changed}")
    for c in a.changes:
        source = ("observed" if c.observed else "not observed") + (", declared" if c.declared else ", NOT DECLARED")
        major = " [MAJOR]" if c.major else ""
        out.print(f"- {c.kind}{major}: {c.subject}: {c.detail} ({source})")
        if c.clauses or c.why:
            out.print(f"    touches: {', '.join(c.clauses) or '-'}; why: {c.why}")
    for c in a.undeclared:
        out.print(f"FLAG undeclared change: {c.subject} ({c.detail})")
    for d in a.declared_not_observed:
        out.print(f"NOTE declared but not observed: {d.kind}: {d.description}")
    if a.full_retest:
        out.print("result: full retest (a major change is present)")
    elif a.impacted:
        out.print(f"result: retest {len(a.impacted)} items: {', '.join(a.impacted)}")
    else:
        out.print("result: no clause touched; the baseline's verdicts carry over")


@app.command()
def diff(
    baseline: Annotated[str, typer.Argument(help="the certified version: a spec file, a report number or a sample ID")],
    changed: Annotated[str, typer.Argument(help="the changed version: a spec file (or report number / sample ID)")],
    description: Annotated[Path | None, typer.Option(help="the holder's change description (YAML)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the analysis as JSON")] = False,
) -> None:
    """Compare a certified sample with a changed one: each change, the clauses it touches and why."""
    desc = load_description(description) if description else None
    analysis = analyse(load_version(baseline), load_version(changed), desc)
    if as_json:
        out.print(json.dumps(analysis.to_json(), ensure_ascii=False, indent=2))
    else:
        print_analysis(analysis)


def _keep(run_id: str, report_dir: Path | None, out_dir: Path) -> None:
    """CI artifacts: the JUnit XML, the allure results, and the report folder with its evidence."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = lab_config().run_dir(run_id)
    if (run_dir / "junit.xml").is_file():
        shutil.copy2(run_dir / "junit.xml", out_dir / "junit.xml")
    if (run_dir / "allure-results").is_dir():
        shutil.copytree(run_dir / "allure-results", out_dir / "allure-results", dirs_exist_ok=True)
    if report_dir is not None:
        shutil.copytree(report_dir, out_dir / "report", dirs_exist_ok=True)


@app.command("retest")
def retest_cmd(
    baseline: Annotated[str, typer.Argument(help="the certified report's number")],
    changed: Annotated[Path, typer.Argument(help="the changed sample's spec")],
    description: Annotated[Path | None, typer.Option(help="the holder's change description (YAML)")] = None,
    backend: Annotated[str | None, typer.Option(help="process | container | terminal")] = None,
    full: Annotated[bool, typer.Option(help="rerun every check whatever the analysis says")] = False,
    ci: Annotated[bool, typer.Option(help="non-interactive: no PDF, one summary line, artifacts in --out")] = False,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="copy JUnit XML, allure results and the report here")
    ] = None,
) -> None:
    """Rerun only the checks a change touches, carry the other verdicts from the certified report, and
    write the supplementary report. Exit 0 pass, 1 product failure, 2 bad input, 3 lab error."""
    desc = load_description(description) if description else None
    outcome = retest(baseline, changed, desc, backend=backend, full=full, pdf=not ci)
    if not ci:
        print_analysis(outcome.analysis)
    r = outcome.result
    if r.exit_code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED):
        raise typer.Exit(r.exit_code)
    scope = "full" if outcome.analysis.full_retest or full else f"{len(outcome.analysis.impacted)} items"
    report = outcome.report
    line = f"retest of {outcome.analysis.changed} against {baseline} ({scope}): {r.summary_line()}"
    if report is not None:
        line += f"; supplementary report {report.number}"
    out.print(line)
    if out_dir is not None:
        _keep(r.run_id, report.out_dir if report else None, out_dir)
        (out_dir / "summary.txt").write_text(line + "\n", encoding="utf-8")
    raise typer.Exit(r.exit_code)


@app.command("surveil")
def surveil_cmd(
    baseline: Annotated[str, typer.Argument(help="the certified report's number")],
    spec: Annotated[Path, typer.Argument(help="the spec of the newly drawn sample")],
    backend: Annotated[str | None, typer.Option(help="process | container | terminal")] = None,
) -> None:
    """Rerun the certified plan on a newly drawn sample; list what differs and what regressed
    (exit 1 when anything regressed)."""
    outcome = surveil(baseline, spec, backend=backend)
    if outcome.result.exit_code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED):
        raise typer.Exit(outcome.result.exit_code)
    path = lab_config().run_dir(outcome.result.run_id) / "surveillance.json"
    path.write_text(json.dumps(outcome.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    for d in outcome.differences:
        mark = "REGRESSED" if d.regressed else "differs"
        out.print(f"{mark}: {d.item_id}: certified {d.certified}, now {d.now}")
    out.print(
        f"surveillance of {baseline}: {len(outcome.differences)} differ, {len(outcome.regressions)} regressed; "
        f"{outcome.result.summary_line()}; {path}"
    )
    if outcome.regressions:
        fail([f"regressed: {d.item_id}" for d in outcome.regressions], code=EXIT_PRODUCT_FAIL)
