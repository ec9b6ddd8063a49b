"""The sockets a process tree holds, read from ``/proc`` (Linux; root for other users' processes).

``/proc/<pid>/fd`` socket inodes matched against ``/proc/<pid>/net/{tcp,udp}{,6}``. Used to attribute
listening sockets to a deployed sample: its exposure (harness.probes.ports) and whether the socket
that answered its health check is its own (harness.deploy.base.require_own_listener).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_TCP_LISTEN = "0A"
_TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
    "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}  # fmt: skip


@dataclass(frozen=True)
class Sock:
    proto: str  # tcp | udp
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    state: str
    inode: int
    pid: int | None = None

    @property
    def listening(self) -> bool:
        """Accepts connections (TCP LISTEN) or datagrams from anyone (unconnected bound UDP)."""
        if self.proto == "tcp":
            return self.state == "LISTEN"
        return self.remote_port == 0 and self.local_port != 0

    def describe(self) -> str:
        host = f"[{self.local_ip}]" if ":" in self.local_ip else self.local_ip
        who = f" pid {self.pid}" if self.pid else ""
        return f"{self.proto}/{self.local_port} on {host}{who}"


def _hex_ip(raw: str) -> str:
    data = bytes.fromhex(raw)
    if len(data) == 4:
        return str(ipaddress.IPv4Address(data[::-1]))
    # IPv6 in /proc is four little-endian 32-bit words.
    words = b"".join(data[i : i + 4][::-1] for i in range(0, 16, 4))
    addr = ipaddress.IPv6Address(words)
    return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)


def _parse_net(path: Path, proto: str) -> list[Sock]:
    try:
        lines = path.read_text().splitlines()[1:]
    except OSError:
        return []
    out = []
    for line in lines:
        f = line.split()
        if len(f) < 10:
            continue
        lip, lport = f[1].split(":")
        rip, rport = f[2].split(":")
        state = _TCP_STATES.get(f[3], f[3]) if proto == "tcp" else f[3]
        out.append(Sock(proto, _hex_ip(lip), int(lport, 16), _hex_ip(rip), int(rport, 16), state, int(f[9])))
    return out


def netns_sockets(pid: int, proc: Path = PROC) -> list[Sock]:
    """Every TCP/UDP socket of the network namespace process `pid` lives in."""
    out: list[Sock] = []
    for name, proto in (("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")):
        out += _parse_net(proc / str(pid) / "net" / name, proto)
    return out


def _stat(pid: int, proc: Path) -> tuple[int, int, int] | None:
    """(ppid, pgrp, session) of a process, None if it is gone."""
    try:
        text = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    rest = text[text.rfind(")") + 2 :].split()
    return int(rest[1]), int(rest[2]), int(rest[3])


def process_tree(root: int, proc: Path = PROC) -> set[int]:
    """The root process, every process of its session and process group, and all descendants."""
    stats = {}
    for d in proc.iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name), proc)
            if st is not None:
                stats[int(d.name)] = st
    tree = {root} | {p for p, (_pp, pg, sid) in stats.items() if pg == root or sid == root}
    grew = True
    while grew:
        kids = {p for p, (pp, _pg, _sid) in stats.items() if pp in tree} - tree
        tree |= kids
        grew = bool(kids)
    return {p for p in tree if p in stats}


def socket_inodes(pid: int, proc: Path = PROC) -> set[int]:
    inodes: set[int] = set()
    fd_dir = proc / str(pid) / "fd"
    try:
        fds = list(os.scandir(fd_dir))
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd.path)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def sockets_of_processes(pids: Iterable[int], proc: Path = PROC) -> list[Sock]:
    """The TCP/UDP sockets the given processes hold open."""
    owner: dict[int, int] = {}
    namespaces: dict[str, int] = {}
    for pid in pids:
        for inode in socket_inodes(pid, proc):
            owner.setdefault(inode, pid)
        try:
            namespaces.setdefault(os.readlink(proc / str(pid) / "ns" / "net"), pid)
        except OSError:
            continue
    out = []
    for pid in namespaces.values():
        for s in netns_sockets(pid, proc):
            if s.inode in owner:
                out.append(Sock(**{**s.__dict__, "pid": owner[s.inode]}))
    return out


def listeners_on(port: int, addresses: set[str], proc: Path = PROC) -> list[Sock]:
    """TCP sockets of this host's network namespace listening on `port` at any of `addresses`
    (a wildcard listener, 0.0.0.0 or ::, accepts on every address and is always included)."""
    wanted = addresses | {"0.0.0.0", "::"}
    return [
        s
        for s in netns_sockets(os.getpid(), proc)
        if s.proto == "tcp" and s.listening and s.local_port == port and s.local_ip in wanted
    ]


def holder_of(inode: int, proc: Path = PROC) -> str:
    """Who holds a socket: 'pid N (command line)', or that no visible process does."""
    for d in proc.iterdir():
        if d.name.isdigit() and inode in socket_inodes(int(d.name), proc):
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                cmd = ""
            return f"pid {d.name} ({cmd[:120] or '?'})"
    return "a process the harness cannot see"
