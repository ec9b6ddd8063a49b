"""What a lab host and a campaign agree on: the broker, the lease and the longest job, read from
the environment like the rest of the lab's configuration (harness.config).

Why Redis (Debian's redis-server), not RabbitMQ: the lab runs a handful of long jobs, not a
stream of short messages, so the broker's throughput does not matter; Redis is one small
package the lab already runs, starts in milliseconds and is kept across restarts with its
append-only file. Its one trap for long jobs, redelivering a message whose worker has not acked it
within the visibility timeout, is closed twice: the timeout is set longer than the longest job,
and a job refuses to outlive it (the job's watchdog). A message delivered twice anyway (a broker
restored from its file) is run at most once, because a worker runs only an attempt it has
claimed in the lab record. A dead worker's job is not left to the broker at all: its heartbeat
in the record stops, and the record's recovery queues the next attempt or ends it as an error.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from harness.errors import InputError

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{name}={raw!r}: not a number of seconds") from None
    if value <= 0:
        raise InputError(f"{name}={raw!r}: must be more than 0 seconds")
    return value


@dataclass(frozen=True)
class HostSettings:
    broker_url: str
    lease: timedelta  # a worker or job silent for this long is gone
    longest_job: timedelta  # no job may run longer (its suites' longest run, with margin)

    @property
    def heartbeat_every(self) -> timedelta:
        # Nine missed beats before the lease runs out: a busy host is not a dead one.
        return max(self.lease / 9, timedelta(seconds=0.5))

    @property
    def visibility_timeout(self) -> int:
        """Seconds Redis waits for an unacknowledged job before handing it out again: longer than
        any job can run, so a job that is still running is never delivered a second time."""
        return int((self.longest_job + 2 * self.lease).total_seconds())


def host_settings() -> HostSettings:
    return HostSettings(
        broker_url=os.environ.get("HARNESS_BROKER_URL", "").strip() or DEFAULT_BROKER,
        lease=timedelta(seconds=_seconds("HARNESS_LEASE_S", 90)),
        longest_job=timedelta(seconds=_seconds("HARNESS_JOB_MAX_S", 4 * 3600)),
    )


def queue_for(backend: str, target: str) -> str:
    """A job for a terminal model goes to that model's queue, which only hosts holding a unit of the
    model consume; a container or process job to its backend's queue."""
    return f"harness.unit.{target}" if backend == "terminal" else f"harness.backend.{backend}"
