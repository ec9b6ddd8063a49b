"""A job on a lab host: claim the attempt in the record, hold a lease on it (and on its unit), run
the sample with the same library `harness run` uses, and say in the record how it ended.

Runs in a worker process of its own (one job per process). While it runs, one heartbeat renews
the job's lease and its unit's; if either is found taken over (the host was presumed dead and
another host got the job or the unit), the run is interrupted like a SIGTERM (the sample is torn
down, the run ends aborted, what it recorded stays) and the job is left to its new holder.
"""

from __future__ import annotations

import _thread
import logging
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness import results
from harness.deploy.inventory import load_inventory
from harness.errors import EXIT_LAB_ERROR, HarnessError, LabError, exit_code_of
from harness.hosts.settings import HostSettings, host_settings
from harness.results import JobRecord, JobStatus, utcnow

log = logging.getLogger("harness.hosts")
UNIT_TRIES = 5  # then the job is given back, for a host whose unit of the model is free


class JobLease:
    """The job's heartbeat in the record, and its unit's; the watchdog of the longest job."""

    def __init__(self, job: JobRecord, worker: str, settings: HostSettings) -> None:
        self.job, self.worker, self.settings = job, worker, settings
        self.unit_id: str | None = None
        self.running = threading.Event()  # the sample's run is under way: an interrupt reaches it
        self.why_stopped: str | None = None
        self._started = time.monotonic()
        self._beat = results.Heartbeat(job.id, every=settings.heartbeat_every, renew=self._renew, on_lost=self._lost)

    def start(self) -> JobLease:
        self._beat.start()
        return self

    def stop(self) -> None:
        self._beat.stop()

    @property
    def lost(self) -> bool:
        return self._beat.lost.is_set()

    def _renew(self) -> bool:
        now = utcnow()
        held = results.renew_job(self.job.id, self.job.attempt, self.worker, now)
        if held and self.unit_id is not None:
            held = results.renew_reservation(self.unit_id, self.job.id, now, self.settings.lease)
        if held and time.monotonic() - self._started > self.settings.longest_job.total_seconds():
            self._interrupt(
                f"it ran longer than the lab's longest job ({self.settings.longest_job}, HARNESS_JOB_MAX_S)"
            )
        return held

    def _lost(self) -> None:
        self._interrupt("its lease was taken over: the record presumed this host dead")

    def _interrupt(self, why: str) -> None:
        if self.why_stopped is not None:
            return
        self.why_stopped = why
        log.warning("job %s attempt %d: stopping: %s", self.job.id, self.job.attempt, why)
        if self.running.is_set():
            # As a SIGTERM: the run's own handler unwinds pytest, tears the sample down, aborts the run.
            _thread.interrupt_main(signal.SIGTERM)


def _reserve(job: JobRecord, worker: str, lease: JobLease) -> str | None:
    """A unit of the job's model from this host's inventory, reserved in the record; None when
    every one stayed held by other jobs (on this host or another) for a few heartbeats."""
    units = [u.id for u in load_inventory().units_for(job.target)]
    if not units:
        raise LabError(f"this host ({worker}) has no unit of {job.target} in its inventory")
    settings = lease.settings
    pause = min(1.0, settings.heartbeat_every.total_seconds())
    for n in range(UNIT_TRIES):
        if n:
            time.sleep(pause)
        for unit_id in units:
            if results.reserve_unit(unit_id, job.target, job.id, worker, utcnow(), settings.lease):
                lease.unit_id = unit_id
                results.note_job(job.id, job.attempt, worker, unit_id=unit_id)
                return unit_id
        if lease.lost or lease.why_stopped:
            raise LabError(f"stopped while waiting for a unit of {job.target}: {lease.why_stopped}")
    return None


def execute(job_id: str, attempt: int, worker: str, requeue: Callable[[str, int, str], None]) -> None:
    """Run one attempt of a job, if this worker can claim it. `requeue(job_id, attempt, queue)`
    puts a job given back on its queue again (harness.hosts.queue.send_job)."""
    from harness.run import run_sample  # pytest and the suites: only in a job's process

    settings = host_settings()
    job = results.claim_job(job_id, attempt, worker, utcnow())
    if job is None:
        # Already claimed, superseded by a later attempt, or ended: a second delivery runs nothing.
        log.info("job %s attempt %d: not claimed (taken, superseded or ended); skipped", job_id, attempt)
        return
    log.info("job %s attempt %d: %s on %s (%s)", job.id, attempt, job.sample, job.target, job.spec_path)
    lease = JobLease(job, worker, settings).start()
    status, code, cause = JobStatus.ERROR, EXIT_LAB_ERROR, None
    try:
        units = None
        if job.backend == "terminal":
            unit = _reserve(job, worker, lease)
            if unit is None:
                lease.stop()
                if results.unclaim_job(job.id, attempt, worker):
                    requeue(job.id, attempt, job.queue)
                log.info("job %s attempt %d: every unit of %s here is busy; given back", job.id, attempt, job.target)
                return
            units = {job.target: unit}
        lease.running.set()
        try:
            result = run_sample(
                job.spec_path,
                backend=job.backend,
                only=job.only,
                suites=[Path(s) for s in job.suites] if job.suites else None,
                units=units,
                on_open=lambda run_id: results.note_job(job.id, attempt, worker, run_id=run_id),
            )
        finally:
            lease.running.clear()
        if lease.why_stopped is None:
            status, code, cause = JobStatus.FINISHED, result.exit_code, result.reason
        else:
            cause = f"run {result.run_id} stopped: {lease.why_stopped}"
    except HarnessError as e:
        code, cause = exit_code_of(e), "; ".join(e.lines())
    except Exception as e:  # anything else is a lab error, with its cause on record
        log.exception("job %s attempt %d failed", job.id, attempt)
        cause = f"the harness failed unexpectedly: {type(e).__name__}: {e}"
    finally:
        lease.stop()
        if lease.unit_id is not None:
            results.release_unit(lease.unit_id, job.id)
    if not results.finish_job(job.id, attempt, worker, status, utcnow(), code, cause):
        log.warning("job %s attempt %d: no longer this worker's; its end was not recorded", job.id, attempt)
    else:
        log.info("job %s attempt %d: %s (exit %s)%s", job.id, attempt, status, code, f": {cause}" if cause else "")
