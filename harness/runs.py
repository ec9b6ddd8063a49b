"""Opening a run for a sample: register it, describe where it runs, and open the run in the record."""

from __future__ import annotations

import contextlib
import platform
import sys
from importlib import metadata
from typing import Any

from harness.intake import register
from harness.results import RunRecord
from harness.results import open_run as _open_run
from harness.spec import LoadedSpec

_TOOLS = ("pytest", "requests", "sslyze", "scapy", "playwright", "bandit", "docker", "allure-pytest", "paramiko")


def tool_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _TOOLS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    with contextlib.suppress(metadata.PackageNotFoundError):
        out["harness"] = metadata.version("fintech-lab-harness")
    return out


def environment() -> dict[str, Any]:
    return {"host": platform.node(), "os": platform.platform(), "tools": tool_versions(), "argv": sys.argv[:1]}


def open_run(loaded: LoadedSpec, kind: str = "full", retest: dict[str, Any] | None = None) -> RunRecord:
    """Register the sample (intake; IntakeError on a bad submission) and open a run of it."""
    sample = register(loaded)
    return _open_run(sample.id, kind, environment(), retest)
