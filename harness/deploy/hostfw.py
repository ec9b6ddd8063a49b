"""The host closed to what the lab deploys.

A sample kept off every outside network (a container's internal network, a lab network namespace)
still reaches the host itself on the address of its link's host side, and with it every host
service bound to 0.0.0.0. One INPUT rule per link interface refuses new connections from the
sample to the host; the lab reaching the sample (replies included) is untouched.
"""

from __future__ import annotations

import contextlib
import subprocess

COMMENT = "harness-lab"


def _iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", "5", *args], capture_output=True, text=True, timeout=30)


def _rule(iface: str) -> list[str]:
    return ["INPUT", "-i", iface, "-m", "conntrack", "--ctstate", "NEW", "-m", "comment",
            "--comment", COMMENT, "-j", "DROP"]  # fmt: skip


def close_host(iface: str) -> str:
    """Install the rule; report (not raise) when it cannot be, e.g. not root: it goes in the info."""
    try:
        r = _iptables("-I", *_rule(iface))
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable: {e}"
    return "host closed to the sample" if r.returncode == 0 else f"unavailable: {r.stderr.strip()}"


def reopen_host(iface: str) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        while _iptables("-D", *_rule(iface)).returncode == 0:  # every copy, should there be several
            pass


def closed_interfaces() -> list[str]:
    try:
        r = _iptables("-S", "INPUT")
    except (OSError, subprocess.TimeoutExpired):
        return []
    out = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if COMMENT in parts and "-i" in parts:
            out.append(parts[parts.index("-i") + 1])
    return out
