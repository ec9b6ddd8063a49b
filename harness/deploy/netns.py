"""Lab network namespaces: a local sample on an address of its own, beside any other.

Each namespace gets one /30 of the lab's range (``LAB_NET``): a veth pair with the lab's side on
``.1`` of the host and the sample's side on ``.2`` in the namespace. The sample may bind any port
or every interface there without meeting another deployment, and the harness reaches it from a
non-loopback address, as a client on the network would. The namespace has no route beyond its
link, and the host is closed to it (``hostfw``): it reaches nothing but itself.

Slot N (0..16383) is the namespace ``hlab-ns-N``, the interfaces ``hlnsNh`` (host) and
``hlnsNs`` (sample), and the network 10.214.0.0 + 4N. ``ip netns add`` refuses a name that exists,
so taking a slot is atomic between harness processes; the leftovers ledger records it right after.
Needs root and iproute2.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.deploy import hostfw
from harness.errors import LabError

LAB_NET = ipaddress.IPv4Network("10.214.0.0/16")
SLOTS = LAB_NET.num_addresses // 4
PREFIX = "hlab-ns-"


class NamespaceError(LabError):
    """The lab could not make or remove a network namespace (no root, no iproute2, no free slot)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NamespaceError(f"ip {' '.join(args)}: {e}") from None
    if check and r.returncode != 0:
        raise NamespaceError(f"ip {' '.join(args)} failed: {r.stderr.strip()}")
    return r


@dataclass(frozen=True)
class Namespace:
    slot: int

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.slot}"

    @property
    def host_if(self) -> str:
        return f"hlns{self.slot}h"

    @property
    def sample_if(self) -> str:
        return f"hlns{self.slot}s"

    @property
    def _net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((int(LAB_NET.network_address) + 4 * self.slot, 30))

    @property
    def lab_address(self) -> str:
        """The host's side of the link: where the sample's packets come from."""
        return str(self._net.network_address + 1)

    @property
    def address(self) -> str:
        """The sample's address, the deployment's host."""
        return str(self._net.network_address + 2)

    @property
    def path(self) -> str:
        return f"/run/netns/{self.name}"

    def run_prefix(self, uid: int | None = None, gid: int | None = None) -> list[str]:
        """argv prefix running a command in the namespace (network only: same files, same
        processes), as `uid`/`gid` if given (nsenter switches after entering)."""
        cmd = ["nsenter", f"--net={self.path}"]
        if gid is not None:
            cmd.append(f"--setgid={gid}")
        if uid is not None:
            cmd.append(f"--setuid={uid}")
        return [*cmd, "--"]

    def pids(self) -> list[int]:
        r = _ip("netns", "pids", self.name, check=False)
        return [int(p) for p in r.stdout.split() if p.isdigit()]


def slot_of(name: str) -> int | None:
    tail = name.removeprefix(PREFIX)
    return int(tail) if name.startswith(PREFIX) and tail.isdigit() and int(tail) < SLOTS else None


def create() -> Namespace:
    """Take a free slot and set its namespace up; raise NamespaceError naming what failed."""
    if os.geteuid() != 0:
        raise NamespaceError("isolation: namespace needs the harness to run as root (network namespaces)")
    # Traffic to a slot without a namespace fails here instead of leaving by the default route.
    _ip("route", "replace", "unreachable", str(LAB_NET))
    start = random.randrange(SLOTS)
    for i in range(64):
        ns = Namespace((start + i) % SLOTS)
        if _ip("netns", "add", ns.name, check=False).returncode == 0:
            break
    else:
        raise NamespaceError(f"no free slot for a network namespace in {LAB_NET} after 64 tries")
    try:
        _ip("-n", ns.name, "link", "set", "lo", "up")
        _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", ns.sample_if, "netns", ns.name)
        _ip("addr", "add", f"{ns.lab_address}/30", "dev", ns.host_if)
        _ip("link", "set", ns.host_if, "up")
        _ip("-n", ns.name, "addr", "add", f"{ns.address}/30", "dev", ns.sample_if)
        _ip("-n", ns.name, "link", "set", ns.sample_if, "up")
    except NamespaceError:
        destroy(ns)
        raise
    return ns


def close_host(ns: Namespace) -> str:
    return hostfw.close_host(ns.host_if)


def destroy(ns: Namespace) -> list[int]:
    """Kill whatever still runs in the namespace, remove it (its veth pair goes with it) and the
    host rule. Safe to call twice; returns the PIDs killed."""
    killed = []
    if Path(ns.path).exists():
        for pid in ns.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        _ip("netns", "del", ns.name, check=False)
    if Path(f"/sys/class/net/{ns.host_if}").exists():  # a half-made pair
        _ip("link", "del", ns.host_if, check=False)
    hostfw.reopen_host(ns.host_if)
    return killed
