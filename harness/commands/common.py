"""What every command module shares: the app, the consoles, and the bad-input handler."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console

from harness.intake import IntakeError
from harness.plan import PlanError
from harness.report import ReportError
from harness.spec import SpecError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    help="Fintech type-test lab harness (JR/T 0199-2020).",
)
# soft_wrap: one problem stays one line, whatever the terminal width (CI logs, grep).
# Not on a terminal (CI, a pipe): no colour codes, and tables as wide as they need.
# emoji=False: "spec.yaml:100: ..." must not print as "spec.yaml💯 ...".
out = Console(highlight=False, emoji=False, soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True, highlight=False, emoji=False, soft_wrap=True, width=None if sys.stderr.isatty() else 240)


def fail(lines: list[str] | str, code: int = 2) -> NoReturn:
    for line in [lines] if isinstance(lines, str) else lines:
        err.print(f"error: {line}", markup=False)
    raise typer.Exit(code)


class BadInput(Exception):
    """Raised by library code for input problems that have no more specific type."""


@contextmanager
def bad_input() -> Iterator[None]:
    """Every input problem the library reports becomes clear lines on stderr and exit 2."""
    try:
        yield
    except SpecError as e:
        fail([str(p) for p in e.problems])
    except IntakeError as e:
        fail(str(e).splitlines())
    except PlanError as e:
        fail(e.problems)
    except (ReportError, BadInput) as e:
        fail(str(e).splitlines())
