"""A sample deployed in containers of the local engine: its files, logs, instances, kill and restart."""

from __future__ import annotations

import io
import posixpath
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.deploy.base import OUTPUT_LOG, DeployError, Deployment, NotServing, wait_healthy
from harness.deploy.container_engine import SAMPLE_DIR

if TYPE_CHECKING:
    from docker.models.containers import Container


# Run on the edge: wait until HOST accepts TCP connections on every PORT (an instance is up again).
# python3 -c LISTENING <host> <deadline-seconds> <port> ...
LISTENING = r"""
import socket, sys, time
host, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
for port in map(int, sys.argv[3:]):
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(1)
            time.sleep(0.1)
"""


def archive_member(container: Container, path: str) -> bytes:
    """One regular file out of a (running or stopped) container."""
    from docker.errors import NotFound

    try:
        stream, _stat = container.get_archive(path)
    except NotFound:
        raise FileNotFoundError(f"{path} does not exist in container {container.short_id}") from None
    buf = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=buf) as tar:
        member = tar.next()
        if member is None or not member.isfile():
            raise IsADirectoryError(f"{path} is not a regular file in container {container.short_id}")
        f = tar.extractfile(member)
        assert f is not None
        return f.read()


@dataclass
class ContainerDeployment(Deployment):
    client: Any = None  # docker.DockerClient; Any so the dataclass needs no docker import
    container_id: str = ""
    edge_id: str = ""
    network_id: str = ""
    sample_dir: str = SAMPLE_DIR
    log_files: list[str] = field(default_factory=list)
    collect_files: list[str] = field(default_factory=list)
    ledger_key: str = ""
    bridge: str = ""
    service_ids: list[str] = field(default_factory=list)  # containers of the declared services
    torn_down: bool = False
    # Behind the entry point (``container_id`` is then the entry's container): one per instance,
    # all sharing ``volume`` at the sample's directory.
    instance_ids: list[str] = field(default_factory=list)
    volume: str = ""

    @property
    def collected_dir(self) -> Path:
        return self.workdir / "collected"

    def _container(self) -> Container | None:
        from docker.errors import NotFound

        if not self.container_id or self.client is None:
            return None
        try:
            return self.client.containers.get(self.container_id)
        except NotFound:
            return None

    def container_logs(self) -> str:
        c = self._container()
        out = c.logs(stdout=True, stderr=True).decode(errors="replace") if c else ""
        for i, cid in enumerate(self.instance_ids):
            ci = self._by_id(cid)
            if ci is not None:
                out += f"\n--- instance {i} ---\n" + ci.logs(stdout=True, stderr=True).decode(errors="replace")
        return out

    def _by_id(self, cid: str) -> Container | None:
        from docker.errors import NotFound

        if not cid or self.client is None:
            return None
        try:
            return self.client.containers.get(cid)
        except NotFound:
            return None

    def _path(self, relative: str) -> str:
        norm = posixpath.normpath(posixpath.join(self.sample_dir, relative))
        if not (norm + "/").startswith(self.sample_dir.rstrip("/") + "/") or norm == self.sample_dir:
            raise PermissionError(f"{relative} is outside the sample's directory")
        return norm

    def logs(self) -> str:
        if self.torn_down:  # everything was kept in the workdir before the container went
            out = self.workdir / OUTPUT_LOG
            return out.read_text(errors="replace") if out.exists() else ""
        parts = [self.container_logs()]
        for rel in self.log_files:
            try:
                parts.append(f"--- {rel} ---\n" + self.read_file(rel).decode(errors="replace"))
            except (OSError, PermissionError):
                continue
        return "\n".join(p for p in parts if p)

    def read_file(self, relative: str) -> bytes:
        path = self._path(relative)
        c = self._container()
        if c is not None:
            return archive_member(c, path)
        kept = (self.collected_dir / relative).resolve()
        if kept.is_relative_to(self.collected_dir.resolve()) and kept.is_file():
            return kept.read_bytes()
        raise FileNotFoundError(f"{relative}: the container is gone and the file was not collected at teardown")

    def alive(self) -> bool:
        c = self._container()
        if c is None:
            return False
        return c.status == "running"

    def exit_status(self) -> int | None:
        c = self._container()
        return None if c is None or c.status == "running" else c.attrs["State"].get("ExitCode")

    # answering_socket_holder: the base's None holds here. The host port is one the engine allocated
    # and published on the edge, which forwards only into the sample's own container.

    def kill(self) -> None:
        from docker.errors import DockerException

        c = self._container()
        if c is None:
            raise DeployError("the sample container is gone: nothing to kill")
        try:
            c.kill()  # SIGKILL to the container's init and with it every process in it
            c.wait(timeout=30)
        except DockerException as e:
            raise DeployError(f"docker kill of the sample failed: {e}") from None
        for i in range(len(self.instance_ids)):
            self.kill_instance(i)

    def instance_count(self) -> int:
        return max(1, len(self.instance_ids))

    def _instance(self, index: int) -> Container:
        if not 0 <= index < len(self.instance_ids):
            raise DeployError(f"no instance {index}: the sample runs {self.instance_count()} instance(s)")
        c = self._by_id(self.instance_ids[index])
        if c is None:
            raise DeployError(f"the container of instance {index} is gone")
        return c

    def kill_instance(self, index: int) -> None:
        from docker.errors import DockerException

        c = self._instance(index)
        try:
            c.reload()
            if c.status == "running":
                c.kill()
            c.wait(timeout=30)
        except DockerException as e:
            raise DeployError(f"docker kill of instance {index} failed: {e}") from None

    def restart_instance(self, index: int, timeout_s: float) -> float:
        from docker.errors import DockerException

        c = self._instance(index)
        start = time.monotonic()
        try:
            c.start()
        except DockerException as e:
            raise DeployError(f"docker start of instance {index} failed: {e}") from None
        self.wait_instance(index, timeout_s)
        return time.monotonic() - start

    def wait_instance(self, index: int, timeout_s: float) -> None:
        """Until the instance accepts connections on its declared ports, seen from the edge (the
        instances are on the internal network only)."""
        from docker.errors import DockerException

        assert self.loaded is not None, "deployed without its spec"
        c, edge = self._instance(index), self._by_id(self.edge_id)
        if edge is None:
            raise DeployError("the edge container is gone: the instance cannot be reached")
        ports = [str(p.port) for p in self.loaded.spec.deployment.ports]
        try:
            rc, _ = edge.exec_run(["python3", "-c", LISTENING, c.name, f"{timeout_s:g}", *ports])
        except DockerException as e:
            raise DeployError(f"cannot probe instance {index} from the edge: {e}") from None
        if rc != 0:
            raise NotServing(f"instance {index} accepted no connection within {timeout_s:g} s", self.logs())

    def restart(self, timeout_s: float) -> float:
        """The same container started again: the engine runs its start step on the files it kept."""
        from docker.errors import DockerException

        assert self.loaded is not None, "deployed without its spec"
        c = self._container()
        if c is None:
            raise DeployError("the sample container is gone: nothing to start again")
        start = time.monotonic()
        try:
            for i in range(len(self.instance_ids)):
                self._instance(i).start()
            c.start()
            c.reload()
        except DockerException as e:
            raise DeployError(f"docker start of the sample failed: {e}") from None
        networks = c.attrs["NetworkSettings"]["Networks"]
        self.info["sample_ip"] = next((n.get("IPAddress") for n in networks.values()), None)
        for i in range(len(self.instance_ids)):
            self.wait_instance(i, max(0.1, timeout_s - (time.monotonic() - start)))
        wait_healthy(self.loaded, self, self.alive, self.logs, max(0.1, timeout_s - (time.monotonic() - start)))
        return time.monotonic() - start
