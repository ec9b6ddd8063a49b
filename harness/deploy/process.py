"""Run the sample as local processes on 127.0.0.1, exactly by its spec's install and start steps."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.deploy import leftovers, sockets
from harness.deploy.base import Deployer, DeployError, Deployment, Target, register, wait_healthy
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
class ProcessDeployment(Deployment):
    proc: subprocess.Popen[bytes] | None = None
    log_files: list[str] = field(default_factory=list)
    ledger_key: str = ""
    start_cmd: str = ""  # rendered, so a restart runs exactly what the first start ran
    env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def sample_dir(self) -> Path:
        return self.workdir / "sample"

    def logs(self) -> str:
        parts = []
        out = self.workdir / "output.log"
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

    def launch(self) -> None:
        """Run the start step in the sample's directory, in a process group of its own (so a
        teardown or a kill reaches the whole tree), and record the group in the ledger."""
        with (self.workdir / "output.log").open("ab") as out:
            out.write(f"$ {self.start_cmd}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                self.start_cmd,
                shell=True,
                cwd=self.sample_dir,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        if self.ledger_key:
            leftovers.forget(self.ledger_key)
        self.ledger_key = leftovers.record("process", {"pgid": self.proc.pid, "workdir": str(self.workdir)})
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
            dep.start_cmd = render(d.start.run, values)
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None
        dep.launch()
        try:
            dep.info["healthy_after_s"] = round(wait_healthy(loaded, dep, dep.alive, dep.logs), 3)
        except BaseException:
            self.teardown(dep)
            raise
        return dep

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, ProcessDeployment)
        if deployment.proc is not None:
            kill_group(deployment.proc.pid)
            deployment.proc.wait(timeout=10)
            deployment.info["exit_code"] = deployment.proc.returncode
        if deployment.ledger_key:
            leftovers.forget(deployment.ledger_key)

    def cleanup_stale(self) -> list[str]:
        removed = []
        for key, payload in leftovers.orphans("process"):
            kill_group(int(payload["pgid"]), signal.SIGKILL, grace_s=0)
            leftovers.forget(key)
            removed.append(f"killed leftover sample process group {payload['pgid']} ({payload['workdir']})")
        return removed
