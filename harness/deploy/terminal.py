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

import contextlib
import posixpath
import re
import shutil
import socket
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

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
from harness.deploy.terminal_deployment import TerminalDeployment
from harness.deploy.terminal_remote import (
    COMMAND_TIMEOUT_S,
    CONNECT_TIMEOUT_S,
    CommandTimeout,
    Remote,
    UnitConnectionError,
    cause,
    group_stop_script,
    pid_from_file,
    read_or,
    sh_quote,
)
from harness.spec import LoadedSpec
from harness.templating import TemplateError, deploy_values, render

# What other modules import from here, kept where they look for it (tests drive a unit through _Remote).
_Remote = Remote
__all__ = [
    "COMMAND_TIMEOUT_S",
    "CONNECT_TIMEOUT_S",
    "STOP_GRACE_S",
    "CommandTimeout",
    "TerminalDeployer",
    "TerminalDeployment",
    "UnitConnectionError",
]


STOP_GRACE_S = 5.0
REMOTE_BASE = "harness-deploy"
# Only directories this backend made are ever removed, whatever a ledger file says.
_REMOTE_DIR_RE = re.compile(rf"^/.*/{REMOTE_BASE}/[0-9a-f]{{32}}$")
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REQUIRED_TOOLS = ("tar", "setsid", "kill", "rm")


def _unit_from(target: Target) -> Unit:
    if not target.unit:
        raise DeployError(f"target {target.model} has no inventory unit: the terminal backend needs one")
    try:
        return Unit.model_validate(target.unit)
    except ValidationError as e:
        raise DeployError(f"target {target.model}: the inventory unit is malformed: {e}") from None


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
        remote = Remote(unit)
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
        self, loaded: LoadedSpec, dep: TerminalDeployment, remote: Remote, timings: dict[str, float]
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
                raise DeployError(f"upload to {unit.label} failed: {cause(e)}") from None
        remote.run(f"cd {sh_quote(dep.remote_dir)} && tar -xf media.tar && rm -f media.tar", check=True)
        timings["upload_s"] = time.monotonic() - t

        sample = dep.remote_sample_dir
        transcript = posixpath.join(dep.remote_dir, INSTALL_LOG)
        # bind 0.0.0.0: reached from the lab over the unit's network, not loopback
        values = deploy_values(sample, "0.0.0.0", unit.host, dep.ports)
        bad_env = [k for k in d.env if not _ENV_NAME_RE.match(k)]
        if bad_env:  # they go into a remote shell line unquoted
            raise DeployError(f"spec deployment.env: not a variable name: {', '.join(bad_env)}")
        try:
            exports = "".join(f"export {k}={sh_quote(render(v, values))}; " for k, v in d.env.items())
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
        (dep.workdir / INSTALL_LOG).write_text(read_or(remote, transcript), encoding="utf-8")
        dep.info["install_transcript"] = INSTALL_LOG
        dep.info["install_steps"] = len(steps)

    @staticmethod
    def _install_step(
        remote: Remote, dep: TerminalDeployment, sample: str, log: str, exports: str, cmd: str, timeout_s: float
    ) -> None:
        # The login shell is a session leader under sshd (no pty), so $$ is the step's process
        # group: a timed-out step is stopped as a whole.
        wrapped = (
            f"echo $$; cd {sh_quote(sample)} && printf '$ %s\\n' {sh_quote(cmd)} >> {sh_quote(log)} && "
            f"exec sh -c {sh_quote(exports + cmd)} >> {sh_quote(log)} 2>&1 < /dev/null"
        )
        try:
            rc, out = remote.run(wrapped, timeout_s=timeout_s)
        except CommandTimeout as e:
            # Closing the channel does not stop a command without a pty: kill its group.
            pgid = e.output.split("\n", 1)[0].strip()
            if pgid.isdigit():
                remote.run(group_stop_script(pgid, "KILL", 0.5), timeout_s=CONNECT_TIMEOUT_S)
            raise DeployError(f"install step timed out after {timeout_s:g} s: {cmd}", read_or(remote, log)) from None
        if rc != 0:
            raise DeployError(f"install step exited {rc} on {remote.unit.label}: {cmd}", read_or(remote, log) or out)

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
            pid_expr = str(dep.pid) if dep.pid else pid_from_file(dep.remote_dir)
            remote.run(group_stop_script(pid_expr, dep.stop_signal, STOP_GRACE_S), timeout_s=STOP_GRACE_S + 15)
            self._collect(dep, remote)
            remote.run(f"rm -rf {sh_quote(dep.remote_dir)}", check=True)
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
    def _collect(dep: TerminalDeployment, remote: Remote) -> None:
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
            remote = Remote(unit)
            try:
                remote.connect()
                remote.run(group_stop_script(pid_from_file(remote_dir), "KILL", 0.5), timeout_s=CONNECT_TIMEOUT_S)
                remote.run(f"rm -rf {sh_quote(remote_dir)}", check=True)
            except (DeployError, CommandTimeout) as e:
                lines.append(f"could not restore {unit.label} (kept for the next start): {e}")
                continue
            finally:
                remote.close()
            leftovers.forget(key)
            lines.append(f"killed the leftover sample on {unit.label} and removed {remote_dir}")
        return lines
