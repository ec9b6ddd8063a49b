"""Runs in the lab database: opened before pytest starts, closed when it ends, marked aborted
when the harness that owned them is gone."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import sys
from importlib import metadata
from typing import Any

from sqlalchemy import select

from harness import clock
from harness.deploy.leftovers import pid_alive
from harness.intake import register
from harness.spec import LoadedSpec
from harness.store import Run, session

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
    return {
        "host": platform.node(),
        "os": platform.platform(),
        "tools": tool_versions(),
        "pid": os.getpid(),
        "argv": sys.argv[:1],
    }


def open_run(loaded: LoadedSpec, kind: str = "full", retest: dict[str, Any] | None = None) -> Run:
    sample = register(loaded)
    mark_abandoned_runs()
    started = clock.stamp()
    run = Run(
        id=f"R-{started:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}",
        sample_id=sample.id,
        kind=kind,
        started=started,
        status="running",
        environment=environment(),
        retest=retest,
    )
    with session() as s:
        s.add(run)
    return run


def close_run(run_id: str, status: str) -> None:
    with session() as s:
        run = s.get(Run, run_id)
        if run is not None and run.status == "running":
            run.status = status
            run.finished = clock.stamp()


def update_run(run_id: str, **fields: Any) -> None:
    with session() as s:
        run = s.get(Run, run_id)
        assert run is not None, run_id
        for k, v in fields.items():
            setattr(run, k, v)


def mark_abandoned_runs() -> list[str]:
    """Runs still 'running' whose harness process is gone were killed: say so, keep what they recorded."""
    ended = []
    with session() as s:
        for run in s.scalars(select(Run).where(Run.status == "running")):
            pid = int((run.environment or {}).get("pid", 0))
            if pid and not pid_alive(pid):
                run.status = "aborted"
                run.finished = run.finished or clock.stamp()
                ended.append(run.id)
    return ended
