"""Run the sample as local processes, exactly by its spec's install and start steps.

With ``isolation: none`` (the default) the sample listens on 127.0.0.1, on free ports the lab
picks, or on the declared number of a ``fixed`` port. With ``isolation: namespace`` it runs in a
lab network namespace of its own (harness.deploy.netns) on the declared ports of an address of the
lab's range, so products that bind a fixed port or every interface run side by side and are
reached from the network, not from loopback. Declared services start first (harness.deploy.services);
in a namespace they run there too, on its loopback.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISDIR
from typing import Any

from harness.deploy import leftovers, netns, services, sockets
from harness.deploy.base import (
    INSTALL_LOG,
    OUTPUT_LOG,
    Deployer,
    DeployError,
    Deployment,
    Target,
    register,
    wait_healthy,
)
from harness.deploy.local import free_port, kill_group, port_free, signal_group
from harness.files import FileRefused, read_bytes, regular_file, stat_of
from harness.media import entries
from harness.spec import LoadedSpec
from harness.templating import TemplateError, deploy_values, render

MAX_READ_BYTES = 1 << 30  # a log or data file the checks read

__all__ = ["ProcessDeployer", "ProcessDeployment", "copy_media", "free_port", "kill_group"]


def copy_tree(src: Path, dest: Path) -> None:
    """Copy a directory medium as submitted: files with their modes, links as links (never followed),
    byte caches left out. A link that leaves the medium, or a special file, is refused (intake
    reports both; this is the second line of defence, at use)."""
    try:
        found = entries(src)
    except FileRefused as e:
        raise DeployError(f"media {src}: {e}") from None
    dest.mkdir(parents=True, exist_ok=True)
    for entry in found:
        if entry.link_escapes():
            raise DeployError(f"media {src}: {entry.rel} is a link to {entry.target}, outside the medium")
        if entry.kind not in ("file", "link"):
            raise DeployError(f"media {src}: {entry.rel} is a {entry.kind}, not a file")
    try:
        for entry in found:
            out = dest / entry.rel
            out.parent.mkdir(parents=True, exist_ok=True)
            if entry.kind == "link":
                out.symlink_to(entry.target)
            else:
                shutil.copy2(entry.path, out, follow_symlinks=False)  # refuses a file swapped for a FIFO
    except OSError as err:
        raise DeployError(f"media {src}: cannot be copied: {err}") from None


def copy_media(loaded: LoadedSpec, dest: Path) -> None:
    """Put the sample's media in a fresh working directory: each run starts from what was submitted."""
    dest.mkdir(parents=True, exist_ok=True)
    for m in loaded.spec.media:
        src = loaded.resolve(m.path)  # refuses a path outside the spec's folder
        try:
            st = stat_of(src)
        except FileRefused as e:
            raise DeployError(f"media {m.path} (looked at {src}): {e}") from None
        if S_ISDIR(st.st_mode):
            copy_tree(src, dest / src.name)
        else:
            try:
                regular_file(src)
            except FileRefused as e:
                raise DeployError(f"media {m.path} (looked at {src}): {e}") from None
            shutil.copy2(src, dest / src.name)


@dataclass
class ProcessDeployment(Deployment):
    proc: subprocess.Popen[bytes] | None = None
    proc_start: str = ""  # the leader's kernel start time: with its pid, it names the group for good
    log_files: list[str] = field(default_factory=list)
    ledger_key: str = ""
    namespace: netns.Namespace | None = None  # isolation: namespace
    start_cmd: str = ""  # rendered, so a restart runs exactly what the first start ran
    env: dict[str, str] = field(default_factory=dict, repr=False)
    torn_down: bool = False

    @property
    def sample_dir(self) -> Path:
        return self.workdir / "sample"

    def logs(self) -> str:
        parts = []
        out = self.workdir / OUTPUT_LOG
        if out.exists():
            parts.append(out.read_text(errors="replace"))
        for rel in self.log_files:
            try:
                parts.append(f"--- {rel} ---\n" + self.read_file(rel).decode(errors="replace"))
            except OSError:  # not written (yet), or outside the sample's directory
                continue
        return "\n".join(parts)

    def read_file(self, relative: str) -> bytes:
        """A file the sample wrote, never one outside its directory (also not through a link), and
        never a special file (a FIFO the sample made would block the reader)."""
        p = (self.sample_dir / relative).resolve()
        if not p.is_relative_to(self.sample_dir.resolve()):
            raise PermissionError(f"{relative} is outside the sample's directory")
        try:
            return read_bytes(p, MAX_READ_BYTES)
        except FileRefused as e:
            raise FileNotFoundError(f"{relative}: {e}") from None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def answering_socket_holder(self, port: int) -> str | None:
        # The sample's tree is its own session (start_new_session): every listener that could take
        # a connection to host:port must be one of its sockets. In its own network namespace nothing
        # but the sample can hold a port.
        if self.proc is None or self.namespace is not None:
            return None
        listeners = sockets.listeners_on(port, {self.host})
        if not listeners:
            return "no listening socket the harness can see"
        own = {i for pid in sockets.process_tree(self.proc.pid) for i in sockets.socket_inodes(pid)}
        foreign = [s for s in listeners if s.inode not in own]
        return sockets.holder_of(foreign[0].inode) if foreign else None

    def launch(self) -> None:
        """Run the start step in the sample's directory (in its namespace, if it has one), in a
        process group of its own (so a teardown or a kill reaches the whole tree), its output kept
        apart from the lab's transcript, and record it in the ledger."""
        argv = ["/bin/sh", "-c", self.start_cmd]
        if self.namespace is not None:
            argv = [*self.namespace.run_prefix(), *argv]
        where = f"  (in network namespace {self.namespace.name})\n" if self.namespace is not None else ""
        with (self.workdir / INSTALL_LOG).open("ab") as t:
            t.write(f"$ {self.start_cmd}\n{where}".encode())
        with (self.workdir / OUTPUT_LOG).open("ab") as out:
            self.proc = subprocess.Popen(
                argv,
                cwd=self.sample_dir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.proc_start = leftovers.process_start(self.proc.pid)
        self.record_ledger()
        self.info["pid"] = self.proc.pid

    def kill(self) -> None:
        if self.proc is None:
            return
        # The whole group at once; waiting on the leader reaps it (a zombie would still count).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def restart(self, timeout_s: float) -> float:
        assert self.loaded is not None, "deployed without its spec"
        if self.alive():
            raise DeployError("restart asked for while the sample still runs")
        self.launch()
        return wait_healthy(self.loaded, self, self.alive, self.logs, timeout_s)

    def ledger(self) -> dict[str, Any]:
        return {
            "pgid": self.proc.pid if self.proc is not None else None,
            "start": self.proc_start,  # with the pgid: a reused group id is never taken for this one
            "workdir": str(self.workdir),
            "netns": self.namespace.slot if self.namespace is not None else None,
            "services": [s.ledger() for s in self.services.values()],
        }

    def record_ledger(self) -> None:
        """Rewrite the ledger entry with everything started so far (a killed run leaves a record)."""
        old = self.ledger_key
        self.ledger_key = leftovers.record("process", self.ledger())
        if old:
            leftovers.forget(old)


def run_step(cmd: str, cwd: Path, env: dict[str, str], timeout_s: float, log: Path) -> None:
    with log.open("ab") as out:
        out.write(f"$ {cmd}\n".encode())
        out.flush()
        try:
            rc = subprocess.run(
                cmd, shell=True, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s
            ).returncode
        except subprocess.TimeoutExpired:
            raise DeployError(f"install step timed out after {timeout_s:g} s: {cmd}", log.read_text()) from None
    if rc != 0:
        raise DeployError(f"install step exited {rc}: {cmd}", log.read_text(errors="replace"))


def _shown(cmd: str, dep: ProcessDeployment) -> str:
    """A command for an error message: the services' generated passwords hidden."""
    for svc in dep.services.values():
        cmd = cmd.replace(svc.password, "***").replace(svc.lab_password, "***")
    return cmd


def _listen_ports(loaded: LoadedSpec, namespace: netns.Namespace | None) -> dict[str, int]:
    """The port each declared port listens on: in a namespace of its own, the declared number;
    on the shared loopback, a free one, or the declared number where the product cannot be told."""
    d = loaded.spec.deployment
    if namespace is not None:
        return {p.name: p.port for p in d.ports}
    out = {}
    for p in d.ports:
        if not p.fixed:
            out[p.name] = free_port()
        elif port_free("127.0.0.1", p.port):
            out[p.name] = p.port
        else:
            raise DeployError(
                f"port {p.name} is fixed at {p.port}, which something else on this host already holds: "
                "declare `isolation: namespace` to run the sample on an address of its own"
            )
    return out


@register("process")
class ProcessDeployer(Deployer):
    def deploy(self, loaded: LoadedSpec, target: Target, workdir: Path) -> ProcessDeployment:
        d = loaded.spec.deployment
        if workdir.exists():
            shutil.rmtree(workdir)
        sample_dir = workdir / "sample"
        copy_media(loaded, sample_dir)
        dep = ProcessDeployment(
            target=target,
            host="127.0.0.1",
            ports={},
            workdir=workdir,
            info={"backend": "process", "host": "127.0.0.1", "isolation": d.isolation},
            loaded=loaded,
            log_files=list(d.log_files),
        )
        try:
            self._start(loaded, dep)
            try:
                dep.info["healthy_after_s"] = round(wait_healthy(loaded, dep, dep.alive, dep.logs), 3)
            except DeployError as e:
                if dep.proc is None or dep.proc.poll() is None:
                    raise
                # Name how it was started: its own output may not (the lab's transcript is not its log).
                raise DeployError(
                    f"{e.args[0]}; exit code {dep.proc.returncode}, started as: {_shown(dep.start_cmd, dep)}", e.logs
                ) from None
        except BaseException:
            self.teardown(dep)
            raise
        return dep

    def _start(self, loaded: LoadedSpec, dep: ProcessDeployment) -> None:
        d = loaded.spec.deployment
        bind = "127.0.0.1"
        if d.isolation == "namespace":
            try:
                dep.namespace = netns.create()
            except netns.NamespaceError as e:
                raise DeployError(str(e)) from None
            dep.record_ledger()
            dep.host = dep.namespace.address
            bind = "0.0.0.0"  # every interface of its own namespace: its loopback and its link to the lab
            dep.info.update(host=dep.host, netns=dep.namespace.name, host_firewall=netns.close_host(dep.namespace))
        dep.ports = _listen_ports(loaded, dep.namespace)
        dep.info["ports"] = dict(dep.ports)

        def started(inst: services.ServiceInstance) -> None:
            dep.services[inst.name] = inst  # from here on, teardown (or the next start) stops it
            dep.record_ledger()

        for decl in d.services:
            services.start_local(decl, dep.workdir, dep.namespace, started)
        if dep.services:
            dep.info["services"] = [s.describe() for s in dep.services.values()]
        provided = services.template_namespace(dep.services)
        values = deploy_values(str(dep.sample_dir), bind, dep.host, dep.ports, provided)
        env = dict(os.environ)
        transcript = dep.workdir / INSTALL_LOG
        try:
            env.update({k: render(v, values) for k, v in d.env.items()})
            for step in d.install:
                run_step(render(step.run, values), dep.sample_dir, env, step.timeout_s, transcript)
            dep.start_cmd = render(d.start.run, values)
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None
        dep.env = env
        dep.info["install_transcript"] = INSTALL_LOG
        dep.info["install_steps"] = len(d.install)
        dep.launch()

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, ProcessDeployment)
        dep = deployment
        if dep.torn_down:
            return
        if dep.proc is not None:
            # Not reaped yet, so the leader's pid cannot have been reused; the start time still names it.
            kill_group(dep.proc.pid, start=dep.proc_start)
            with contextlib.suppress(subprocess.TimeoutExpired):
                dep.proc.wait(timeout=10)
            dep.info["exit_code"] = dep.proc.returncode
        for inst in dep.services.values():
            services.stop_local(inst)
        if dep.namespace is not None:
            # Whatever the sample left running in its namespace (a daemon that escaped its group).
            left = netns.destroy(dep.namespace)
            if left:
                dep.info["killed_in_namespace"] = left
        dep.torn_down = True
        if dep.ledger_key:
            leftovers.forget(dep.ledger_key)

    def cleanup_stale(self) -> list[str]:
        removed = []
        for key, payload in leftovers.orphans("process"):
            pgid, start = payload.get("pgid"), str(payload.get("start") or "")
            if isinstance(pgid, int) and pgid > 1:
                # Only the group the dead run started: its leader's pid and start time, never a
                # group whose id the kernel has since given to an unrelated process.
                if not start:
                    removed.append(f"dropped a leftover record of group {pgid} without its start time (not killed)")
                elif signal_group(pgid, start, signal.SIGKILL):
                    removed.append(f"killed leftover sample process group {pgid} ({payload.get('workdir')})")
            removed += services.cleanup_ledger(list(payload.get("services") or []))
            slot = payload.get("netns")
            if isinstance(slot, int) and 0 <= slot < netns.SLOTS:
                ns = netns.Namespace(slot)
                netns.destroy(ns)
                removed.append(f"removed leftover network namespace {ns.name}")
            leftovers.forget(key)
        return removed
