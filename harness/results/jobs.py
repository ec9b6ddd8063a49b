"""Campaigns and their jobs: who runs which attempt, whether its worker still lives, and what became
of every attempt.

The record, not the broker, decides who runs a job: a worker runs an attempt only once it has
claimed it here (status queued, same attempt number, in one guarded UPDATE), so a message the
broker delivers twice (a redelivery after its visibility timeout, a retry racing a late worker) is
run at most once. A running job's worker renews its heartbeat; a job whose heartbeat is older
than the lease lost its worker: recover_jobs aborts its run (what it recorded is kept), frees its
units, and either queues the next attempt (for any live worker serving its queue, on any host) or
ends the job as an error with the cause.
"""

from __future__ import annotations

import platform
import secrets
from collections.abc import Collection, Mapping
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from harness.results.db import rowcount, session
from harness.results.models import Campaign, Job
from harness.results.outcomes import JobStatus, RunStatus
from harness.results.records import JobRecord, NewJob
from harness.results.reservations import release_job_units
from harness.results.runs import close_run

_NEW = [f.name for f in fields(NewJob)]


def _record(j: Job) -> JobRecord:
    return JobRecord(
        **{k: getattr(j, k) for k in _NEW},
        id=j.id,
        campaign_id=j.campaign_id,
        status=JobStatus(j.status),
        attempt=j.attempt,
        worker=j.worker,
        unit_id=j.unit_id,
        run_id=j.run_id,
        heartbeat=j.heartbeat,
        queued=j.queued,
        started=j.started,
        finished=j.finished,
        exit_code=j.exit_code,
        cause=j.cause,
        history=list(j.history or []),
    )


def create_campaign(options: dict[str, Any], jobs: list[NewJob], now: datetime) -> tuple[str, list[JobRecord]]:
    """Record a campaign and its jobs, every one queued for its first attempt."""
    campaign_id = f"C-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    rows = [
        Job(
            id=f"J-{campaign_id[2:]}-{n:03d}",
            campaign_id=campaign_id,
            **{k: getattr(new, k) for k in _NEW},
            status=JobStatus.QUEUED.value,
            attempt=1,
            queued=now,
            history=[],
        )
        for n, new in enumerate(jobs, start=1)
    ]
    with session() as s:
        s.add(Campaign(id=campaign_id, created=now, submitted_from=platform.node(), options=options))
        s.flush()  # the campaign row first: PostgreSQL checks the jobs' foreign key at once
        s.add_all(rows)
    return campaign_id, [_record(r) for r in rows]


def jobs_of(campaign_id: str) -> list[JobRecord]:
    with session() as s:
        return [_record(j) for j in s.scalars(select(Job).where(Job.campaign_id == campaign_id).order_by(Job.id))]


def get_job(job_id: str) -> JobRecord | None:
    with session() as s:
        j = s.get(Job, job_id)
        return _record(j) if j else None


def _guarded(job_id: str, attempt: int, holder: str | None, state: JobStatus, **values: Any) -> bool:
    """One UPDATE that only changes the job if it is still in this attempt, state (and worker)."""
    cond = [Job.id == job_id, Job.attempt == attempt, Job.status == state.value]
    if holder is not None:
        cond.append(Job.worker == holder)
    with session() as s:
        return bool(rowcount(s.execute(update(Job).where(*cond).values(**values))))


def claim_job(job_id: str, attempt: int, worker: str, now: datetime) -> JobRecord | None:
    """This worker takes this attempt; None when the attempt is not (or no longer) queued: it was
    claimed already, superseded by a later attempt, or the job has ended."""
    if not _guarded(job_id, attempt, None, JobStatus.QUEUED, status=JobStatus.RUNNING.value, worker=worker,
                    heartbeat=now, started=now, run_id=None, unit_id=None):  # fmt: skip
        return None
    return get_job(job_id)


def unclaim_job(job_id: str, attempt: int, worker: str) -> bool:
    """Give a claimed attempt back before it started anything (every unit of its model on this host
    is busy): queued again, for whichever host holding its model is free first."""
    return _guarded(job_id, attempt, worker, JobStatus.RUNNING, status=JobStatus.QUEUED.value, worker=None,
                    heartbeat=None, started=None, unit_id=None)  # fmt: skip


def renew_job(job_id: str, attempt: int, worker: str, now: datetime) -> bool:
    """The holder's heartbeat; False when the job is no longer this worker's attempt."""
    return _guarded(job_id, attempt, worker, JobStatus.RUNNING, heartbeat=now)


def note_job(job_id: str, attempt: int, worker: str, **values: Any) -> bool:
    """Record what the attempt is using as it goes (run_id, unit_id)."""
    allowed = {"run_id", "unit_id"}
    assert set(values) <= allowed, set(values) - allowed
    return _guarded(job_id, attempt, worker, JobStatus.RUNNING, **values)


def finish_job(
    job_id: str,
    attempt: int,
    worker: str,
    status: JobStatus,
    now: datetime,
    exit_code: int | None = None,
    cause: str | None = None,
) -> bool:
    """End this worker's attempt (FINISHED: its run ended; ERROR: it could not run, with the cause)."""
    assert status.ended, status
    return _guarded(
        job_id, attempt, worker, JobStatus.RUNNING, status=status.value, finished=now, exit_code=exit_code, cause=cause
    )


def fail_job(job_id: str, cause: str, now: datetime) -> bool:
    """End a job that never started (its message could not be sent) as an error."""
    with session() as s:
        done = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.QUEUED.value)
            .values(status=JobStatus.ERROR.value, finished=now, cause=cause)
        )
        return bool(rowcount(done))


def recover_jobs(now: datetime, lease: timedelta, serving: Mapping[str, Collection[str]]) -> list[JobRecord]:
    """Every running job whose heartbeat is older than the lease lost its worker (the host died, the
    worker was killed): abort its run, free its units, and queue its next attempt when it has one
    left and a live worker other than the lost one serves its queue (`serving`: queue -> live
    workers; the lost worker may not have missed its own lease yet), else end it as an error.
    Safe to call from any number of hosts at once: each job is taken over by one of them. Returns
    the jobs changed (a queued one needs its message sent)."""
    cutoff = now - lease
    with session() as s:
        dead = [_record(j) for j in s.scalars(select(Job).where(Job.status == JobStatus.RUNNING.value))]
    changed = []
    for job in dead:
        if job.heartbeat is not None and job.heartbeat >= cutoff:
            continue
        last = f"{job.heartbeat:%Y-%m-%d %H:%M:%S} UTC" if job.heartbeat else "none"
        why = f"its worker {job.worker} stopped reporting during the job (last heartbeat {last})"
        entry = {
            "attempt": job.attempt,
            "worker": job.worker,
            "run_id": job.run_id,
            "unit_id": job.unit_id,
            "started": job.started.isoformat() if job.started else None,
            "ended": now.isoformat(),
            "cause": why,
        }
        values: dict[str, Any] = {"history": [*job.history, entry], "heartbeat": None}
        others = set(serving.get(job.queue, ())) - {job.worker}
        if job.attempt < job.max_attempts and others:
            values.update(status=JobStatus.QUEUED.value, attempt=job.attempt + 1, queued=now, worker=None,
                          run_id=None, unit_id=None, started=None)  # fmt: skip
        else:
            left = (
                f"no attempt left ({job.max_attempts})"
                if job.attempt >= job.max_attempts
                else f"no live worker serves {job.target} to retry it"
            )
            values.update(status=JobStatus.ERROR.value, finished=now, cause=f"{why}; {left}")
        with session() as s:
            won = rowcount(
                s.execute(
                    update(Job)
                    .where(
                        Job.id == job.id,
                        Job.attempt == job.attempt,
                        Job.status == JobStatus.RUNNING.value,
                        (Job.heartbeat < cutoff) | Job.heartbeat.is_(None),
                    )
                    .values(**values)
                )
            )
        if not won:
            continue  # renewed meanwhile, or another host took it over first
        if job.run_id:
            close_run(job.run_id, RunStatus.ABORTED, why)
        release_job_units(job.id)
        after = get_job(job.id)
        assert after is not None
        changed.append(after)
    return changed


def fail_unserved_jobs(
    now: datetime, grace: timedelta, serving: Mapping[str, Collection[str]], campaign_id: str
) -> list[JobRecord]:
    """End the campaign's queued jobs that no live worker has served for `grace`: no host holding
    their model (or backend) is up, so they would wait forever."""
    with session() as s:
        waiting = [
            _record(j)
            for j in s.scalars(select(Job).where(Job.campaign_id == campaign_id, Job.status == JobStatus.QUEUED.value))
        ]
    ended = []
    for job in waiting:
        if job.queue in serving or (job.queued and job.queued >= now - grace):
            continue
        cause = f"no live worker serves {job.target} (queue {job.queue}) to run it"
        if job.history:
            cause += f"; before: {job.history[-1]['cause']}"
        if fail_job(job.id, cause, now):
            ended.append(job)
    return ended
