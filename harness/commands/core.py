"""Core commands: intake, samples, spec, run, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from harness.commands.common import app, bad_input, fail, out
from harness.files import FileRefused
from harness.intake import check_intake, register, tree_sha256
from harness.report import create_report
from harness.spec import load_spec
from harness.store import Sample, session


@app.command()
def intake(spec: Annotated[Path, typer.Argument(help="the sample spec (YAML)")]) -> None:
    """Check a submission for completeness and consistency, and register it."""
    with bad_input():
        loaded = load_spec(spec)
        sample = register(loaded)
    out.print(
        f"registered {sample.id}: {sample.name} {sample.version}, "
        f"received {sample.received}, kept until {sample.retain_until}"
    )


@app.command()
def samples() -> None:
    """List the registered samples."""
    with session() as s:
        rows = list(s.scalars(select(Sample).order_by(Sample.id)))
    t = Table("ID", "name", "version", "applicant", "received", "kept until", "status")
    for r in rows:
        t.add_row(r.id, r.name, r.version, r.applicant, str(r.received), str(r.retain_until), r.status)
    out.print(t)


spec_app = typer.Typer(no_args_is_help=True, help="Work with sample specs.")
app.add_typer(spec_app, name="spec")


@spec_app.command("check")
def spec_check(spec: Path) -> None:
    """Validate a spec and its submission without registering it."""
    with bad_input():
        loaded = load_spec(spec)
        problems = check_intake(loaded)
    if problems:
        fail([str(p) for p in problems])
    out.print(f"{spec}: ok")


@spec_app.command("hash")
def spec_hash(paths: list[Path]) -> None:
    """Print the SHA-256 the spec's media entries need (a directory hashes as a tree)."""
    for p in paths:
        try:
            digest = tree_sha256(p)
        except FileRefused as e:
            fail(f"{p}: {e}")
        out.print(f"{digest}  {p}")


@spec_app.command("rehash")
def spec_rehash(specs: list[Path]) -> None:
    """Rewrite the media hashes of the lab's OWN specs (reference samples) after editing their media.
    Never use it on an applicant's spec: a declared hash that does not match is an intake finding."""
    import yaml

    for spec in specs:
        text = spec.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
        for m in data.get("media", []):
            try:
                new = tree_sha256((spec.parent / m["path"]).resolve())
            except FileRefused as e:
                fail(f"{spec}: media {m['path']}: {e}")
            if str(m["sha256"]) != new:
                text = text.replace(str(m["sha256"]), new)
                out.print(f"{spec}: {m['path']} -> {new}")
        spec.write_text(text, encoding="utf-8")


@app.command()
def run(
    spec: Path,
    backend: Annotated[str | None, typer.Option(help="process | container | terminal (default: the spec's)")] = None,
    only: Annotated[str | None, typer.Option(help="comma-separated clause IDs to run")] = None,
    report: Annotated[bool, typer.Option(help="write the report when the run ends")] = True,
    lang: Annotated[str, typer.Option(help="report language: zh or en")] = "zh",
    suite: Annotated[
        list[Path] | None, typer.Option(help="run only these suite files or folders (default: test_suites/)")
    ] = None,
) -> None:
    """Intake, plan, deploy and check a sample; record every verdict; write the report."""
    from harness.run import EXIT_BAD_INPUT, EXIT_INTERRUPTED, run_sample

    with bad_input():
        result = run_sample(spec, backend=backend, only=only.split(",") if only else None, suites=suite)
    out.print(result.summary_line())
    if result.exit_code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED):
        raise typer.Exit(result.exit_code)
    if report:
        with bad_input():
            written = create_report(result.run_id, lang)
        out.print(f"report {written.number}: {written.files['html']}")
        out.print(str(written.files["json"]))
    raise typer.Exit(result.exit_code)
