"""The `harness` command: a thin face over the library. Each area's commands live in their own
module under harness/commands and register on the one app.

This is the one place a command's ending becomes an exit code (harness.errors decides which):
a HarnessError is its own lines on stderr; anything unexpected is one line, exit 3, with the
traceback kept in a log file under the lab data directory. Exit 1 is only ever a product failure.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from datetime import datetime
from pathlib import Path

from harness.commands import core
from harness.commands.common import app, err
from harness.errors import HarnessError, exit_code_of


def _load_commands() -> None:
    # One line per area. Importing a module registers its commands on `app`.
    from harness.commands import core as _core  # noqa: F401
    from harness.commands import reports as _reports  # noqa: F401
    from harness.commands import retest as _retest  # noqa: F401


def crash_log(exc: BaseException) -> Path:
    """Keep an unexpected exception's traceback: in the lab data directory, or the temporary
    directory when that cannot be written (a full or read-only disk is often why we crashed)."""
    from harness.config import lab_config

    name = f"crash-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
    text = f"harness {' '.join(sys.argv[1:])}\n" + "".join(traceback.format_exception(exc))
    for folder in (lab_config().data_dir / "logs", Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return Path("(nowhere: no writable folder for the log)")


def report(exc: BaseException) -> int:
    """Say why a command ended and return its exit code."""
    code = exit_code_of(exc)
    if isinstance(exc, KeyboardInterrupt):
        err.print("interrupted")
    elif isinstance(exc, HarnessError):
        for line in exc.lines():
            err.print(f"error: {line}")
    else:
        first = (str(exc).strip().splitlines() or [""])[0]
        what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        err.print(f"error: the harness failed unexpectedly (a lab error, not a product failure): {what}")
        err.print(f"error: the traceback is in {crash_log(exc)}")
    return code


def main(argv: list[str] | None = None) -> None:
    _load_commands()
    try:
        app(args=argv)  # click/typer exit through SystemExit: usage errors 2, typer.Exit(n) n
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the one handler: every ending gets its exit code
        sys.exit(report(e))
    sys.exit(0)


__all__ = ["app", "core", "crash_log", "main"]
