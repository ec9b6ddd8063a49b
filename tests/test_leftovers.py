"""Cleanup of what a killed run left behind never touches an unrelated process (issue #15): a process
group is named by its leader's pid and start time, as the container backend names its owner."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.config import lab_config
from harness.deploy import leftovers
from harness.deploy.process import ProcessDeployer


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _orphan_entry(payload: dict[str, object]) -> Path:
    """A ledger entry as a killed harness leaves it: its owner is gone."""
    d = lab_config().data_dir / "active"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"process-test{time.monotonic_ns()}.json"
    path.write_text(json.dumps({"backend": "process", "owner_pid": _dead_pid(), "payload": payload}))
    return path


@pytest.fixture
def group():
    """A process group of its own (as the process backend starts a sample), ended after the test."""
    started: list[subprocess.Popen[bytes]] = []

    def start(cmd: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(["/bin/sh", "-c", cmd], start_new_session=True)
        started.append(p)
        return p

    yield start
    for p in started:
        for pid in leftovers.group_members(p.pid, leftovers.process_start(p.pid) or "0"):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        p.kill()
        p.wait()


def _alive(pid: int) -> bool:
    stat = leftovers._stat(pid)
    return bool(stat) and stat[0] != "Z"


def test_a_reused_group_id_is_left_alone(group):
    unrelated = group("exec sleep 60")  # got the id the dead run's sample once had
    start = leftovers.process_start(unrelated.pid)
    entry = _orphan_entry({"pgid": unrelated.pid, "start": str(int(start) - 1), "workdir": "/gone"})
    lines = ProcessDeployer().cleanup_stale()
    assert _alive(unrelated.pid), "cleanup killed an unrelated process whose group id was reused"
    assert not entry.exists() and not any(str(unrelated.pid) in x for x in lines)


def test_an_entry_without_a_start_time_kills_nothing(group):
    unrelated = group("exec sleep 60")
    entry = _orphan_entry({"pgid": unrelated.pid, "workdir": "/gone"})
    lines = ProcessDeployer().cleanup_stale()
    assert _alive(unrelated.pid) and not entry.exists()
    assert any("without its start time (not killed)" in x for x in lines)


def test_the_dead_runs_own_group_is_killed(group):
    sample = group("sleep 60 & sleep 60; wait")
    start = leftovers.process_start(sample.pid)
    deadline = time.monotonic() + 10
    while len(leftovers.group_members(sample.pid, start)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    members = leftovers.group_members(sample.pid, start)
    assert len(members) == 3
    _orphan_entry({"pgid": sample.pid, "start": start, "workdir": "/gone"})
    lines = ProcessDeployer().cleanup_stale()
    assert any(f"killed leftover sample process group {sample.pid}" in x for x in lines)
    sample.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_alive(m) for m in members) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(m) for m in members)


def test_members_left_by_an_exited_leader_are_killed(group):
    leader = group("sleep 60 & exit 0")  # the leader exits, its child stays in the group
    start = leftovers.process_start(leader.pid)
    leader.wait(timeout=10)
    child = next(iter(leftovers.group_members(leader.pid, start)), None)
    assert child is not None and child != leader.pid
    _orphan_entry({"pgid": leader.pid, "start": start, "workdir": "/gone"})
    ProcessDeployer().cleanup_stale()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_an_owner_with_a_reused_pid_is_gone():
    """The ledger records its writer's start time too: a reused owner pid does not hide an orphan."""
    import os

    me = os.getpid()
    assert leftovers.owner_alive(me, leftovers.process_start(me))
    assert not leftovers.owner_alive(me, str(int(leftovers.process_start(me)) - 1))


def test_a_services_ledger_never_kills_a_reused_group(group):
    """Declared services (PostgreSQL, Redis run as local processes) are cleaned up the same way."""
    from harness.deploy import services

    unrelated = group("exec sleep 60")
    start = leftovers.process_start(unrelated.pid)
    lines = services.cleanup_ledger([{"name": "db", "pgid": unrelated.pid, "start": str(int(start) - 1)}])
    assert _alive(unrelated.pid) and not any("killed" in x for x in lines)
    lines = services.cleanup_ledger([{"name": "db", "pgid": unrelated.pid}])  # an old record: no start time
    assert _alive(unrelated.pid) and "no start time recorded" in lines[0]
    ours = group("exec sleep 60")
    services.cleanup_ledger([{"name": "db", "pgid": ours.pid, "start": leftovers.process_start(ours.pid)}])
    ours.wait(timeout=10)
    assert not _alive(ours.pid)
