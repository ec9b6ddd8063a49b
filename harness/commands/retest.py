"""Change analysis and retests: `harness diff`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from harness.commands.common import app, bad_input, out
from harness.retest.diff import Analysis, analyse, load_description, load_version


def print_analysis(a: Analysis) -> None:
    out.print(f"baseline: {a.baseline}")
    out.print(f"changed:  {a.changed}")
    for c in a.changes:
        source = ("observed" if c.observed else "not observed") + (", declared" if c.declared else ", NOT DECLARED")
        major = " [MAJOR]" if c.major else ""
        out.print(f"- {c.kind}{major}: {c.subject}: {c.detail} ({source})", markup=False)
        if c.clauses or c.why:
            out.print(f"    touches: {', '.join(c.clauses) or '-'}; why: {c.why}", markup=False)
    for c in a.undeclared:
        out.print(f"FLAG undeclared change: {c.subject} ({c.detail})", markup=False)
    for d in a.declared_not_observed:
        out.print(f"NOTE declared but not observed: {d.kind}: {d.description}", markup=False)
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
    with bad_input():
        desc = load_description(description) if description else None
        analysis = analyse(load_version(baseline), load_version(changed), desc)
    if as_json:
        out.print(json.dumps(analysis.to_json(), ensure_ascii=False, indent=2), markup=False)
    else:
        print_analysis(analysis)
