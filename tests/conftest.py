"""The harness's own tests. Each test session gets a scratch lab (database, runs, reports)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "sample_specs"


@pytest.fixture(autouse=True)
def scratch_lab(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    lab = tmp_path_factory.getbasetemp() / "lab"
    monkeypatch.setenv("HARNESS_DATA_DIR", str(lab / "data"))
    monkeypatch.setenv("HARNESS_REPORTS_DIR", str(lab / "reports"))
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    return lab


def harness_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real `harness` command in a subprocess, as a lab engineer would."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
