"""Imports every backend module so each registers itself. A new backend is one file and one line."""

from harness.deploy import (
    container,  # noqa: F401
    process,  # noqa: F401
    terminal,  # noqa: F401
)
