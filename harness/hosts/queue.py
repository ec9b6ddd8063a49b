"""The Celery app and its one task: a job (a sample x model x suites run) by its ID and attempt.

Delivery settings for long jobs: a message is acknowledged only when its job has ended (late
acks), a worker process takes one message at a time (prefetch 1, and one job per process, so a
job's pytest session starts clean), and Redis's visibility timeout is longer than the longest job
(harness.hosts.settings). No result backend: what a job did is in the lab record.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from harness.hosts.settings import HostSettings

app = Celery("harness", set_as_current=False)


def configure(settings: HostSettings) -> Celery:
    if app.conf.broker_url not in (None, settings.broker_url) and app._pool is not None:
        # Another broker than the one this process sent to before (a tool driving several labs):
        # drop the connections to the old one, as Celery does after a fork.
        app.pool.force_close_all()
        app._after_fork()
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options={"visibility_timeout": settings.visibility_timeout},
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        task_acks_late=True,
        # A worker process lost mid-job (killed, out of memory): its message is acknowledged, not
        # handed out again; the job's stopped heartbeat is what gets it retried (recover_jobs).
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=1,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # a job's pytest output goes to the worker's log as it is
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


@app.task(name="harness.job", bind=True, acks_late=True)
def run_job(self: Any, job_id: str, attempt: int) -> None:
    from harness.hosts.job import execute  # the pytest side loads in the job's own process

    execute(job_id, attempt, str(self.request.hostname), requeue=send_job)


def send_job(job_id: str, attempt: int, queue: str) -> None:
    """Put one attempt of a job on its queue."""
    run_job.apply_async(args=[job_id, attempt], queue=queue, retry=True, retry_policy={"max_retries": 3})
