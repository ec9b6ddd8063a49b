"""The real `harness` command, run in this process: the commands and the one handler of
harness.cli (harness.cli.report maps every ending to its lines and exit code), stdout and stderr
captured, and any exception that reached the handler kept, so a test sees a crash as a crash and
not only as "exit 3".

It does what harness.cli.main does, with the click command built once: typer rebuilds it on every
call (about 45 ms here), which a test running a thousand commands cannot afford."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from functools import cache

import click
import typer

from harness import cli


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    ended_by: list[BaseException] = field(default_factory=list)  # what reached harness.cli.report


@cache
def _command() -> click.Command:
    cli._load_commands()
    return typer.main.get_command(cli.app)


def run_harness(*args: str) -> CliResult:
    out, err = io.StringIO(), io.StringIO()
    ended_by: list[BaseException] = []
    with redirect_stdout(out), redirect_stderr(err):
        try:
            _command().main(args=list(args), prog_name="harness")
            code = 0
        except SystemExit as e:  # click's ending: usage errors 2, typer.Exit(n) n
            code = e.code if isinstance(e.code, int) else 0 if e.code is None else 1
        except BaseException as e:  # noqa: BLE001 - as harness.cli.main: every ending gets its exit code
            ended_by.append(e)
            code = cli.report(e)
    return CliResult(code, out.getvalue(), err.getvalue(), ended_by)
