#!/usr/bin/env python3
"""Stand-in terminal units: a real OpenSSH server per unit, each in its own network namespace.

    python lab_env/standin_terminals.py up        # idempotent; waits until every sshd answers
    python lab_env/standin_terminals.py status    # exit 0 only if every stand-in is up
    python lab_env/standin_terminals.py down      # stop sshd (and whatever the unit still runs)
    python lab_env/standin_terminals.py down --purge   # also remove users, keys and state

It reads the stand-in units (``standin: true``) of the lab inventory (HARNESS_INVENTORY or
lab_env/inventory.yaml), so the inventory stays the one place that says where units are. For
unit N (host 10.213.N.2) it makes namespace ``hlab-unit-N``, veth ``hlabNh`` (lab side,
10.213.N.1/30) / ``hlabNu`` (unit side), login user ``user`` with home
/var/lib/harness-lab/units/N, and runs ``sshd -D`` as PID 1 of a fresh PID namespace inside the
network namespace: the unit then has its own process table, orphans are reaped (as a real
terminal's init would), and stopping sshd ends everything the unit still ran. 10.213.0.0/16 is
routed "unreachable" on the lab side, so a stopped unit's address fails fast and never leaves
the host by the default route.
Needs root, iproute2, util-linux ``unshare`` and openssh-server (installed with apt if missing).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import contextlib

from harness.deploy.inventory import Unit, load_inventory

STATE = Path("/var/lib/harness-lab")
SSHD = "/usr/sbin/sshd"
HOST_RE = re.compile(r"^10\.213\.(\d{1,3})\.2$")


def sh(*cmd: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(cmd, capture_output=True, text=True, input=input)
    if check and r.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr.strip()}")
    return r


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (this host's PID 1 does not reap orphans, so kill -0 is not enough)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class StandIn:
    unit: Unit
    n: int

    @property
    def netns(self) -> str:
        return f"hlab-unit-{self.n}"

    @property
    def veth_host(self) -> str:
        return f"hlab{self.n}h"

    @property
    def veth_unit(self) -> str:
        return f"hlab{self.n}u"

    @property
    def lab_addr(self) -> str:
        return f"10.213.{self.n}.1"

    @property
    def home(self) -> Path:
        return STATE / "units" / str(self.n)

    @property
    def sshd_dir(self) -> Path:
        return STATE / "sshd" / str(self.n)

    @property
    def config(self) -> Path:
        return self.sshd_dir / "sshd_config"

    @property
    def pidfile(self) -> Path:
        return self.sshd_dir / "unshare.pid"

    def running_pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
        except (OSError, ValueError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return None
        return pid if pid_alive(pid) and str(self.config) in cmdline else None


def standins(inventory: Path | None) -> list[StandIn]:
    out = []
    for u in load_inventory(inventory).units:
        if not u.standin:
            continue
        m = HOST_RE.match(u.host)
        if not m or not 1 <= int(m.group(1)) <= 254:
            raise SystemExit(f"stand-in {u.id}: host must be 10.213.N.2 with N in 1..254, not {u.host}")
        out.append(StandIn(u, int(m.group(1))))
    ns = [s.n for s in out]
    if len(set(ns)) != len(ns):
        raise SystemExit("two stand-ins share one 10.213.N.0/30 network")
    return out


def netns_exists(name: str) -> bool:
    return Path(f"/run/netns/{name}").exists()


def link_exists(name: str, netns: str | None = None) -> bool:
    cmd = ["ip", "-n", netns, "link", "show", name] if netns else ["ip", "link", "show", name]
    return sh(*cmd, check=False).returncode == 0


# --- up ---------------------------------------------------------------------------------------


def ensure_tools() -> None:
    missing = [t for t in (SSHD, "/usr/sbin/ip", "/usr/bin/unshare", "/usr/bin/ssh-keygen") if not Path(t).exists()]
    if missing:
        print(f"installing openssh-server and iproute2 (missing: {', '.join(missing)})", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "openssh-server", "openssh-client", "iproute2", "util-linux"],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    # sshd's privilege separation directory; the distribution's service would make it.
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)


def ensure_key(path: Path) -> str:
    """The lab's client key pair; returns the public key line."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "harness-lab", "-f", str(path))
    path.chmod(0o600)
    return Path(f"{path}.pub").read_text().strip()


def ensure_user(s: StandIn, pubkey: str) -> None:
    user = s.unit.user
    if sh("id", "-u", user, check=False).returncode != 0:
        s.home.parent.mkdir(parents=True, exist_ok=True)
        sh("useradd", "--home-dir", str(s.home), "--create-home", "--shell", "/bin/sh", "--user-group", user)
    # "*" instead of useradd's locked "!": with UsePAM no, sshd refuses even key logins to locked accounts.
    sh("usermod", "-p", "*", user)
    ssh_dir = s.home / ".ssh"
    ssh_dir.mkdir(parents=True, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pubkey + "\n")
    for p in (s.home, ssh_dir, ssh_dir / "authorized_keys"):
        shutil.chown(p, user, user)
    s.home.chmod(0o750)
    ssh_dir.chmod(0o700)
    (ssh_dir / "authorized_keys").chmod(0o600)


def write_sshd_config(s: StandIn) -> None:
    s.sshd_dir.mkdir(parents=True, exist_ok=True)
    s.sshd_dir.chmod(0o700)
    hostkey = s.sshd_dir / "ssh_host_ed25519_key"
    if not hostkey.exists():
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", s.unit.id, "-f", str(hostkey))
    s.config.write_text(
        "# written by lab_env/standin_terminals.py; rewritten on every `up`\n"
        f"ListenAddress {s.unit.host}:{s.unit.port}\n"
        f"HostKey {hostkey}\n"
        "PidFile none\n"  # sshd is PID 1 of its own namespace; unshare.pid is what the host tracks
        f"AllowUsers {s.unit.user}\n"
        "PermitRootLogin no\n"
        "PubkeyAuthentication yes\n"
        "AuthorizedKeysFile .ssh/authorized_keys\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "X11Forwarding no\n"
        "AllowTcpForwarding no\n"
        "PrintMotd no\n"
        "MaxSessions 64\n"  # the backend opens one exec channel per command on one connection
        "MaxStartups 64:30:128\n"
        "Subsystem sftp internal-sftp\n"
    )
    sh(SSHD, "-t", "-f", str(s.config))


LAB_NET = "10.213.0.0/16"


def ensure_lab_route() -> None:
    """Traffic to a stopped stand-in's address must fail here, never leave by the default route:
    the per-unit /30 routes are more specific and win while a unit is up."""
    sh("ip", "route", "replace", "unreachable", LAB_NET)


def ensure_network(s: StandIn) -> None:
    if not netns_exists(s.netns):
        sh("ip", "netns", "add", s.netns)
    sh("ip", "-n", s.netns, "link", "set", "lo", "up")
    if not link_exists(s.veth_host):
        sh("ip", "link", "add", s.veth_host, "type", "veth", "peer", "name", s.veth_unit, "netns", s.netns)
    elif not link_exists(s.veth_unit, s.netns):  # half left over from an interrupted run
        sh("ip", "link", "del", s.veth_host)
        sh("ip", "link", "add", s.veth_host, "type", "veth", "peer", "name", s.veth_unit, "netns", s.netns)
    sh("ip", "addr", "replace", f"{s.lab_addr}/30", "dev", s.veth_host)
    sh("ip", "link", "set", s.veth_host, "up")
    sh("ip", "-n", s.netns, "addr", "replace", f"{s.unit.host}/30", "dev", s.veth_unit)
    sh("ip", "-n", s.netns, "link", "set", s.veth_unit, "up")


def ensure_sshd(s: StandIn) -> str:
    if s.running_pid() is not None:
        return "running"
    log = (s.sshd_dir / "sshd.log").open("ab")
    proc = subprocess.Popen(
        # --kill-child: stopping unshare stops sshd, and with it every process of the unit.
        [
            "ip",
            "netns",
            "exec",
            s.netns,
            "unshare",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            SSHD,
            "-D",
            "-e",
            "-f",
            str(s.config),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # outlives this script
    )
    log.close()
    s.pidfile.write_text(f"{proc.pid}\n")
    return "started"


def wait_ssh(host: str, port: int, timeout_s: float = 10.0) -> str:
    """Wait until the server sends its SSH banner (a listening socket alone is not enough)."""
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as c:
                c.settimeout(2.0)
                banner = c.recv(256).decode(errors="replace").strip()
                if banner.startswith("SSH-"):
                    return banner
                last = f"unexpected banner {banner!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise SystemExit(f"{host}:{port} did not answer SSH within {timeout_s:g} s: {last}")


def write_known_hosts(units: list[StandIn]) -> None:
    """Pin each stand-in's host key for the backend, keeping entries for other hosts."""
    by_path: dict[Path, list[StandIn]] = {}
    for s in units:
        if s.unit.known_hosts:
            by_path.setdefault(Path(s.unit.known_hosts), []).append(s)
    for path, group in by_path.items():
        names = {s.unit.host if s.unit.port == 22 else f"[{s.unit.host}]:{s.unit.port}": s for s in group}
        kept = []
        if path.exists():
            kept = [ln for ln in path.read_text().splitlines() if ln.split(" ", 1)[0] not in names]
        for name, s in names.items():
            key = (s.sshd_dir / "ssh_host_ed25519_key.pub").read_text().split()
            kept.append(f"{name} {key[0]} {key[1]}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(kept) + "\n")


def up(units: list[StandIn]) -> None:
    t0 = time.monotonic()
    ensure_tools()
    keys = {Path(s.unit.key_file): "" for s in units}
    for k in keys:
        keys[k] = ensure_key(k)
    ensure_lab_route()
    for s in units:
        ensure_user(s, keys[Path(s.unit.key_file)])
        write_sshd_config(s)
        ensure_network(s)
    write_known_hosts(units)
    states = {s.unit.id: ensure_sshd(s) for s in units}
    for s in units:
        banner = wait_ssh(s.unit.host, s.unit.port)
        print(
            f"{s.unit.model:12} {s.unit.id:16} {s.unit.user}@{s.unit.host}:{s.unit.port} "
            f"netns {s.netns}  sshd {states[s.unit.id]} ({banner})"
        )
    print(f"up: {len(units)} stand-in unit(s) ready in {time.monotonic() - t0:.2f} s")


# --- down / status ----------------------------------------------------------------------------


def stop(s: StandIn) -> None:
    pid = s.running_pid()
    if pid is not None:
        # unshare --fork ignores SIGTERM while it waits; SIGKILL it and --kill-child takes sshd
        # (PID 1 of the unit) down, which ends every process of the unit's PID namespace.
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    s.pidfile.unlink(missing_ok=True)
    if netns_exists(s.netns):
        # Anything that joined the network namespace without the PID namespace.
        for p in sh("ip", "netns", "pids", s.netns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(p), signal.SIGKILL)
        sh("ip", "netns", "del", s.netns)
    if link_exists(s.veth_host):
        sh("ip", "link", "del", s.veth_host, check=False)


def purge(s: StandIn) -> None:
    if sh("id", "-u", s.unit.user, check=False).returncode == 0:
        sh("userdel", s.unit.user, check=False)
    shutil.rmtree(s.home, ignore_errors=True)
    shutil.rmtree(s.sshd_dir, ignore_errors=True)
    for p in (s.unit.key_file, f"{s.unit.key_file}.pub", s.unit.known_hosts):
        if p and Path(p).resolve().is_relative_to(STATE):
            Path(p).unlink(missing_ok=True)


def status(units: list[StandIn]) -> int:
    bad = 0
    for s in units:
        pid = s.running_pid()
        try:
            banner = wait_ssh(s.unit.host, s.unit.port, timeout_s=1.0) if netns_exists(s.netns) else "no netns"
            ok = banner.startswith("SSH-")
        except SystemExit as e:
            banner, ok = str(e), False
        bad += not ok
        print(
            f"{s.unit.model:12} {s.unit.id:16} {s.unit.host}:{s.unit.port} netns {s.netns} "
            f"{'present' if netns_exists(s.netns) else 'absent'}, sshd pid {pid or '-'}: "
            f"{'UP ' + banner if ok else 'DOWN (' + banner + ')'}"
        )
    return 0 if bad == 0 and units else 3


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("action", choices=["up", "down", "status"])
    ap.add_argument("--inventory", type=Path, default=None, help="default: HARNESS_INVENTORY or lab_env/inventory.yaml")
    ap.add_argument("--purge", action="store_true", help="with down: also remove users, keys and state")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("stand-in terminals need root (network namespaces, users, sshd)", file=sys.stderr)
        return 2
    units = standins(args.inventory)
    if not units:
        print("the inventory lists no stand-in units (standin: true)", file=sys.stderr)
        return 2
    if args.action == "up":
        up(units)
        return 0
    if args.action == "status":
        return status(units)
    t0 = time.monotonic()
    for s in units:
        stop(s)
        if args.purge:
            purge(s)
    if args.purge:
        sh("ip", "route", "del", "unreachable", LAB_NET, check=False)
    print(
        f"down: {len(units)} stand-in unit(s) stopped{' and purged' if args.purge else ''} "
        f"in {time.monotonic() - t0:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
