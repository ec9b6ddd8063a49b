"""What every command module shares: the app and the consoles.

Errors are not handled here: a command raises (InputError, LabError, anything) and the one handler
in harness.cli turns it into lines on stderr and the exit code harness.errors gives it.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from harness.errors import EXIT_BAD_INPUT, InputError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain text too
    help="Fintech type-test lab harness (JR/T 0199-2020).",
)


def console(stderr: bool = False) -> Console:
    """Plain text, always: no markup, no emoji codes (`:100:` stays `:100:`), no highlighting.
    soft_wrap: one problem stays one line, whatever the terminal width (CI logs, grep). Not on a
    terminal (CI, a pipe): no colour codes, and tables as wide as they need."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(
        stderr=stderr,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
        width=None if stream.isatty() else 240,
    )


out = console()
err = console(stderr=True)


class BadInput(InputError):
    """An input problem the library reports that has no more specific type."""


def fail(lines: list[str] | str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """End a command with these lines on stderr: a finding, not a crash (e.g. regressions, exit 1)."""
    for line in [lines] if isinstance(lines, str) else lines:
        err.print(f"error: {line}")
    raise typer.Exit(code)
