"""Runs in the lab record: opened before the checks start, kept alive by a heartbeat, closed once.

Liveness is the record's own: the harness running a run refreshes `heartbeat` every
HEARTBEAT_EVERY; any harness on any host sharing the database aborts a run whose heartbeat is older
than LEASE. A run of this very host whose process is gone is aborted at once (no need to wait out
the lease); a PID is never consulted for another host's runs.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from harness import clock
from harness.errors import InputError, LabError
from harness.plan import Plan
from harness.results.db import session
from harness.results.models import Run, Verdict
from harness.results.outcomes import Outcome, RunStatus
from harness.results.records import RunRecord, RunTally

HEARTBEAT_EVERY = timedelta(seconds=10)
LEASE = timedelta(seconds=90)  # nine missed heartbeats: a busy machine is not a dead harness
RECORD_FORMAT = "chained-1"  # runs whose verdicts carry the hash chain (harness.results.chain)


def utcnow() -> datetime:
    """Heartbeats are naive UTC, so hosts in different time zones compare them correctly."""
    return datetime.now(UTC).replace(tzinfo=None)


@cache
def host_identity() -> str:
    """This host, as a run's owner: its name and this boot (a PID means nothing after a reboot)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        boot = "unknown-boot"
    return f"{platform.node()}/{boot}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _record(run: Run) -> RunRecord:
    return RunRecord(
        id=run.id,
        sample_id=run.sample_id,
        kind=run.kind,
        status=RunStatus(run.status),
        started=run.started,
        finished=run.finished,
        heartbeat=run.heartbeat,
        end_reason=run.end_reason,
        environment=dict(run.environment or {}),
        deployments=list(run.deployments or []),
        retest=run.retest,
        plan=Plan.from_json(run.plan) if run.plan else None,
    )


def open_run(sample_id: str, kind: str, environment: dict[str, Any], retest: dict[str, Any] | None = None) -> RunRecord:
    abort_stale_runs()
    env = {**environment, "owner": host_identity(), "pid": os.getpid(), "record": RECORD_FORMAT}
    started = clock.stamp()  # the lab's wall-clock time, as every record's time
    run = Run(
        id=f"R-{started:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}",
        sample_id=sample_id,
        kind=kind,
        started=started,
        status=RunStatus.RUNNING.value,
        heartbeat=utcnow(),
        environment=env,
        plan={},
        deployments=[],
        retest=retest,
    )
    with session() as s:
        s.add(run)
    return _record(run)


def get_run(run_id: str) -> RunRecord | None:
    with session() as s:
        run = s.get(Run, run_id)
        return _record(run) if run else None


def runs_of_sample(sample_id: str) -> list[str]:
    """The IDs of a sample's runs, oldest first."""
    with session() as s:
        return list(s.scalars(select(Run.id).where(Run.sample_id == sample_id).order_by(Run.started)))


def load_plan(run_id: str) -> Plan:
    """The plan a run recorded; InputError when the run is unknown or ended before it had one."""
    run = get_run(run_id)
    if run is None:
        raise InputError(f"no run {run_id!r} in the lab database")
    if run.plan is None:
        raise InputError(f"run {run_id} has no plan: it ended before its checks were collected")
    return run.plan


def save_plan(run_id: str, plan: Plan) -> None:
    _update(run_id, plan=plan.to_json())


def save_deployments(run_id: str, deployments: list[dict[str, Any]]) -> None:
    _update(run_id, deployments=deployments)


def _update(run_id: str, **values: Any) -> None:
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise LabError(f"run {run_id} is not in the lab database")
        for k, v in values.items():
            setattr(run, k, v)


def close_run(run_id: str, status: RunStatus, reason: str | None = None, force: bool = False) -> bool:
    """End a run as `status`, once: only a running run changes, unless `force` (an interrupted run is
    aborted whatever its teardown recorded). Returns whether it changed."""
    with session() as s:
        run = s.get(Run, run_id)
        if run is None or (run.status != RunStatus.RUNNING and not force):
            return False
        run.status = status.value
        run.finished = run.finished or clock.stamp()
        if reason:
            run.end_reason = reason  # forced: the cause known last (a signal) is the one that holds
        return True


def beat(run_id: str) -> None:
    with session() as s:
        s.execute(update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING.value).values(heartbeat=utcnow()))


def abort_stale_runs(now: datetime | None = None) -> list[str]:
    """Abort the runs whose harness is gone: heartbeat older than LEASE (any host), or their process
    gone on this host. What they recorded is kept. Returns their IDs."""
    now = now or utcnow()
    me = host_identity()
    ended = []
    with session() as s:
        for run in s.scalars(select(Run).where(Run.status == RunStatus.RUNNING.value)):
            env = run.environment or {}
            # A run opened before heartbeats existed has none: its start is its last sign of life.
            last = run.heartbeat or clock.aware(run.started).astimezone(UTC).replace(tzinfo=None)
            if last < now - LEASE:
                reason = f"its harness stopped reporting (last heartbeat {last:%Y-%m-%d %H:%M:%S} UTC)"
            elif env.get("owner") == me and env.get("pid") and not _pid_alive(int(env["pid"])):
                reason = f"its harness (pid {env['pid']} on this host) is gone"
            else:
                continue
            run.status = RunStatus.ABORTED.value
            run.finished = run.finished or clock.stamp()
            run.end_reason = reason
            ended.append(run.id)
    return ended


class Heartbeat:
    """Refreshes a run's heartbeat from a background thread while the run goes on. A failed beat
    (the database briefly unreachable) is retried at the next one; after a lease of failures the run
    is someone else's to abort, which is right: nobody can tell it is alive."""

    def __init__(self, run_id: str, every: timedelta = HEARTBEAT_EVERY) -> None:
        self.run_id = run_id
        self.every = every.total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            with contextlib.suppress(Exception):
                beat(self.run_id)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def tally(run_id: str) -> RunTally:
    with session() as s:
        rows = list(s.execute(select(Verdict.outcome, Verdict.clause_ids).where(Verdict.run_id == run_id)))
    counts = Counter(outcome for outcome, _ in rows)
    failing = sorted({c for o, cs in rows if o == Outcome.FAIL for c in cs})
    erroring = sorted({c for o, cs in rows if o == Outcome.ERROR for c in cs})
    return RunTally(dict(counts), failing, erroring)
