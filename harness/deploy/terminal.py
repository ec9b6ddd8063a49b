"""Deploy the sample onto a terminal unit of the lab inventory, over SSH only.

The unit is treated as a remote machine even when it is a namespace stand-in on this host:
everything goes through SSH exec and SFTP, so the same code drives real hardware. What the
unit needs: a POSIX ``sh`` with ``kill``, ``tar``, ``setsid``, ``rm`` and an SFTP subsystem.

Remote layout, under the login's home::

    ~/harness-deploy/<uuid>/          one directory per deployment, removed at teardown
        sample/                       the media; ``{workdir}`` in the spec's steps
        install.log                   the lab's transcript of the install steps
        output.log                    what the sample printed while it ran
        harness.pid                   the start step's PID = its process group (setsid)

The leftovers ledger records the unit and the remote directory as soon as that directory
exists, so a harness that dies mid-run is cleaned up on the unit by ``cleanup_stale``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import posixpath
import re
import shlex
import shutil
import socket
import stat
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from harness.deploy import leftovers
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
from harness.deploy.inventory import Unit
from harness.deploy.process import copy_media
from harness.spec import LoadedSpec
from harness.templating import TemplateError, deploy_values, render

if TYPE_CHECKING:
    import paramiko

CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0
REMOTE_BASE = "harness-deploy"
# Only directories this backend made are ever removed, whatever a ledger file says.
_REMOTE_DIR_RE = re.compile(rf"^/.*/{REMOTE_BASE}/[0-9a-f]{{32}}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REQUIRED_TOOLS = ("tar", "setsid", "kill", "rm")


class UnitConnectionError(DeployError):
    """The unit could not be reached or the connection broke: a lab fault, never the sample's."""


class CommandTimeout(TimeoutError):
    def __init__(self, message: str, output: str):
        super().__init__(message)
        self.output = output  # what the command printed before the deadline


def _unit_from(target: Target) -> Unit:
    if not target.unit:
        raise DeployError(f"target {target.model} has no inventory unit: the terminal backend needs one")
    try:
        return Unit.model_validate(target.unit)
    except ValidationError as e:
        raise DeployError(f"target {target.model}: the inventory unit is malformed: {e}") from None


def _q(s: str) -> str:
    return shlex.quote(s)


def _group_stop_script(pid_expr: str, signame: str, grace_s: float) -> str:
    """Signal the process group, wait, then SIGKILL. ``kill -SIG -PGID`` is the form dash,
    bash and busybox ash all accept (dash refuses ``kill -s SIG -- -PGID``)."""
    tries = max(1, int(grace_s / 0.1))
    return (
        f"P={pid_expr}; "
        'case "$P" in ""|*[!0-9]*) exit 0;; esac; '
        f"kill -{signame} -$P 2>/dev/null; i=0; "
        f"while kill -0 -$P 2>/dev/null && [ $i -lt {tries} ]; do sleep 0.1; i=$((i+1)); done; "
        "kill -KILL -$P 2>/dev/null; true"
    )


def _pid_from_file(remote_dir: str) -> str:
    return f"$(cat {_q(posixpath.join(remote_dir, 'harness.pid'))} 2>/dev/null)"


class _Remote:
    """One SSH connection to a unit, with exec and SFTP helpers that turn transport trouble
    into UnitConnectionError naming the unit."""

    def __init__(self, unit: Unit):
        self.unit = unit
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._lock = threading.Lock()  # one SFTP session is shared by the suites' threads
        self.host_key = ""

    def connect(self) -> None:
        import paramiko  # lazily: only terminal deployments need it

        u = self.unit
        if not Path(u.key_file).is_file():
            raise UnitConnectionError(f"cannot reach {u.label}: key file {u.key_file} is missing")
        client = paramiko.SSHClient()
        try:
            if u.known_hosts:
                client.load_host_keys(u.known_hosts)
                client.set_missing_host_key_policy(paramiko.RejectPolicy())
            else:
                # No pinned key in the inventory: accept, but the fingerprint goes into the report.
                client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            client.connect(
                u.host,
                port=u.port,
                username=u.user,
                key_filename=u.key_file,
                timeout=CONNECT_TIMEOUT_S,
                banner_timeout=CONNECT_TIMEOUT_S,
                auth_timeout=CONNECT_TIMEOUT_S,
                look_for_keys=False,
                allow_agent=False,
            )
        except (paramiko.SSHException, OSError, EOFError) as e:
            client.close()
            raise UnitConnectionError(f"cannot reach {u.label}: {_cause(e)}") from None
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(15)
        key = transport.get_remote_server_key()
        digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
        self.host_key = f"{key.get_name()} SHA256:{digest}"
        self._client = client

    @property
    def connected(self) -> bool:
        t = self._client.get_transport() if self._client else None
        return bool(t and t.is_active())

    def ensure(self) -> None:
        if not self.connected:
            self.close()
            self.connect()

    def run(self, command: str, timeout_s: float = COMMAND_TIMEOUT_S, check: bool = False) -> tuple[int, str]:
        """Run a command, return (exit status, stdout+stderr). Raises CommandTimeout past timeout_s."""
        import paramiko

        self.ensure()
        assert self._client is not None
        try:
            transport = self._client.get_transport()
            assert transport is not None
            chan = transport.open_session(timeout=CONNECT_TIMEOUT_S)
            chan.set_combine_stderr(True)
            chan.settimeout(0.2)
            chan.exec_command(command)
            chan.shutdown_write()
            out = bytearray()
            deadline = time.monotonic() + timeout_s

            def _timeout() -> CommandTimeout:
                chan.close()
                return CommandTimeout(f"no end after {timeout_s:g} s: {command}", out.decode(errors="replace"))

            while True:
                try:
                    data = chan.recv(65536)
                except TimeoutError:
                    if time.monotonic() > deadline:
                        raise _timeout() from None
                    continue
                if not data:
                    break
                out += data
            # EOF comes as soon as the command redirects its output; the exit comes later.
            if not chan.status_event.wait(max(0.0, deadline - time.monotonic())):
                raise _timeout()
            rc = chan.recv_exit_status()
            chan.close()
        except (paramiko.SSHException, OSError, EOFError) as e:
            if isinstance(e, CommandTimeout):
                raise
            raise UnitConnectionError(f"lost the connection to {self.unit.label}: {_cause(e)}") from None
        text = out.decode(errors="replace")
        if check and rc != 0:
            raise DeployError(f"on {self.unit.label}: `{command}` exited {rc}: {text.strip()}")
        return rc, text

    def sftp(self) -> paramiko.SFTPClient:
        import paramiko

        self.ensure()
        assert self._client is not None
        if self._sftp is None or self._sftp.get_channel() is None or self._sftp.get_channel().closed:
            try:
                self._sftp = self._client.open_sftp()
            except (paramiko.SSHException, OSError, EOFError) as e:
                raise UnitConnectionError(f"no SFTP on {self.unit.label}: {_cause(e)}") from None
        return self._sftp

    def read(self, path: str) -> bytes:
        import paramiko

        with self._lock:
            try:
                with self.sftp().open(path, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                raise
            except (paramiko.SSHException, EOFError) as e:
                raise UnitConnectionError(f"lost the connection to {self.unit.label}: {_cause(e)}") from None

    def realpath(self, path: str) -> str:
        with self._lock:
            return self.sftp().normalize(path)

    def put(self, local: Path, remote: str) -> None:
        with self._lock:
            self.sftp().put(str(local), remote, confirm=True)

    def walk_files(self, top: str) -> list[str]:
        """Regular files under top (a file itself counts), as absolute remote paths."""
        with self._lock:
            sftp = self.sftp()
            try:
                st = sftp.stat(top)
            except FileNotFoundError:
                return []
            if not stat.S_ISDIR(st.st_mode or 0):
                return [top]
            out, todo = [], [top]
            while todo:
                d = todo.pop()
                for a in sftp.listdir_attr(d):
                    p = posixpath.join(d, a.filename)
                    if stat.S_ISDIR(a.st_mode or 0):
                        todo.append(p)
                    elif stat.S_ISREG(a.st_mode or 0):
                        out.append(p)
            return out

    def close(self) -> None:
        for c in (self._sftp, self._client):
            try:
                if c is not None:
                    c.close()
            except Exception:  # noqa: BLE001 - closing a broken connection must never fail teardown
                pass
        self._sftp = None
        self._client = None


def _read_or(remote: _Remote, path: str) -> str:
    """A remote text file, or "" when it does not exist (yet)."""
    try:
        return remote.read(path).decode(errors="replace")
    except FileNotFoundError:
        return ""


def _cause(e: BaseException) -> str:
    text = str(e).strip() or "no detail"
    return f"{type(e).__name__}: {text}"


@dataclass
class TerminalDeployment(Deployment):
    remote: _Remote | None = None
    remote_dir: str = ""
    pid: int | None = None
    log_files: list[str] = field(default_factory=list)
    data_files: list[str] = field(default_factory=list)
    stop_signal: str = "TERM"
    ledger_key: str = ""
    torn_down: bool = False
    start_cmd: str = ""  # rendered: a restart runs exactly what the first start ran
    exports: str = field(default="", repr=False)  # the declared env, as shell exports before it

    @property
    def remote_sample_dir(self) -> str:
        return posixpath.join(self.remote_dir, "sample")

    @property
    def sample_dir(self) -> Path:
        """Lab-side copies of the sample's files, collected at teardown."""
        return self.workdir / "sample"

    def _remote_live(self) -> _Remote | None:
        return None if self.torn_down or self.remote is None or not self.remote_dir else self.remote

    def logs(self) -> str:
        remote = self._remote_live()
        parts = []
        if remote is not None:
            with contextlib.suppress(FileNotFoundError):
                parts.append(remote.read(posixpath.join(self.remote_dir, OUTPUT_LOG)).decode(errors="replace"))
            for rel in self.log_files:
                try:
                    data = self.read_file(rel)  # keeps to the sample's directory on the unit
                except OSError:
                    continue
                parts.append(f"--- {rel} ---\n" + data.decode(errors="replace"))
            return "\n".join(parts)
        out = self.workdir / OUTPUT_LOG
        if out.exists():
            parts.append(out.read_text(errors="replace"))
        for rel in self.log_files:
            try:  # read_file keeps to the sample's directory
                parts.append(f"--- {rel} ---\n" + self.read_file(rel).decode(errors="replace"))
            except OSError:
                continue
        return "\n".join(parts)

    def read_file(self, relative: str) -> bytes:
        remote = self._remote_live()
        if remote is None:  # after teardown: what was collected from the unit
            p = (self.sample_dir / relative).resolve()
            if not p.is_relative_to(self.sample_dir.resolve()):
                raise PermissionError(f"{relative} is outside the sample's directory")
            return p.read_bytes()
        joined = posixpath.normpath(posixpath.join(self.remote_sample_dir, relative))
        real = remote.realpath(joined)  # follows symlinks on the unit
        if not (real + "/").startswith(self.remote_sample_dir + "/"):
            raise PermissionError(f"{relative} is outside the sample's directory")
        return remote.read(real)

    def alive(self) -> bool:
        remote = self._remote_live()
        if remote is None or self.pid is None:
            return False
        # A zombie still answers kill -0; look at its state where /proc exists.
        rc, _ = remote.run(
            f"kill -0 {self.pid} 2>/dev/null && "
            f"[ \"$(sed -n 's/.*) \\(.\\).*/\\1/p' /proc/{self.pid}/stat 2>/dev/null)\" != Z ]",
            timeout_s=CONNECT_TIMEOUT_S,
        )
        return rc == 0

    def launch(self) -> None:
        """Run the start step on the unit. setsid from a non-interactive shell's background job:
        no fork, so $! is the new process group's ID and a stop or kill reaches the whole tree."""
        remote = self._remote_live()
        if remote is None:
            raise DeployError("the terminal deployment is torn down: nothing to start")
        log = posixpath.join(self.remote_dir, "output.log")
        transcript = posixpath.join(self.remote_dir, INSTALL_LOG)
        _, out = remote.run(
            f"cd {_q(self.remote_sample_dir)} && printf '$ %s\\n' {_q(self.start_cmd)} >> {_q(transcript)} && "
            f"{{ setsid sh -c {_q(self.exports + self.start_cmd)} >> {_q(log)} 2>&1 < /dev/null & "
            f"echo $! > {_q(posixpath.join(self.remote_dir, 'harness.pid'))}; echo $!; }}",
            check=True,
        )
        try:
            self.pid = int(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise DeployError(
                f"on {remote.unit.label}: the start step gave no PID ({out.strip()!r})", self.logs()
            ) from None
        self.info["pid"] = self.pid

    def kill(self) -> None:
        remote = self._remote_live()
        if remote is None or self.pid is None:
            raise DeployError("the terminal deployment has no running sample to kill")
        remote.run(_group_stop_script(str(self.pid), "KILL", 0.5), timeout_s=CONNECT_TIMEOUT_S)

    def restart(self, timeout_s: float) -> float:
        assert self.loaded is not None, "deployed without its spec"
        if self.alive():
            raise DeployError("restart asked for while the sample still runs")
        self.launch()
        return wait_healthy(self.loaded, self, self.alive, self.logs, timeout_s)


def _ports_free(unit: Unit, loaded: LoadedSpec) -> None:
    """Declared ports are fixed on a unit, so a leftover sample (or a second deployment) on the
    same unit would answer the health check in place of the new one: refuse up front."""
    busy = []
    for p in loaded.spec.deployment.ports:
        if p.protocol != "tcp":
            continue
        # Refused or filtered counts as free, as far as the lab can tell.
        with contextlib.suppress(OSError), socket.create_connection((unit.host, p.port), timeout=1.0):
            busy.append(f"{p.name} ({p.port})")
    if busy:
        raise DeployError(
            f"on {unit.label}, declared port(s) {', '.join(busy)} already answer before the sample is started: "
            "another deployment or a leftover (run the harness's stale cleanup) holds the unit"
        )


def _stage_archive(loaded: LoadedSpec, tmp: Path) -> Path:
    """copy_media into a temp dir, then one tar: a single SFTP transfer instead of one per file."""
    copy_media(loaded, tmp / "sample")

    def _anon(ti: tarfile.TarInfo) -> tarfile.TarInfo:
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    archive = tmp / "media.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(tmp / "sample", arcname="sample", filter=_anon)
    return archive


@register("terminal")
class TerminalDeployer(Deployer):
    def deploy(self, loaded: LoadedSpec, target: Target, workdir: Path) -> TerminalDeployment:
        d = loaded.spec.deployment
        unit = _unit_from(target)
        if d.services:
            # A unit is the applicant's machine as it will run in the field: the lab does not install
            # database servers on it. The product's own install steps may, where its documentation does.
            raise DeployError(
                f"the terminal backend does not start declared services ({', '.join(s.name for s in d.services)}) "
                f"on {unit.label}; deploy with the process or container backend"
            )
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        declared = {p.name: p.port for p in d.ports}
        timings: dict[str, float] = {}

        t = time.monotonic()
        remote = _Remote(unit)
        remote.connect()
        timings["connect_s"] = time.monotonic() - t
        dep = TerminalDeployment(
            target=target,
            host=unit.host,
            ports=declared,
            workdir=workdir,
            info={
                "backend": "terminal",
                "model": unit.model,
                "unit": unit.id,
                "serial": unit.serial,
                "host": unit.host,
                "ssh_port": unit.port,
                "user": unit.user,
                "os": unit.os,
                "base_software": list(unit.base_software),
                "standin": unit.standin,
                "host_key": remote.host_key,
            },
            loaded=loaded,
            remote=remote,
            log_files=list(d.log_files),
            data_files=list(d.data_files),
            stop_signal=d.stop_signal.removeprefix("SIG"),
        )
        try:
            self._install_and_start(loaded, dep, remote, timings)
            timings["healthy_after_s"] = wait_healthy(loaded, dep, dep.alive, dep.logs)
            if not dep.alive():  # healthy, but was it ours that answered? (see _ports_free)
                raise DeployError(f"the sample on {unit.label} exited right after its health check", dep.logs())
        except BaseException:
            self.teardown(dep)
            raise
        dep.info.update({k: round(v, 3) for k, v in timings.items()})
        return dep

    def _install_and_start(
        self, loaded: LoadedSpec, dep: TerminalDeployment, remote: _Remote, timings: dict[str, float]
    ) -> None:
        d = loaded.spec.deployment
        unit = remote.unit
        # A fresh directory per deployment: the unit is restored by removing it.
        name = uuid.uuid4().hex
        _, out = remote.run(
            f"cd && mkdir -p {REMOTE_BASE}/{name} && cd {REMOTE_BASE}/{name} && pwd && "
            f"for t in {' '.join(_REQUIRED_TOOLS)}; do command -v $t >/dev/null 2>&1 || echo MISSING:$t; done",
            check=True,
        )
        lines = out.strip().splitlines()
        dep.remote_dir = lines[0].strip()
        if not _REMOTE_DIR_RE.match(dep.remote_dir):
            raise DeployError(f"on {unit.label}: unexpected working directory {dep.remote_dir!r}")
        dep.info["remote_dir"] = dep.remote_dir
        dep.ledger_key = leftovers.record("terminal", {"unit": unit.model_dump(), "remote_dir": dep.remote_dir})
        missing = [ln.removeprefix("MISSING:") for ln in lines[1:] if ln.startswith("MISSING:")]
        if missing:
            raise DeployError(f"{unit.label} lacks {', '.join(missing)}, which the terminal backend needs")

        _ports_free(unit, loaded)

        t = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="harness-media-") as tmp:
            archive = _stage_archive(loaded, Path(tmp))
            remote_tar = posixpath.join(dep.remote_dir, "media.tar")
            try:
                remote.put(archive, remote_tar)
            except OSError as e:
                raise DeployError(f"upload to {unit.label} failed: {_cause(e)}") from None
        remote.run(f"cd {_q(dep.remote_dir)} && tar -xf media.tar && rm -f media.tar", check=True)
        timings["upload_s"] = time.monotonic() - t

        sample = dep.remote_sample_dir
        transcript = posixpath.join(dep.remote_dir, INSTALL_LOG)
        # bind 0.0.0.0: reached from the lab over the unit's network, not loopback
        values = deploy_values(sample, "0.0.0.0", unit.host, dep.ports)
        bad_env = [k for k in d.env if not _ENV_NAME_RE.match(k)]
        if bad_env:  # they go into a remote shell line unquoted
            raise DeployError(f"spec deployment.env: not a variable name: {', '.join(bad_env)}")
        try:
            exports = "".join(f"export {k}={_q(render(v, values))}; " for k, v in d.env.items())
            steps = [(render(s.run, values), s.timeout_s) for s in d.install]
            start_cmd = render(d.start.run, values)
        except TemplateError as e:
            raise DeployError(f"spec template: {e}") from None

        t = time.monotonic()
        for cmd, timeout_s in steps:
            self._install_step(remote, dep, sample, transcript, exports, cmd, timeout_s)
        timings["install_s"] = time.monotonic() - t

        dep.start_cmd, dep.exports = start_cmd, exports
        dep.launch()
        # The transcript is the lab's evidence of the deployment: kept on the lab side at once.
        (dep.workdir / INSTALL_LOG).write_text(_read_or(remote, transcript), encoding="utf-8")
        dep.info["install_transcript"] = INSTALL_LOG
        dep.info["install_steps"] = len(steps)

    @staticmethod
    def _install_step(
        remote: _Remote, dep: TerminalDeployment, sample: str, log: str, exports: str, cmd: str, timeout_s: float
    ) -> None:
        # The login shell is a session leader under sshd (no pty), so $$ is the step's process
        # group: a timed-out step is stopped as a whole.
        wrapped = (
            f"echo $$; cd {_q(sample)} && printf '$ %s\\n' {_q(cmd)} >> {_q(log)} && "
            f"exec sh -c {_q(exports + cmd)} >> {_q(log)} 2>&1 < /dev/null"
        )
        try:
            rc, out = remote.run(wrapped, timeout_s=timeout_s)
        except CommandTimeout as e:
            # Closing the channel does not stop a command without a pty: kill its group.
            pgid = e.output.split("\n", 1)[0].strip()
            if pgid.isdigit():
                remote.run(_group_stop_script(pgid, "KILL", 0.5), timeout_s=CONNECT_TIMEOUT_S)
            raise DeployError(f"install step timed out after {timeout_s:g} s: {cmd}", _read_or(remote, log)) from None
        if rc != 0:
            raise DeployError(f"install step exited {rc} on {remote.unit.label}: {cmd}", _read_or(remote, log) or out)

    def teardown(self, deployment: Deployment) -> None:
        assert isinstance(deployment, TerminalDeployment)
        dep = deployment
        if dep.torn_down:
            return
        remote = dep.remote
        if remote is None or not dep.remote_dir:
            dep.torn_down = True
            if remote is not None:
                remote.close()
            return
        try:
            remote.ensure()
            pid_expr = str(dep.pid) if dep.pid else _pid_from_file(dep.remote_dir)
            remote.run(_group_stop_script(pid_expr, dep.stop_signal, STOP_GRACE_S), timeout_s=STOP_GRACE_S + 15)
            self._collect(dep, remote)
            remote.run(f"rm -rf {_q(dep.remote_dir)}", check=True)
        except (DeployError, CommandTimeout) as e:
            # The unit is unreachable: keep the ledger entry so the next start restores it.
            dep.info["teardown_error"] = str(e)
            dep.info["unit_restored"] = False
            dep.torn_down = True
            remote.close()
            return
        dep.info["unit_restored"] = True
        dep.torn_down = True
        if dep.ledger_key:
            leftovers.forget(dep.ledger_key)
        remote.close()

    @staticmethod
    def _collect(dep: TerminalDeployment, remote: _Remote) -> None:
        """Copy the output, declared logs and data files to the lab before the unit is wiped."""
        for name in (INSTALL_LOG, OUTPUT_LOG):
            with contextlib.suppress(FileNotFoundError):
                (dep.workdir / name).write_bytes(remote.read(posixpath.join(dep.remote_dir, name)))
        for rel in [*dep.log_files, *dep.data_files]:
            top = posixpath.normpath(posixpath.join(dep.remote_sample_dir, rel))
            if not top.startswith(dep.remote_sample_dir + "/"):
                continue
            for path in remote.walk_files(top):
                local = dep.sample_dir / posixpath.relpath(path, dep.remote_sample_dir)
                local.parent.mkdir(parents=True, exist_ok=True)
                try:
                    local.write_bytes(remote.read(path))
                except FileNotFoundError:
                    continue

    def cleanup_stale(self) -> list[str]:
        lines = []
        for key, payload in leftovers.orphans("terminal"):
            remote_dir = str(payload.get("remote_dir", ""))
            try:
                unit = Unit.model_validate(payload["unit"])
            except (KeyError, ValidationError):
                leftovers.forget(key)
                lines.append(f"dropped an unreadable terminal ledger entry {key}")
                continue
            if not _REMOTE_DIR_RE.match(remote_dir):
                leftovers.forget(key)
                lines.append(f"dropped ledger entry {key}: {remote_dir!r} is not a deployment directory")
                continue
            remote = _Remote(unit)
            try:
                remote.connect()
                remote.run(_group_stop_script(_pid_from_file(remote_dir), "KILL", 0.5), timeout_s=CONNECT_TIMEOUT_S)
                remote.run(f"rm -rf {_q(remote_dir)}", check=True)
            except (DeployError, CommandTimeout) as e:
                lines.append(f"could not restore {unit.label} (kept for the next start): {e}")
                continue
            finally:
                remote.close()
            leftovers.forget(key)
            lines.append(f"killed the leftover sample on {unit.label} and removed {remote_dir}")
        return lines
