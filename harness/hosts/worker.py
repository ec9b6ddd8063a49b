"""`harness worker`: a lab host serving the terminal models of its own inventory (HARNESS_INVENTORY)
and the container and process capacity it is given.

It consumes the queue of every model it holds a unit of, so a job for a model reaches only a host
holding it. Before it takes a job it removes what a previous life of this host left behind (the
deployment ledger of its data directory). While it runs, a heartbeat keeps it alive in the record
and sweeps the record for jobs whose worker (on any host) stopped reporting.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
from dataclasses import dataclass
from typing import Any

from celery import signals

from harness import results
from harness.deploy import deployer_for
from harness.deploy.inventory import Inventory, load_inventory
from harness.errors import InputError
from harness.hosts.queue import configure
from harness.hosts.recovery import sweep
from harness.hosts.settings import HostSettings, host_settings, queue_for
from harness.results import host_identity, utcnow

log = logging.getLogger("harness.hosts")


@dataclass(frozen=True)
class HostOffer:
    """What this host serves: its inventory's models and its container and process capacity."""

    inventory: Inventory
    containers: int
    processes: int

    @property
    def queues(self) -> list[str]:
        out = [queue_for("terminal", m) for m in self.inventory.models]
        if self.containers:
            out.append(queue_for("container", "container"))
        if self.processes:
            out.append(queue_for("process", "process"))
        return out

    @property
    def backends(self) -> list[str]:
        return (
            (["terminal"] if self.inventory.units else [])
            + (["container"] if self.containers else [])
            + (["process"] if self.processes else [])
        )

    @property
    def capacity(self) -> int:
        """Jobs at once: one per unit, plus the container and process slots."""
        return len(self.inventory.units) + self.containers + self.processes


class _Presence:
    """The worker's heartbeat in the record, with a sweep for dead jobs at every beat."""

    def __init__(self, name: str, offer: HostOffer, settings: HostSettings) -> None:
        self.name, self.offer, self.settings = name, offer, settings
        self._beat = results.Heartbeat(f"worker-{name}", every=settings.heartbeat_every, renew=self._renew)

    def _renew(self) -> bool:
        results.beat_worker(self.name, utcnow())
        for line in sweep(self.settings):
            log.warning("%s", line)
        return True

    def start(self) -> None:
        units = [{"id": u.id, "model": u.model} for u in self.offer.inventory.units]
        results.register_worker(self.name, host_identity(), self.offer.queues, units, self.offer.capacity, utcnow())
        self._beat.start()

    def stop(self) -> None:
        self._beat.stop()
        results.stop_worker(self.name, utcnow())


def _say(line: str) -> None:
    sys.stderr.write(f"harness worker: {line}\n")
    sys.stderr.flush()


def serve(name: str | None, containers: int, processes: int, loglevel: str = "WARNING") -> None:
    """Run this host's worker until it is stopped (SIGTERM: after the jobs under way end)."""
    settings = host_settings()
    offer = HostOffer(load_inventory(), containers, processes)
    if not offer.queues:
        raise InputError(
            "this host would serve nothing: its inventory lists no unit, and --containers and --processes are 0"
        )
    node = name or f"harness@{platform.node()}"
    results.open_lab()
    for backend in offer.backends:  # what a previous life of this host left on its units and here
        for line in deployer_for(backend).cleanup_stale():
            _say(line)
    presence = _Presence(node, offer, settings)

    @signals.worker_ready.connect(weak=False)
    def _ready(**_: Any) -> None:
        presence.start()
        units = ", ".join(f"{u.id} ({u.model})" for u in offer.inventory.units) or "no terminal unit"
        _say(
            f"{node} ready: {units}; containers {containers}, processes {processes}; "
            f"queues {', '.join(offer.queues)}; {offer.capacity} job(s) at once; lease {settings.lease}"
        )

    @signals.worker_shutdown.connect(weak=False)
    def _shutdown(**_: Any) -> None:
        presence.stop()
        _say(f"{node} stopped")

    app = configure(settings)
    threading.current_thread().name = "harness-worker"
    app.worker_main(
        [
            "worker",
            f"--hostname={node}",
            f"--queues={','.join(offer.queues)}",
            f"--concurrency={offer.capacity}",
            "--pool=prefork",
            "--prefetch-multiplier=1",
            "--max-tasks-per-child=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--loglevel={loglevel}",
        ]
    )
