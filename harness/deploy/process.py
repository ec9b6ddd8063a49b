"""Run the sample as local processes on 127.0.0.1, exactly by its spec's install and start steps.

A sample that declares several instances runs its start step once per instance, each on ports of
its own and all on the one working directory (the data the install made), then its entry step (the
product's own gateway) on the declared ports, in front of them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from harness.deploy import leftovers, sockets
from harness.deploy.base import Deployer, DeployError, Deployment, NotServing, Target, register, wait_healthy
from harness.spec import LoadedSpec
from harness.templating import TemplateError, ports_ns, render


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def copy_media(loaded: LoadedSpec, dest: Path) -> None:
    """Put the sample's media in a fresh working directory: each run starts from what was submitted."""
    dest.mkdir(parents=True, exist_ok=True)
    for m in loaded.spec.media:
        src = loaded.resolve(m.path)
        if src.is_dir():
            shutil.copytree(src, dest / src.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.is_file():
            shutil.copy2(src, dest / src.name)
        else:
            raise DeployError(f"media {m.path} is missing (looked at {src})")


def kill_group(pgid: int, sig: int = signal.SIGTERM, grace_s: float = 5.0) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


@dataclass
class Instance:
    """One instance behind the sample's entry point: its rendered start step and its own ports."""

    index: int
    cmd: str
    ports: dict[str, int]
    proc: subprocess.Popen[bytes] | None = None
    ledger_key: str = ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class ProcessDeployment(Deployment):
    # The process in front: the single instance, or the entry point when instances stand behind one.
    proc: subprocess.Popen[bytes] | None = None
    log_files: list[str] = field(default_factory=list)
    ledger_key: str = ""
    start_cmd: str = ""  # rendered, so a restart runs exactly what the first start ran
    env: dict[str, str] = field(default_factory=dict, repr=False)
    instances: list[Instance] = field(default_factory=list)  # behind the entry point (empty: none)

    @property
    def sample_dir(self) -> Path:
        return self.workdir / "sample"

    def logs(self) -> str:
        parts = []
        for out in [self.workdir / "output.log", *(self._output(i) for i in self.instances)]:
            if out.exists():
                parts.append(out.read_text(errors="replace"))
        for rel in self.log_files:
            p = self.sample_dir / rel
            if p.exists():
                parts.append(f"--- {rel} ---\n" + p.read_text(errors="replace"))
        return "\n".join(parts)

    def read_file(self, relative: str) -> bytes:
        p = (self.sample_dir / relative).resolve()
        if not p.is_relative_to(self.sample_dir.resolve()):
            raise PermissionError(f"{relative} is outside the sample's directory")
        return p.read_bytes()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def answering_socket_holder(self, port: int) -> str | None:
        # The sample's tree is its own session (start_new_session): every listener that could take
        # a connection to host:port must be one of its sockets.
        if self.proc is None:
            return None
        listeners = sockets.listeners_on(port, {self.host})
        if not listeners:
            return "no listening socket the harness can see"
        own = {i for pid in sockets.process_tree(self.proc.pid) for i in sockets.socket_inodes(pid)}
        foreign = [s for s in listeners if s.inode not in own]
        return sockets.holder_of(foreign[0].inode) if foreign else None

    def _output(self, inst: Instance) -> Path:
        return self.workdir / f"output-instance-{inst.index}.log"

    def _spawn(self, cmd: str, output: Path) -> subprocess.Popen[bytes]:
        """Run a step in the sample's directory, in a process group of its own (so a teardown or a
        kill reaches the whole tree)."""
        with output.open("ab") as out:
            out.write(f"$ {cmd}\n".encode())
            out.flush()
            return subprocess.Popen(
                cmd,
                shell=True,
                cwd=self.sample_dir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def launch(self) -> None:
        """Run the start step (the entry step, in front of instances) and record its group in the ledger."""
        self.proc = self._spawn(self.start_cmd, self.workdir / "output.log")
        if self.ledger_key:
            leftovers.forget(self.ledger_key)
        self.ledger_key = leftovers.record("process", {"pgid": self.proc.pid, "workdir": str(self.workdir)})
        self.info["pid"] = self.proc.pid

    def launch_instance(self, inst: Instance) -> None:
        inst.proc = self._spawn(inst.cmd, self._output(inst))
        if inst.ledger_key:
            leftovers.forget(inst.ledger_key)
        inst.ledger_key = leftovers.record("process", {"pgid": inst.proc.pid, "workdir": str(self.workdir)})
        self.info.setdefault("instance_pids", {})[str(inst.index)] = inst.proc.pid

    def wait_instance(self, inst: Instance, timeout_s: float | None = None) -> float:
        """The health check on the instance's own ports, answered by the instance's own processes."""
        assert self.loaded is not None, "deployed without its spec"
        view = replace(self, ports=inst.ports, proc=inst.proc, instances=[])
        return wait_healthy(self.loaded, view, inst.alive, self.logs, timeout_s)

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes] | None) -> None:
        if proc is None:
            return
        # The whole group at once; waiting on the leader reaps it (a zombie would still count).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def kill(self) -> None:
        self._kill_group(self.proc)
        for inst in self.instances:
            self._kill_group(inst.proc)

    def restart(self, timeout_s: float) -> float:
        assert self.loaded is not None, "deployed without its spec"
        if self.alive() or any(i.alive() for i in self.instances):
            raise DeployError("restart asked for while the sample still runs")
        start = time.monotonic()
        for inst in self.instances:
            self.launch_instance(inst)
        for inst in self.instances:
            self.wait_instance(inst, max(0.1, timeout_s - (time.monotonic() - start)))
        self.launch()
        wait_healthy(self.loaded, self, self.alive, self.logs, max(0.1, timeout_s - (time.monotonic() - start)))
        return time.monotonic() - start

    def instance_count(self) -> int:
        return max(1, len(self.instances))

    def kill_instance(self, index: int) -> None:
        self._kill_group(self._instance(index).proc)

    def restart_instance(self, index: int, timeout_s: float) -> float:
        inst = self._instance(index)
        if inst.alive():
            raise DeployError(f"restart of instance {index} asked for while it still runs")
        self.launch_instance(inst)
        return self.wait_instance(inst, timeout_s)

    def _instance(self, index: int) -> Instance:
        if not 0 <= index < len(self.instances):
            raise DeployError(f"no instance {index}: the sample runs {self.instance_count()} instance(s)")
        return self.instances[index]


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


@register("process")
class ProcessDeployer(Deployer):
    def deploy(self, loaded: LoadedSpec, target: Target, workdir: Path) -> ProcessDeployment:
        d = loaded.spec.deployment
        if workdir.exists():
            shutil.rmtree(workdir)
        sample_dir = workdir / "sample"
        copy_media(loaded, sample_dir)
        listen = {p.name: free_port() for p in d.ports}
        values: dict[str, Any] = {
            "workdir": str(sample_dir),
            "bind": "127.0.0.1",
            "host": "127.0.0.1",
            "ports": ports_ns(listen),
            "instance": 0,
        }
        env = dict(os.environ)
        log = workdir / "output.log"
        dep = ProcessDeployment(
            target=target,
            host="127.0.0.1",
            ports=listen,
            workdir=workdir,
            info={"backend": "process", "host": "127.0.0.1"},
            loaded=loaded,
            log_files=list(d.log_files),
            env=env,
        )
        try:
            env.update({k: render(v, values) for k, v in d.env.items()})
            for step in d.install:
                run_step(render(step.run, values), sample_dir, env, step.timeout_s, log)
            if d.entry is None:
                dep.start_cmd = render(d.start.run, values)
            else:
                dep.instances, dep.start_cmd = self._behind_entry(loaded, values, listen)
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None
        try:
            for inst in dep.instances:  # each healthy on its own ports before the entry opens
                dep.launch_instance(inst)
            for inst in dep.instances:
                dep.wait_instance(inst)
        except BaseException as e:
            self.teardown(dep)
            if isinstance(e, NotServing):
                raise NotServing(f"an instance of the sample did not start: {str(e).splitlines()[0]}", e.logs) from None
            raise
        dep.launch()
        try:
            dep.info["healthy_after_s"] = round(wait_healthy(loaded, dep, dep.alive, dep.logs), 3)
        except BaseException:
            self.teardown(dep)
            raise
        return dep

    @staticmethod
    def _behind_entry(loaded: LoadedSpec, values: dict[str, Any], listen: dict[str, int]) -> tuple[list[Instance], str]:
        """The instances (each its own free ports) and the entry step in front of them."""
        d = loaded.spec.deployment
        assert d.entry is not None
        instances = []
        for i in range(d.instances):
            own = {p.name: free_port() for p in d.ports}
            cmd = render(d.start.run, {**values, "ports": ports_ns(own), "instance": i})
            instances.append(Instance(i, cmd, own))
        upstreams = {p.name: ",".join(f"127.0.0.1:{i.ports[p.name]}" for i in instances) for p in d.ports}
        entry = render(d.entry.run, {**values, "ports": ports_ns(listen), "upstreams": SimpleNamespace(**upstreams)})
        return instances, entry

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, ProcessDeployment)
        if deployment.proc is not None:
            kill_group(deployment.proc.pid)
            deployment.proc.wait(timeout=10)
            deployment.info["exit_code"] = deployment.proc.returncode
        for inst in deployment.instances:
            if inst.proc is not None:
                kill_group(inst.proc.pid)
                inst.proc.wait(timeout=10)
            if inst.ledger_key:
                leftovers.forget(inst.ledger_key)
        if deployment.ledger_key:
            leftovers.forget(deployment.ledger_key)

    def cleanup_stale(self) -> list[str]:
        removed = []
        for key, payload in leftovers.orphans("process"):
            kill_group(int(payload["pgid"]), signal.SIGKILL, grace_s=0)
            leftovers.forget(key)
            removed.append(f"killed leftover sample process group {payload['pgid']} ({payload['workdir']})")
        return removed
