"""One SSH connection to a terminal unit, with exec and SFTP helpers, and the shell snippets the
terminal backend runs there (quoting, stopping a process group).
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import shlex
import stat
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from harness.deploy.base import DeployError
from harness.deploy.inventory import Unit

if TYPE_CHECKING:
    import paramiko


CONNECT_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 60.0


class UnitConnectionError(DeployError):
    """The unit could not be reached or the connection broke: a lab fault, never the sample's."""


class CommandTimeout(TimeoutError):
    def __init__(self, message: str, output: str):
        super().__init__(message)
        self.output = output  # what the command printed before the deadline


def sh_quote(s: str) -> str:
    return shlex.quote(s)


def group_stop_script(pid_expr: str, signame: str, grace_s: float) -> str:
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


def pid_from_file(remote_dir: str) -> str:
    return f"$(cat {sh_quote(posixpath.join(remote_dir, 'harness.pid'))} 2>/dev/null)"


class Remote:
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
            raise UnitConnectionError(f"cannot reach {u.label}: {cause(e)}") from None
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
            raise UnitConnectionError(f"lost the connection to {self.unit.label}: {cause(e)}") from None
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
                raise UnitConnectionError(f"no SFTP on {self.unit.label}: {cause(e)}") from None
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
                raise UnitConnectionError(f"lost the connection to {self.unit.label}: {cause(e)}") from None

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


def read_or(remote: Remote, path: str) -> str:
    """A remote text file, or "" when it does not exist (yet)."""
    try:
        return remote.read(path).decode(errors="replace")
    except FileNotFoundError:
        return ""


def cause(e: BaseException) -> str:
    text = str(e).strip() or "no detail"
    return f"{type(e).__name__}: {text}"
