"""Recovery of jobs whose worker died, run by every worker at each heartbeat and by a campaign
that follows its jobs: whoever notices first takes the job over (the record lets only one)."""

from __future__ import annotations

from harness import results
from harness.hosts.queue import send_job
from harness.hosts.settings import HostSettings
from harness.results import utcnow


def sweep(settings: HostSettings) -> list[str]:
    """Find jobs whose worker stopped reporting (on any host) and free their units; queue the next
    attempt of those a live worker can retry. Safe to run on every host at once."""
    now = utcnow()
    serving: dict[str, list[str]] = {}
    for w in results.live_workers(now, settings.lease):
        for q in w.queues:
            serving.setdefault(q, []).append(w.name)
    lines = []
    for job in results.recover_jobs(now, settings.lease, serving):
        dead = job.history[-1] if job.history else {}
        if job.status == results.JobStatus.QUEUED:
            send_job(job.id, job.attempt, job.queue)
            lines.append(f"job {job.id}: {dead.get('cause')}; attempt {job.attempt} queued")
        else:
            lines.append(f"job {job.id}: error: {job.cause}")
    results.drop_expired_reservations(now)
    return lines
