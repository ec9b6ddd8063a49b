"""A sample deployed on a terminal unit: its remote directory, logs and files, liveness, kill and restart."""

from __future__ import annotations

import contextlib
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from harness.deploy.base import INSTALL_LOG, OUTPUT_LOG, DeployError, Deployment, wait_healthy
from harness.deploy.terminal_remote import CONNECT_TIMEOUT_S, Remote, group_stop_script, sh_quote

if TYPE_CHECKING:
    pass


@dataclass
class TerminalDeployment(Deployment):
    remote: Remote | None = None
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

    def _remote_live(self) -> Remote | None:
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
            f"cd {sh_quote(self.remote_sample_dir)} && printf '$ %s\\n' {sh_quote(self.start_cmd)} "
            f">> {sh_quote(transcript)} && "
            f"{{ setsid sh -c {sh_quote(self.exports + self.start_cmd)} >> {sh_quote(log)} 2>&1 < /dev/null & "
            f"echo $! > {sh_quote(posixpath.join(self.remote_dir, 'harness.pid'))}; echo $!; }}",
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
        remote.run(group_stop_script(str(self.pid), "KILL", 0.5), timeout_s=CONNECT_TIMEOUT_S)

    def restart(self, timeout_s: float) -> float:
        assert self.loaded is not None, "deployed without its spec"
        if self.alive():
            raise DeployError("restart asked for while the sample still runs")
        self.launch()
        return wait_healthy(self.loaded, self, self.alive, self.logs, timeout_s)
