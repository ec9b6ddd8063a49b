"""Bad samples and killed runs: a lab fault is an error verdict naming the cause, output is kept,
and nothing already recorded is lost."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from harness.config import lab_config
from harness.deploy.leftovers import pid_alive
from harness.intake import tree_sha256
from harness.store import Run, Verdict, session
from tests.conftest import ROOT, SPECS, harness_cli

START = (
    "exec python3 -m refpay serve --data-dir {workdir}/data --host {bind} --port {ports.https} "
    "--session-idle-timeout 8 --lockout-threshold 5"
)


def variant(tmp_path: Path, name: str, body: str) -> Path:
    """A variant of the reference spec. These tests are about deployment, not intake: the media
    entry carries the tree's current hash (tests/test_intake.py checks the real spec's hash)."""
    media = ROOT / "samples/refpay"
    p = tmp_path / f"{name}.yaml"
    p.write_text(
        f"extends: {SPECS / 'refpay.yaml'}\nmedia:\n  - {{path: {media}, sha256: '{tree_sha256(media)}'}}\n{body}",
        encoding="utf-8",
    )
    return p


def verdicts_of(run_id: str) -> list[Verdict]:
    with session() as s:
        return list(s.scalars(select(Verdict).where(Verdict.run_id == run_id)))


def errors_of(run_id: str) -> list[Verdict]:
    """When the sample cannot be deployed every check that would have looked at it is an error;
    only what the plan decided before deploying (not applicable, with its reason) is not."""
    vs = verdicts_of(run_id)
    assert {v.outcome for v in vs} <= {"error", "not_applicable"}, {v.outcome for v in vs}
    assert all(v.detail for v in vs if v.outcome == "not_applicable")
    return [v for v in vs if v.outcome == "error"]


def run_id_of(output: str) -> str:
    m = re.search(r"run (R-[\w-]+):", output)
    assert m, output
    return m.group(1)


def test_never_healthy_sample_gives_error_verdicts_naming_the_cause_and_keeps_output(tmp_path):
    spec = variant(
        tmp_path,
        "never-healthy",
        "deployment:\n"
        '  health: {url: "https://{host}:{ports.https}/no-such-health", expect_status: 200, timeout_s: 3}\n',
    )
    r = harness_cli("run", str(spec))
    assert r.returncode == 3, r.stdout + r.stderr  # a lab error, never a product failure
    run_id = run_id_of(r.stdout)
    vs = errors_of(run_id)
    assert vs and all("health check never passed" in v.detail for v in vs)
    kept = (lab_config().run_dir(run_id) / "deploy" / "process" / "deploy-error.txt").read_text()
    assert "no-such-health" in kept and "refpay" in kept  # the sample's own output is there
    report = json.loads((Path(r.stdout.strip().splitlines()[-1])).read_text())
    assert report["summary"]["不符合"] == 0
    assert "检测尚未完成" in report["conclusion"]["zh"]


def test_sample_that_exits_at_start_is_an_error_with_its_exit_output(tmp_path):
    spec = variant(tmp_path, "exits", 'deployment:\n  start: {run: "python3 -m refpay serve --no-such-flag"}\n')
    r = harness_cli("run", str(spec), "--no-report")
    assert r.returncode == 3
    vs = errors_of(run_id_of(r.stdout))
    assert vs and all("exited before it became healthy" in v.detail for v in vs)
    assert all("no-such-flag" in v.detail for v in vs)  # the output tail names what went wrong


def test_failing_install_step_is_an_error(tmp_path):
    spec = variant(tmp_path, "install", 'deployment:\n  install: [{run: "python3 -m refpay init"}]\n')
    r = harness_cli("run", str(spec), "--no-report")
    assert r.returncode == 3
    vs = errors_of(run_id_of(r.stdout))
    assert vs and all("install step exited" in v.detail for v in vs)


SLOW_SUITE = """
import time
import pytest

@pytest.mark.clause("5.txn.replay")
def test_quick(driver, evidence):
    r = driver.get_url("/", note="probe")
    evidence.observe(f"status {r.status_code}")

@pytest.mark.clause("5.txn.tamper")
def test_slow(deployment, evidence):
    time.sleep(60)
"""


def _start_run(spec: Path, tmp_path: Path) -> subprocess.Popen[str]:
    suite = tmp_path / "slow_suite" / "test_slow_suite.py"
    suite.parent.mkdir()
    suite.write_text(SLOW_SUITE)
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", str(spec), "--no-report", "--suite", str(suite)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _existing_runs() -> set[str]:
    with session() as s:
        return set(s.scalars(select(Run.id)))


def _wait_for_first_verdict(before: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run_id in _existing_runs() - before:
            if verdicts_of(run_id):
                return run_id
        time.sleep(0.2)
    raise AssertionError("no verdict recorded in time")


def _ledger_pgids() -> list[int]:
    d = lab_config().data_dir / "active"
    return [json.loads(p.read_text())["payload"]["pgid"] for p in d.glob("process-*.json")] if d.is_dir() else []


@pytest.mark.slow
def test_killed_harness_keeps_verdicts_and_the_next_start_cleans_up(tmp_path):
    # A slow check keeps the run busy long enough to kill it in the middle.
    before = _existing_runs()
    proc = _start_run(variant(tmp_path, "plain", ""), tmp_path)
    try:
        run_id = _wait_for_first_verdict(before)
        pgids = _ledger_pgids()
        assert pgids, "the running deployment is in the ledger"
        os.killpg(proc.pid, signal.SIGKILL)  # the harness dies without any cleanup
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    recorded = verdicts_of(run_id)
    assert recorded, "what was recorded before the kill is kept"
    # The sample's process group was in its own session: it survived the kill ...
    survivors = [g for g in pgids if pid_alive(g)]
    assert survivors
    # ... until the next start, which removes it and marks the dead run aborted.
    r = harness_cli("run", str(variant(tmp_path, "next", "")), "--no-report", "--only", "5.txn.replay")
    assert "killed leftover sample process group" in r.stdout
    time.sleep(0.2)
    assert not [g for g in survivors if pid_alive(g)]
    with session() as s:
        assert s.get(Run, run_id).status == "aborted"
    assert len(verdicts_of(run_id)) == len(recorded)


@pytest.mark.slow
def test_sigterm_tears_the_sample_down(tmp_path):
    before = _existing_runs()
    proc = _start_run(variant(tmp_path, "plain", ""), tmp_path)
    try:
        run_id = _wait_for_first_verdict(before)
        pgids = _ledger_pgids()
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out
    time.sleep(0.2)
    assert not [g for g in pgids if pid_alive(g)], "teardown ran on SIGTERM"
    assert not _ledger_pgids()
    with session() as s:
        assert s.get(Run, run_id).status == "aborted"


BROKEN_SUITE = """
import pytest
import no_such_module_in_this_lab  # noqa: F401

@pytest.mark.clause("5.txn.replay")
def test_never_runs(driver, evidence):
    pass
"""


def test_a_suite_that_does_not_load_is_a_lab_error_not_an_interruption(tmp_path):
    suite = tmp_path / "broken" / "test_broken.py"
    suite.parent.mkdir()
    suite.write_text(BROKEN_SUITE)
    r = harness_cli("run", str(variant(tmp_path, "b", "")), "--suite", str(suite), "--no-report")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "could not be loaded" in r.stdout and "no_such_module_in_this_lab" in r.stdout
