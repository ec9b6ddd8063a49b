"""Run integrity (issue #15): never certify the wrong thing. Another service answering on the
sample's port, a sample that dies mid-run, a second SIGTERM during teardown, a full or unwritable
data disk: each ends with the right verdicts, the right exit code, the run marked as what it was,
and no sample left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import results
from harness.deploy.leftovers import pid_alive
from harness.results import Outcome, RunStatus
from tests.conftest import ROOT, harness_cli
from tests.test_run_failures import (
    _existing_runs,
    _ledger_pgids,
    _start_run,
    _wait_for_first_verdict,
    run_id_of,
    variant,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def squatter(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """Another service on the port: answers 200 to anything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_port_held_by_another_service_is_a_deploy_error_naming_the_holder(tmp_path):
    # The port the harness picked was taken by another service before the sample bound it (or a
    # spec fixed a port that is in use): the health check gets an answer, but not from the sample.
    port = _free_port()
    spec = variant(
        tmp_path,
        "squatted",
        'deployment:\n  start: {run: "exec sleep 60"}\n'
        '  health: {url: "http://{host}:{ports.https}/", expect_status: 200, timeout_s: 10}\n',
    )
    code = (
        "import sys; import harness.deploy.process as p; p.free_port = lambda host='127.0.0.1': "
        f"{port}; from harness.cli import main; main(sys.argv[1:])"
    )
    with squatter(port) as other:
        r = subprocess.run(
            [sys.executable, "-c", code, "run", str(spec), "--no-report"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert r.returncode == 3, r.stdout + r.stderr
    vs = results.verdicts_of(run_id_of(r.stdout))
    errors = [v for v in vs if v.outcome == Outcome.ERROR]
    assert errors and all(v.outcome in (Outcome.ERROR, Outcome.NOT_APPLICABLE) for v in vs)
    assert all(f"held by pid {other.pid} (" in v.detail and "http.server" in v.detail for v in errors)
    assert not _ledger_pgids(), "the sample (sleep) was torn down"


KILLER_SUITE = """
import os
import signal
import pytest


@pytest.mark.clause("5.txn.replay")
def test_first(driver, evidence):
    r = driver.get_url("/", note="probe")
    evidence.observe(f"status {r.status_code}")


@pytest.mark.clause("5.txn.tamper")
def test_the_sample_crashes(deployment, evidence):
    os.killpg(deployment.proc.pid, signal.SIGKILL)
    deployment.proc.wait()
    evidence.observe("no listening port")  # what a check sees on a dead sample; it must not pass


@pytest.mark.clause("5.txn.amount")
def test_after(driver, evidence):
    r = driver.get_url("/", note="probe")
    evidence.observe(f"status {r.status_code}")
"""


def test_a_sample_that_dies_mid_run_turns_every_later_verdict_into_an_error(tmp_path):
    suite = tmp_path / "killer" / "test_killer.py"
    suite.parent.mkdir()
    suite.write_text(KILLER_SUITE)
    r = harness_cli("run", str(variant(tmp_path, "dies", "")), "--suite", str(suite), "--no-report")
    assert r.returncode == 3, r.stdout + r.stderr
    assert r.stdout.count("is no longer running") == 1, r.stdout  # said once, not per check
    run_id = run_id_of(r.stdout)
    by_name = {v.check_id.split("::")[-1]: v for v in results.verdicts_of(run_id)}
    assert by_name["test_first"].outcome == Outcome.PASS
    for name in ("test_the_sample_crashes", "test_after"):
        v = by_name[name]
        assert v.outcome == Outcome.ERROR and v.detail.startswith("样品已停止运行（退出状态 -9）"), v.detail
    run = results.get_run(run_id)
    assert run is not None and run.status == RunStatus.FINISHED
    assert [d["died"]["exit_status"] for d in run.deployments if "died" in d] == [-9]


@pytest.mark.slow
def test_a_second_sigterm_during_teardown_leaves_the_run_aborted(tmp_path):
    before = _existing_runs()
    proc = _start_run(variant(tmp_path, "twice", ""), tmp_path)
    try:
        run_id = _wait_for_first_verdict(before)
        pgids = _ledger_pgids()
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, out
    assert "SystemError" not in out and "INTERNALERROR" not in out, out
    assert "already stopping" in out
    time.sleep(0.2)
    assert not [g for g in pgids if pid_alive(g)], "teardown ran to its end"
    run = results.get_run(run_id)
    assert run is not None and run.status == RunStatus.ABORTED, run
    assert "interrupted (SIGTERM)" in (run.end_reason or "")


@contextlib.contextmanager
def small_disk(path: Path, size: str, *options: str) -> Iterator[Path]:
    path.mkdir(parents=True)
    opts = ",".join((f"size={size}", *options))
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, f"these tests mount a small tmpfs (root needed): {r.stderr}"
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


FILLER_SUITE = """
import pytest


@pytest.mark.clause("5.txn.replay")
def test_fills_the_disk(driver, evidence):
    r = driver.get_url("/", note="probe")
    evidence.observe(f"status {r.status_code}")
    evidence.attach_text("a large capture", "x" * (12 << 20))


@pytest.mark.clause("5.txn.tamper")
def test_never_reached(driver, evidence):
    evidence.observe("reached")
"""


def test_a_full_data_disk_is_a_lab_error_the_run_aborted_and_the_sample_torn_down(tmp_path):
    suite = tmp_path / "filler" / "test_filler.py"
    suite.parent.mkdir()
    suite.write_text(FILLER_SUITE)
    db = tmp_path / "record" / "lab.db"  # the record on another disk: it can say what happened
    db.parent.mkdir()
    with small_disk(tmp_path / "disk", "8m") as data:
        env = {"HARNESS_DATA_DIR": str(data), "HARNESS_DB_URL": f"sqlite:///{db}"}
        r = harness_cli("run", str(variant(tmp_path, "full", "")), "--suite", str(suite), "--no-report", env=env)
        assert r.returncode == 3, r.stdout + r.stderr
        assert "INTERNALERROR" not in r.stdout + r.stderr
        assert "No space left on device" in r.stdout
        assert not list((data / "active").glob("process-*.json")), "the sample was torn down"
        run_id = run_id_of(r.stdout)
    from sqlalchemy import create_engine, text

    with create_engine(f"sqlite:///{db}").connect() as c:
        status, reason = c.execute(text("SELECT status, end_reason FROM runs WHERE id = :r"), {"r": run_id}).one()
        never = c.execute(text("SELECT count(*) FROM verdicts WHERE check_id LIKE '%never_reached%'")).scalar()
        filled = c.execute(text("SELECT outcome, detail FROM verdicts WHERE check_id LIKE '%fills_the_disk%'")).one()
    assert status == "aborted" and "No space left on device" in reason
    assert filled[0] == "error" and "No space left on device" in filled[1]  # still on record
    assert never == 0  # the run stopped instead of piling up errors


def test_an_unwritable_data_directory_is_one_clear_lab_error(tmp_path):
    with small_disk(tmp_path / "ro", "1m", "ro") as data:
        r = harness_cli("run", str(variant(tmp_path, "ro", "")), "--no-report", env={"HARNESS_DATA_DIR": str(data)})
    assert r.returncode == 3, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Read-only file system" in lines[0], r.stderr
