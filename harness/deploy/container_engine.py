"""The local container engine's client, and the labels by which the lab knows what it created there
(and whose run, so that a dead run's leftovers can be removed).

The docker SDK is imported inside functions, so this module imports on a machine without an engine.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from harness.deploy import leftovers
from harness.deploy.base import DeployError

if TYPE_CHECKING:
    from docker import DockerClient


SAMPLE_DIR = "/opt/sample"
LABEL_OWNER = "harness-lab.run-owner-pid"
LABEL_OWNER_START = "harness-lab.run-owner-start"  # guards against a reused pid
LABEL_DEPLOYMENT = "harness-lab.deployment"
LABEL_ROLE = "harness-lab.role"
LABEL_CACHE = "harness-lab.sample-cache"  # images kept across runs, keyed by what built them


def owner_labels() -> dict[str, str]:
    pid = os.getpid()
    return {LABEL_OWNER: str(pid), LABEL_OWNER_START: leftovers.process_start(pid), LABEL_DEPLOYMENT: "1"}


def owner_gone(labels: dict[str, str]) -> bool:
    try:
        pid = int(labels.get(LABEL_OWNER, ""))
    except ValueError:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = labels.get(LABEL_OWNER_START)
    return bool(start) and leftovers.process_start(pid) not in ("", start)


def docker_client() -> DockerClient:
    """A client of the local engine, or a DeployError saying how to start one."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        raise DeployError("the container backend needs the 'docker' Python package") from None
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except DockerException as e:
        raise DeployError(f"docker engine not reachable ({e}); start it with lab_env/setup_docker.sh") from None
    return client


def remove(
    client: DockerClient | None, containers: list[str], networks: list[str], volumes: Sequence[str] = ()
) -> None:
    """Force-remove by ID (volumes by name); what is already gone is fine (teardown and cleanup may race)."""
    if client is None:
        return
    from docker.errors import DockerException

    for cid in filter(None, containers):
        with contextlib.suppress(DockerException):  # NotFound included
            client.containers.get(cid).remove(force=True)
    for nid in filter(None, networks):
        with contextlib.suppress(DockerException):
            client.networks.get(nid).remove()
    for vid in filter(None, volumes):  # after the containers that mounted it
        with contextlib.suppress(DockerException):
            client.volumes.get(vid).remove(force=True)
