"""Campaigns on real lab hosts: a Redis broker of its own, the lab record on PostgreSQL, and two
worker processes standing in for hosts: host-a holds LT-POS-A1, host-b holds LT-POS-B2 (the
stand-in terminals of lab_env/standin_terminals.py), each with its own inventory and data
directory, and each with one slot for local-process jobs. Evidence reaches the campaigns' hosts
only through the shared evidence store.

One scenario serves every test (it is the slow part): a terminal campaign (one job per model) and a
process campaign run at once; the host that took the process job is killed once that job has
recorded a verdict and its terminal job has begun installing the sample on its unit. The terminal
job has no other host holding its model (error, with the cause); the process job is retried on the
other host. Jobs use a few clauses of the reference sample, to stay quick."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import results
from harness.cli import main
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


@dataclass
class Ended:
    code: int
    output: str
    jobs: list[JobRecord]


@dataclass
class Scenario:
    root: Path
    env: dict[str, str]
    victim: Host
    survivor: Host
    terminal: Ended  # the terminal campaign (one job per model)
    process: Ended  # the process campaign (one job)
    victims_job: JobRecord  # the victim's terminal job, as it was when the host was killed
    lost_run: str  # the run of the process job's first attempt, killed with a verdict recorded
    leftovers: list[Path]  # what the killed host left in its ledger

    def job(self, target: str) -> JobRecord:
        (job,) = [j for j in self.terminal.jobs + self.process.jobs if j.target == target]
        return job


def _end(proc: subprocess.Popen[str], timeout_s: float = 420) -> Ended:
    out, err = proc.communicate(timeout=timeout_s)
    output = out + err
    m = re.search(r"campaign (C-[\w-]+): \d+ job", output)
    assert m, output
    return Ended(proc.returncode, output, results.jobs_of(m.group(1)))


def _running() -> list[JobRecord]:
    from sqlalchemy import select

    from harness.results.db import session
    from harness.results.models import Job

    with session() as s:
        ids = list(s.scalars(select(Job.id).where(Job.status == JobStatus.RUNNING.value)))
    return [j for j in (results.get_job(i) for i in ids) if j is not None]


def _wait_for(what: str, found: Callable[[], JobRecord | None], timeout_s: float = 240) -> JobRecord:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = found()
        if job is not None:
            return job
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def _with_a_verdict(job: JobRecord) -> JobRecord | None:
    """The job, if it is still running and its run has recorded a verdict (mid-job: more to come)."""
    now = _still_running(job)
    return now if now.run_id and sum(results.tally(now.run_id).counts.values()) >= 1 else None


def _still_running(job: JobRecord) -> JobRecord:
    now = results.get_job(job.id)
    assert now is not None
    if now.status != JobStatus.RUNNING:
        errors = [v.detail.splitlines()[-1] for v in results.verdicts_of(now.run_id or "") if v.detail][:1]
        raise AssertionError(f"job {job.id} on {now.target} ended before it could be killed mid-job: {now}; {errors}")
    return now


def _on_its_unit(job: JobRecord, host: Host) -> JobRecord | None:
    """The job, if it is still running and has begun installing its sample on its unit."""
    now = _still_running(job)
    return now if now.run_id and list((host.data_dir / "active").glob("terminal-*.json")) else None


def _restore(saved: dict[str, str | None]) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    if not _standins_up():
        pytest.fail("stand-in terminals are down: python3 lab_env/standin_terminals.py up")
    root = tmp_path_factory.mktemp("hosts")
    with scratch_lab("postgresql", root / "tests") as db_url, redis_broker(root / "redis") as broker:
        env = lab_env(db_url, broker, root / "evidence-store", LEASE_S)
        saved = {k: os.environ.get(k) for k in ("HARNESS_BROKER_URL", "HARNESS_EVIDENCE_STORE", "HARNESS_LEASE_S")}
        os.environ.update({k: env[k] for k in saved})  # this process reads the same record and store
        results.open_lab(create=True)
        hosts = [
            Host("host-a@lab", root / "host-a", env, ["LT-POS-A1"]),
            Host("host-b@lab", root / "host-b", env, ["LT-POS-B2"]),
        ]
        try:
            for host in hosts:
                host.start()
            spec = str(SPECS / "refpay.yaml")
            terminal = campaign(env, root / "office-t", spec, "--backend", "terminal", "--only", ONLY, "--no-pdf")
            process = campaign(env, root / "office-p", spec, "--only", ONLY, "--no-pdf")
            # Either host may take the process job (each has a free process slot): it is the victim.
            p = _wait_for(
                "the process job started", lambda: next((j for j in _running() if j.backend == "process"), None)
            )
            victim, survivor = hosts if p.worker == hosts[0].name else hosts[::-1]
            t = _wait_for(
                f"{victim.name}'s terminal job started",
                lambda: next((j for j in _running() if j.backend == "terminal" and j.worker == victim.name), None),
            )
            # Its sample is on the unit from the moment the ledger records the unit's directory.
            _wait_for(f"job {t.id} began installing", lambda: _on_its_unit(t, victim))
            p = _wait_for(f"job {p.id} recorded a verdict", lambda: _with_a_verdict(p))
            t = _wait_for(f"job {t.id} still running", lambda: _on_its_unit(t, victim))
            victim.kill()
            leftovers = list((victim.data_dir / "active").glob("*.json"))
            ended = _end(terminal), _end(process)
            yield Scenario(root, env, victim, survivor, *ended, t, str(p.run_id), leftovers)
        finally:
            for host in hosts:
                host.stop()
            # Whatever a killed host left goes when the host comes back (checked below); should a
            # test fail before that, a last start of each host cleans up the same way.
            for host in hosts:
                if list((host.data_dir / "active").glob("*.json")):
                    host.start().stop()
            _restore(saved)


def _names_the_death(reason: str | None, host: str) -> bool:
    """A dead host's run is aborted naming the host (the job sweep), or, where the sweeping host is the
    same machine (both test hosts are), naming its harness process that is gone (the run sweep may
    come first). Either is the true cause."""
    return host in (reason or "") or bool(re.search(r"its harness \(pid \d+ on this host\) is gone", reason or ""))


def test_each_job_reaches_a_host_holding_its_model(scenario: Scenario):
    s = scenario
    for model, host in (("LT-POS-A1", "host-a@lab"), ("LT-POS-B2", "host-b@lab")):
        job = s.job(model)
        assert (job.worker, job.unit_id) == (host, f"{model}-U01"), job
        assert job.run_id is not None and {v.model for v in results.verdicts_of(job.run_id)} <= {model}
    # Progress across hosts, as plain lines (not a terminal): each job running on its host, then its end.
    survivors = s.job("LT-POS-B2" if s.victim.name == "host-a@lab" else "LT-POS-A1")
    assert survivors.status == JobStatus.FINISHED and survivors.exit_code == 0, s.terminal.output
    where = re.escape(f"{s.victims_job.worker} / {s.victims_job.unit_id}")
    assert re.search(rf"on {s.victims_job.target}: running on {where} \(attempt 1, run R-", s.terminal.output)
    assert f"on {survivors.target}: finished, exit 0 on {s.survivor.name}" in s.terminal.output, s.terminal.output
    run = results.get_run(survivors.run_id or "")
    assert run is not None and run.status == RunStatus.FINISHED
    assert {v.model for v in results.verdicts_of(run.id)} == {survivors.target}


def test_a_host_killed_mid_job_ends_its_job_as_an_error_with_the_cause_and_frees_its_unit(
    scenario: Scenario, capsys: pytest.CaptureFixture[str]
):
    s = scenario
    assert s.terminal.code == 3, s.terminal.output
    dead = s.job(s.victims_job.target)
    assert dead.id == s.victims_job.id and dead.status == JobStatus.ERROR
    assert f"its worker {s.victim.name} stopped reporting during the job" in (dead.cause or "")
    assert f"no live worker serves {dead.target}" in (dead.cause or ""), "the only host holding it is gone"
    assert f"{dead.id} 参考支付服务 1.0.0 on {dead.target}: error" in s.terminal.output

    # Its run is aborted with the cause, and no unit stays reserved.
    assert dead.run_id == s.victims_job.run_id and dead.run_id is not None
    run = results.get_run(dead.run_id)
    assert run is not None and run.status == RunStatus.ABORTED and _names_the_death(run.end_reason, s.victim.name)
    assert results.reservations() == [], "no unit stays reserved"

    # The host comes back: before taking jobs it removes what its dead self left on the unit.
    assert any(p.name.startswith("terminal-") for p in s.leftovers), "the killed job left its sample on the unit"
    s.victim.start()
    assert not list((s.victim.data_dir / "active").glob("*.json"))
    log = s.victim.log.read_text(errors="replace")
    assert f"killed the leftover sample on unit {dead.unit_id}" in log
    with pytest.raises(SystemExit) as ended:
        main(["workers"])
    listed = capsys.readouterr().out
    assert ended.value.code in (0, None), listed
    assert re.search(r"host-a@lab .*LT-POS-A1-U01 \(LT-POS-A1\).*harness\.unit\.LT-POS-A1.* alive", listed), listed
    assert re.search(r"host-b@lab .*LT-POS-B2-U01 \(LT-POS-B2\).* alive", listed), listed


def test_a_job_whose_host_dies_is_retried_on_another_host(scenario: Scenario):
    s = scenario
    assert s.process.code == 0, s.process.output
    (job,) = s.process.jobs
    assert job.status == JobStatus.FINISHED and job.worker == s.survivor.name and job.attempt == 2
    (lost,) = job.history
    assert lost["worker"] == s.victim.name and "stopped reporting" in lost["cause"]
    assert lost["run_id"] and lost["run_id"] != job.run_id
    assert lost["run_id"] == s.lost_run
    # Nothing recorded is lost: the dead host's run is aborted with the cause, its verdicts kept,
    # their evidence in the store (fetched here, where the chain verifies).
    lost_run = results.get_run(s.lost_run)
    assert (
        lost_run is not None
        and lost_run.status == RunStatus.ABORTED
        and _names_the_death(lost_run.end_reason, s.victim.name)
    )
    kept = results.verdicts_of(s.lost_run)
    assert kept and all(v.model == "process" for v in kept)
    here = s.root / "elsewhere" / s.lost_run
    assert results.materialise_evidence(s.lost_run, here) == []
    assert results.verify_run(s.lost_run, here).ok and list((here / "evidence").rglob("*"))
    assert f"on process: attempt 1 lost: its worker {s.victim.name} stopped reporting" in s.process.output
    assert re.search(rf"on process: running on {re.escape(s.survivor.name)} \(attempt 2", s.process.output)
    assert results.reservations() == []


def test_every_report_is_written_on_the_campaigns_host_from_the_evidence_store(scenario: Scenario):
    s = scenario
    for office, ended in (("office-t", s.terminal), ("office-p", s.process)):
        finished = [j for j in ended.jobs if j.status == JobStatus.FINISHED]
        reports = sorted((s.root / office / "reports").glob("*/report.json"))
        assert len(reports) == len(finished) == 1, ended.output
        content = json.loads(reports[0].read_text(encoding="utf-8"))
        assert content["run"]["id"] == finished[0].run_id
        files = content["evidence_manifest"]["files"]
        assert files and all((reports[0].parent / f["path"]).is_file() for f in files)
        # The run was done on a worker: its evidence reached this host only through the store.
        assert (s.root / office / "data" / "runs" / str(finished[0].run_id) / "evidence").is_dir()
        assert not list((s.root / office / "reports").glob("*/report.pdf")), "--no-pdf"


def test_a_message_the_broker_delivers_again_runs_nothing(scenario: Scenario):
    s = scenario
    done = next(j for j in s.terminal.jobs if j.status == JobStatus.FINISHED)
    configure(host_settings())
    send_job(done.id, done.attempt, done.queue)
    line = f"job {done.id} attempt 1: not claimed"
    _wait_for(line, lambda: done if line in s.survivor.log.read_text(errors="replace") else None, timeout_s=60)
    assert results.get_job(done.id) == done
