"""Local process helpers shared by the deployers: free ports and process groups."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time

from harness.deploy import leftovers


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    """Whether a TCP listener could bind host:port now (nothing else holds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no holder
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def group_running(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies do not count: an orphan's zombie waits
    for a reaper (on some hosts PID 1 never reaps), and ``killpg(pgid, 0)`` would still find it."""
    for d in os.scandir("/proc"):
        if not d.name.isdigit():
            continue
        try:
            with open(f"/proc/{d.name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def signal_group(pgid: int, start: str, sig: int) -> bool:
    """Signal the process group a deployment started, named by its leader's pid and start time;
    False if nothing of it is left. A group id the kernel has since given to an unrelated process
    is left alone (leftovers.group_members)."""
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


def kill_group(pgid: int, sig: int = signal.SIGTERM, grace_s: float = 5.0, start: str | None = None) -> None:
    """Signal a process group, wait up to grace_s for it to end, then SIGKILL what is left.

    ``start``: the leader's start time recorded with the id (leftovers.process_start); then only
    that group is signalled. Without it the caller must hold the leader unreaped (its own Popen),
    which keeps the id from being given to anyone else."""
    if start is not None:
        if not signal_group(pgid, start, sig):
            return
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and leftovers.group_members(pgid, start):
            time.sleep(0.05)
        signal_group(pgid, start, signal.SIGKILL)
        return
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not group_running(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
