"""Campaigns on real lab hosts: a Redis broker of its own, the lab record on PostgreSQL, and two
worker processes standing in for hosts: host-a holds LT-POS-A1, host-b holds LT-POS-B2 (the
stand-in terminals of lab_env/standin_terminals.py), each with its own inventory and data
directory, both also running local-process jobs. Evidence reaches the campaign's host only through
the shared evidence store. Jobs use a few clauses of the reference sample, to stay quick."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import results
from harness.hosts.queue import configure, send_job
from harness.hosts.settings import host_settings
from harness.results import JobRecord, JobStatus, RunStatus
from tests.conftest import ROOT, SPECS
from tests.lab_hosts import Host, campaign, lab_env, redis_broker
from tests.lab_record import scratch_lab

ONLY = "5.txn.replay,5.txn.tamper,11.tls.protocol"  # a few quick checks: several verdicts a job
LEASE_S = 15  # short, so a dead host is noticed soon; nine missed heartbeats even so on a busy machine
pytestmark = [pytest.mark.slow, pytest.mark.terminal]


def _standins_up() -> bool:
    status = [sys.executable, str(ROOT / "lab_env/standin_terminals.py"), "status"]
    return subprocess.run(status, capture_output=True).returncode == 0


class Lab:
    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.root, self.env = root, env
        self.a = Host("host-a@lab", root / "host-a", env, ["LT-POS-A1"])
        self.b = Host("host-b@lab", root / "host-b", env, ["LT-POS-B2"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not _standins_up():
        pytest.fail("stand-in terminals are down: python3 lab_env/standin_terminals.py up")
    root = tmp_path_factory.mktemp("hosts")
    with scratch_lab("postgresql", root / "tests") as db_url, redis_broker(root / "redis") as broker:
        env = lab_env(db_url, broker, root / "evidence-store", LEASE_S)
        saved = {k: os.environ.get(k) for k in ("HARNESS_BROKER_URL", "HARNESS_EVIDENCE_STORE", "HARNESS_LEASE_S")}
        os.environ.update({k: env[k] for k in saved})  # this process reads the same record and store
        results.open_lab(create=True)
        lab = Lab(root, env)
        try:
            lab.a.start()
            lab.b.start()
            yield lab
        finally:
            for host in (lab.a, lab.b):
                host.stop()
            # Whatever a killed host left on a unit goes when the host comes back (checked below);
            # should a test fail before that, a last start of each host cleans up the same way.
            for host in (lab.a, lab.b):
                if list((host.data_dir / "active").glob("*.json")):
                    host.start().stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _end(proc: subprocess.Popen[str], timeout_s: float = 420) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, out + err


def _campaign_jobs(output: str) -> list[JobRecord]:
    m = re.search(r"campaign (C-[\w-]+): \d+ job", output)
    assert m, output
    return results.jobs_of(m.group(1))


def _running_with_a_verdict(worker: str, timeout_s: float = 240) -> JobRecord:
    """Wait until the worker's job has recorded at least one verdict (mid-job: more checks to come)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job in (j for j in _all_running() if j.worker == worker and j.run_id):
            if sum(results.tally(job.run_id).counts.values()) >= 1:
                return job
        time.sleep(0.3)
    raise AssertionError(f"no job of {worker} recorded a verdict in {timeout_s} s")


def _all_running() -> list[JobRecord]:
    from sqlalchemy import select

    from harness.results.db import session
    from harness.results.models import Job

    with session() as s:
        ids = list(s.scalars(select(Job.id).where(Job.status == JobStatus.RUNNING.value)))
    return [j for j in (results.get_job(i) for i in ids) if j is not None]


def test_each_job_reaches_a_host_holding_its_model_and_every_report_is_written(lab: Lab):
    proc = campaign(lab.env, lab.root / "office", str(SPECS / "refpay.yaml"), "--backend", "terminal", "--only", ONLY)
    code, output = _end(proc)
    assert code == 0, output
    jobs = {j.target: j for j in _campaign_jobs(output)}
    assert {t: (j.status, j.worker, j.unit_id) for t, j in jobs.items()} == {
        "LT-POS-A1": (JobStatus.FINISHED, "host-a@lab", "LT-POS-A1-U01"),
        "LT-POS-B2": (JobStatus.FINISHED, "host-b@lab", "LT-POS-B2-U01"),
    }
    # Progress across hosts, as plain lines (not a terminal): each job running on its host, then its end.
    assert re.search(r"on LT-POS-A1: running on host-a@lab / LT-POS-A1-U01 \(attempt 1, run R-", output), output
    assert re.search(r"on LT-POS-B2: finished, exit 0 on host-b@lab", output), output
    for job in jobs.values():
        assert job.run_id is not None
        run = results.get_run(job.run_id)
        assert run is not None and run.status == RunStatus.FINISHED
        assert {v.model for v in results.verdicts_of(job.run_id)} == {job.target}
    # The reports were written on the campaign's host: their evidence came from the shared store.
    reports = sorted((lab.root / "office" / "reports").glob("*/report.json"))
    assert len(reports) == 2, output
    for path in reports:
        content = json.loads(path.read_text(encoding="utf-8"))
        files = content["evidence_manifest"]["files"]
        assert files and all((path.parent / f["path"]).is_file() for f in files)
    assert results.reservations() == []
    listed = subprocess.run(
        [sys.executable, "-m", "harness", "workers"], cwd=ROOT, env=lab.env, capture_output=True, text=True, timeout=60
    )
    assert re.search(r"host-a@lab .*LT-POS-A1-U01 \(LT-POS-A1\).*harness\.unit\.LT-POS-A1.* alive", listed.stdout)
    assert re.search(r"host-b@lab .*LT-POS-B2-U01 \(LT-POS-B2\).* alive", listed.stdout), listed.stdout

    # The broker delivers a finished job's message again: the record lets nobody run it twice.
    configure(host_settings())
    done = jobs["LT-POS-A1"]
    send_job(done.id, done.attempt, done.queue)
    deadline = time.monotonic() + 60
    while "not claimed" not in lab.a.log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert f"job {done.id} attempt 1: not claimed" in lab.a.log.read_text(errors="replace")
    assert results.get_job(done.id) == done


def test_a_host_killed_mid_job_ends_its_job_as_an_error_with_the_cause_and_frees_its_unit(lab: Lab):
    proc = campaign(
        lab.env,
        lab.root / "office-2",
        str(SPECS / "refpay.yaml"),
        "--backend",
        "terminal",
        "--only",
        ONLY,
        "--no-report",
    )
    victim = _running_with_a_verdict("host-a@lab")
    lab.a.kill()
    code, output = _end(proc)
    assert code == 3, output
    jobs = {j.target: j for j in _campaign_jobs(output)}
    dead, alive = jobs["LT-POS-A1"], jobs["LT-POS-B2"]
    assert dead.id == victim.id and dead.status == JobStatus.ERROR
    assert "its worker host-a@lab stopped reporting during the job" in (dead.cause or "")
    assert "no live worker serves LT-POS-A1" in (dead.cause or ""), "the only host holding A1 is gone"
    assert f"{dead.id} 参考支付服务 1.0.0 on LT-POS-A1: error" in output
    assert alive.status == JobStatus.FINISHED and alive.exit_code == 0, output

    # Nothing recorded is lost: the dead host's run is aborted with the cause, its verdicts kept,
    # their evidence in the store (fetched here, where the chain verifies).
    assert dead.run_id == victim.run_id and dead.run_id is not None
    run = results.get_run(dead.run_id)
    assert run is not None and run.status == RunStatus.ABORTED and "host-a@lab" in (run.end_reason or "")
    kept = results.verdicts_of(dead.run_id)
    assert kept and all(v.model == "LT-POS-A1" for v in kept)
    here = lab.root / "office-2" / "fetched"
    assert results.materialise_evidence(dead.run_id, here) == []
    assert results.verify_run(dead.run_id, here).ok
    assert results.reservations() == [], "no unit stays reserved"

    # The host comes back: before taking jobs it removes what its dead self left on the unit.
    assert list((lab.a.data_dir / "active").glob("terminal-*.json")), "the killed job left its sample on A1"
    lab.a.start()
    assert not list((lab.a.data_dir / "active").glob("terminal-*.json"))
    assert "killed the leftover sample on unit LT-POS-A1-U01" in lab.a.log.read_text(errors="replace")


def test_a_job_whose_host_dies_is_retried_on_another_host(lab: Lab):
    # A local-process job: both hosts take those, so the one that survives retries it.
    proc = campaign(lab.env, lab.root / "office-3", str(SPECS / "refpay.yaml"), "--only", ONLY, "--no-report")
    first = _wait_running_process_job()
    victim, survivor = (lab.a, lab.b) if first.worker == lab.a.name else (lab.b, lab.a)
    _running_with_a_verdict(victim.name)
    victim.kill()
    code, output = _end(proc)
    assert code == 0, output
    (job,) = _campaign_jobs(output)
    assert job.status == JobStatus.FINISHED and job.worker == survivor.name and job.attempt == 2
    (lost,) = job.history
    assert lost["worker"] == victim.name and "stopped reporting" in lost["cause"]
    assert lost["run_id"] and lost["run_id"] != job.run_id
    lost_run = results.get_run(lost["run_id"])
    assert lost_run is not None and lost_run.status == RunStatus.ABORTED and results.verdicts_of(lost_run.id)
    assert f"on process: attempt 1 lost: its worker {victim.name} stopped reporting" in output, output
    assert re.search(rf"on process: running on {re.escape(survivor.name)} \(attempt 2", output), output
    assert results.reservations() == []
    victim.start()  # removes the sample process its dead self left behind


def _wait_running_process_job(timeout_s: float = 120) -> JobRecord:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for job in _all_running():
            if job.backend == "process" and job.worker:
                return job
        time.sleep(0.3)
    raise AssertionError("the process job never started")
