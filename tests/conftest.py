"""The harness's own tests. Each test session gets a scratch lab (database, runs, reports)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "sample_specs"


@pytest.fixture(scope="session", autouse=True)
def scratch_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Session-wide, so fixtures of any scope (a module's baseline run) write to the scratch lab."""
    lab = tmp_path_factory.getbasetemp() / "lab"
    saved = {k: os.environ.get(k) for k in ("HARNESS_DATA_DIR", "HARNESS_REPORTS_DIR", "HARNESS_DB_URL")}
    os.environ["HARNESS_DATA_DIR"] = str(lab / "data")
    os.environ["HARNESS_REPORTS_DIR"] = str(lab / "reports")
    os.environ.pop("HARNESS_DB_URL", None)
    yield lab
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


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


# Parallel runs (pytest -n N --dist loadgroup): a module runs on one worker (its module-scoped
# fixtures, such as a baseline run, are built once), and the modules that use the stand-in
# terminals share one worker, since some of their tests stop a stand-in on purpose.
_STANDIN_MODULES = {"test_terminal_backend.py", "test_matrix.py", "test_campaign.py"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full-calibration",
        action="store_true",
        help="also run the full calibration: the public applications' runs marked ci: false in their ground"
        " truth, and the reference sample's suites with one planted defect at a time",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "full_calibration: a run of the full calibration only (--full-calibration)")
    # xdist orders the groups by their number of tests unless told not to; the order that matters
    # here is by time (pytest_collection_modifyitems below).
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


@pytest.hookimpl(tryfirst=True)  # before xdist's worker hook turns the mark into the scheduling group
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--full-calibration"):
        left_out = [i for i in items if i.get_closest_marker("full_calibration") is not None]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [i for i in items if i not in left_out]
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue  # a test that names its own group (one public application's run each)
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group("standins" if name in _STANDIN_MODULES else name))
    # xdist hands the groups out in the order collected: the longest first, so that none of them
    # starts last and runs on alone (the report tests' group alone takes about a third of the run).
    items.sort(key=lambda i: _first_rank(_group_of(i)))


# The groups that take longest on one worker, longest first (measured: README, "The harness's own
# tests"); a group not named keeps its place after them.
_LONGEST_FIRST = (
    "test_report_workflow.py",
    "standins",
    "test_retest.py",
    "test_second_sample.py",
    "test_functional.py",
    "test_service_suite.py",
    "test_run_failures.py",
    "public-ihatemoney-4.1.4",
    "test_network_suite.py",
    "public-octoprint-1.8.2",
    "public-kinto-8.2.0",
    "public-kinto-26.5.0",
)


def _group_of(item: pytest.Item) -> str:
    mark = item.get_closest_marker("xdist_group")
    return str(mark.args[0]) if mark is not None and mark.args else ""


def _first_rank(group: str) -> int:
    return _LONGEST_FIRST.index(group) if group in _LONGEST_FIRST else len(_LONGEST_FIRST)
