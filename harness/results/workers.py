"""Lab hosts' workers as the record knows them: what each serves, and whether it is alive.

Liveness is the record's, like a run's: a worker refreshes its heartbeat; any host reading the
record sees a worker whose heartbeat is older than the lease as gone. No PID is ever consulted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from harness.results.db import rowcount, session
from harness.results.models import LabWorker
from harness.results.records import WorkerRecord


def _record(w: LabWorker) -> WorkerRecord:
    return WorkerRecord(
        name=w.name,
        host=w.host,
        queues=list(w.queues or []),
        units=list(w.units or []),
        capacity=w.capacity,
        started=w.started,
        heartbeat=w.heartbeat,
        stopped=w.stopped,
    )


def register_worker(
    name: str, host: str, queues: list[str], units: list[dict[str, str]], capacity: int, now: datetime
) -> None:
    """Announce a worker (again, after a restart: the same name is the same worker)."""
    with session() as s:
        w = s.get(LabWorker, name) or LabWorker(name=name)
        w.host, w.queues, w.units, w.capacity = host, queues, units, capacity
        w.started, w.heartbeat, w.stopped = now, now, None
        s.add(w)


def beat_worker(name: str, now: datetime) -> bool:
    with session() as s:
        done = s.execute(update(LabWorker).where(LabWorker.name == name).values(heartbeat=now, stopped=None))
        return bool(rowcount(done))


def stop_worker(name: str, now: datetime) -> None:
    """An orderly stop: the worker is gone at once, without waiting out its lease."""
    with session() as s:
        s.execute(update(LabWorker).where(LabWorker.name == name).values(stopped=now))


def workers() -> list[WorkerRecord]:
    with session() as s:
        return [_record(w) for w in s.scalars(select(LabWorker).order_by(LabWorker.name))]


def live_workers(now: datetime, lease: timedelta) -> list[WorkerRecord]:
    return [w for w in workers() if w.alive(now, lease)]
