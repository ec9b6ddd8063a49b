"""Core commands: intake, samples, spec, run, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from harness import results
from harness.commands.common import app, fail, out
from harness.config import lab_config
from harness.errors import HarnessError, exit_code_of
from harness.files import FileRefused
from harness.intake import check_intake, register, tree_sha256
from harness.report import create_report
from harness.spec import load_spec


@app.command()
def intake(spec: Annotated[Path, typer.Argument(help="the sample spec (YAML)")]) -> None:
    """Check a submission for completeness and consistency, and register it."""
    sample = register(load_spec(spec))
    out.print(
        f"registered {sample.id}: {sample.name} {sample.version}, "
        f"received {sample.received}, kept until {sample.retain_until}"
    )


@app.command()
def init() -> None:
    """Create the lab database where there is none (or bring an existing one up to date). A harness
    never creates one by itself except in a new data directory, so a lab database that went missing
    is noticed instead of silently replaced by an empty one."""
    results.open_lab(create=True)
    cfg = lab_config()
    out.print(f"lab database ready: {results.db.shown_url(cfg.db_url)} (data directory {cfg.data_dir})")


@app.command()
def samples() -> None:
    """List the registered samples."""
    rows = results.list_samples()
    t = Table("ID", "name", "version", "applicant", "received", "kept until", "status")
    for r in rows:
        t.add_row(r.id, r.name, r.version, r.applicant, str(r.received), str(r.retain_until), r.status)
    out.print(t)


spec_app = typer.Typer(no_args_is_help=True, help="Work with sample specs.")
app.add_typer(spec_app, name="spec")


@spec_app.command("check")
def spec_check(spec: Path) -> None:
    """Validate a spec and its submission without registering it."""
    from harness.drivers.validate import driver_problems

    loaded = load_spec(spec)
    problems = check_intake(loaded)  # each names the spec file and line that wrote its field
    driver = driver_problems(loaded)
    if problems or driver:
        fail([str(p) for p in problems] + [str(p) for p in driver])
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
    """Intake, plan, deploy and check a sample; record every verdict; write the report.
    Exit 0 pass, 1 product failure, 2 bad input, 3 lab error, 130 interrupted."""
    from harness.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED
    from harness.run import run_sample

    result = run_sample(spec, backend=backend, only=only.split(",") if only else None, suites=suite)
    if result.exit_code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED) or not report:
        out.print(result.summary_line())
        raise typer.Exit(result.exit_code)
    # The report is written before the run's line is printed: a report that cannot be written (a
    # read-only or full reports folder) makes the run's exit code the report's error, never "exit 0" first.
    try:
        written = create_report(result.run_id, lang)
    except HarnessError as e:
        result.exit_code = exit_code_of(e)
        out.print(f"{result.summary_line()}; the run's report was not written")
        raise  # the one handler (harness.cli) says why, with this exit code
    out.print(result.summary_line())
    out.print(f"report {written.number}: {written.files['html']}")
    out.print(str(written.files["json"]))
    raise typer.Exit(result.exit_code)
