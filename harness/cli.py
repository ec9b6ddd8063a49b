"""The `harness` command: a thin face over the library. Each area's commands live in their own
module under harness/commands and register on the one app; bad input exits 2 with clear lines."""

from __future__ import annotations

import sys

from harness.commands import core
from harness.commands.common import app, err


def _load_commands() -> None:
    # One line per area. Importing a module registers its commands on `app`.
    from harness.commands import core as _core  # noqa: F401
    from harness.commands import reports as _reports  # noqa: F401
    from harness.commands import retest as _retest  # noqa: F401


def main() -> None:
    _load_commands()
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["app", "core", "main"]
