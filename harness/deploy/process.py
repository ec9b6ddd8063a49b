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
from stat import S_ISDIR

from harness.deploy import leftovers
from harness.deploy.base import Deployer, DeployError, Deployment, Target, register, wait_healthy
from harness.files import FileRefused, read_bytes, regular_file, stat_of
from harness.media import entries
from harness.spec import LoadedSpec
from harness.templating import TemplateError, deploy_values, render

MAX_READ_BYTES = 1 << 30  # a log or data file the checks read


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


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


def signal_group(pgid: int, start: str, sig: int) -> bool:
    """Signal the process group a deployment started (its leader's pid and start time); False if
    nothing of it is left. A group id that now belongs to an unrelated process is left alone."""
    members = leftovers.group_members(pgid, start)
    if not members:
        return False
    if pgid in members:  # the leader, checked by its start time: the group is ours
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
    else:  # the leader has exited: its descendants one by one, each checked
        for pid in members:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    return True


def kill_group(pgid: int, start: str, sig: int = signal.SIGTERM, grace_s: float = 5.0) -> None:
    if not signal_group(pgid, start, sig):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not leftovers.group_members(pgid, start):
            return
        time.sleep(0.05)
    signal_group(pgid, start, signal.SIGKILL)


@dataclass
class ProcessDeployment(Deployment):
    proc: subprocess.Popen[bytes] | None = None
    proc_start: str = ""  # the leader's kernel start time: with its pid, it names the group for good
    log_files: list[str] = field(default_factory=list)
    ledger_key: str = ""

    @property
    def sample_dir(self) -> Path:
        return self.workdir / "sample"

    def logs(self) -> str:
        parts = []
        out = self.workdir / "output.log"
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
        values = deploy_values(workdir=str(sample_dir), bind="127.0.0.1", host="127.0.0.1", ports=listen)
        env = dict(os.environ)
        log = workdir / "output.log"
        dep = ProcessDeployment(
            target=target,
            host="127.0.0.1",
            ports=listen,
            workdir=workdir,
            info={"backend": "process", "host": "127.0.0.1"},
            log_files=list(d.log_files),
        )
        try:
            env.update({k: render(v, values) for k, v in d.env.items()})
            for step in d.install:
                run_step(render(step.run, values), sample_dir, env, step.timeout_s, log)
            start_cmd = render(d.start.run, values)
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None
        with log.open("ab") as out:
            out.write(f"$ {start_cmd}\n".encode())
            out.flush()
            dep.proc = subprocess.Popen(
                start_cmd,
                shell=True,
                cwd=sample_dir,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: teardown kills the whole tree
            )
        dep.proc_start = leftovers.process_start(dep.proc.pid)
        dep.ledger_key = leftovers.record(
            "process", {"pgid": dep.proc.pid, "start": dep.proc_start, "workdir": str(workdir)}
        )
        dep.info["pid"] = dep.proc.pid
        try:
            dep.info["healthy_after_s"] = round(wait_healthy(loaded, dep, dep.alive, dep.logs), 3)
        except BaseException:
            self.teardown(dep)
            raise
        return dep

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, ProcessDeployment)
        if deployment.proc is not None:
            # Not reaped yet, so the leader's pid cannot have been reused; the start time is still
            # what names the group.
            kill_group(deployment.proc.pid, deployment.proc_start)
            deployment.proc.wait(timeout=10)
            deployment.info["exit_code"] = deployment.proc.returncode
        if deployment.ledger_key:
            leftovers.forget(deployment.ledger_key)

    def cleanup_stale(self) -> list[str]:
        removed = []
        for key, payload in leftovers.orphans("process"):
            pgid, start = payload.get("pgid"), str(payload.get("start", ""))
            leftovers.forget(key)
            if not isinstance(pgid, int):
                continue
            if pgid <= 1 or not start:
                removed.append(f"dropped a leftover record of group {pgid} without its start time (not killed)")
            elif signal_group(pgid, start, signal.SIGKILL):
                removed.append(f"killed leftover sample process group {pgid} ({payload.get('workdir')})")
        return removed
