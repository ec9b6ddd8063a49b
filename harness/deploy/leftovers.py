"""A ledger of what deployments started, so the next harness start removes what a crashed or
killed run left behind (labgrid's lesson: label everything you create)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from harness.config import lab_config


def _dir() -> Path:
    d = lab_config().data_dir / "active"
    d.mkdir(parents=True, exist_ok=True)
    return d


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses):
    [0] state, [2] process group, [19] start time."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return []
    return text.rsplit(")", 1)[-1].split()


def process_start(pid: int) -> str:
    """The kernel's start time of a process (clock ticks after boot), "" if there is none: a pid
    with its start time names one process for good, since pids are reused."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


def owner_alive(pid: int, start: str) -> bool:
    """Whether the process that wrote a record still runs: the pid, and the start time if recorded."""
    if not pid_alive(pid):
        return False
    return not start or process_start(pid) in ("", start)


def group_members(pgid: int, leader_start: str) -> list[int]:
    """The live processes of the process group a deployment started, whose leader (pid = pgid)
    started at ``leader_start``. Empty when the group is gone, and when its id now belongs to an
    unrelated process (a leader with another start time): cleanup must never kill that.

    When the leader has exited, the members left are those of the group started no earlier than it
    (they are its descendants; while they live, the kernel does not hand the group id out again)."""
    if not leader_start.isdigit():
        return []
    leader = _stat(pgid)
    if len(leader) > 19 and leader[19] != leader_start:
        return []  # the id was reused
    members = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        f = _stat(d.name)
        if len(f) > 19 and f[2] == str(pgid) and f[0] != "Z" and int(f[19]) >= int(leader_start):
            members.append(int(d.name))
    return members


def record(backend: str, payload: dict[str, Any]) -> str:
    key = f"{backend}-{uuid.uuid4().hex[:12]}"
    pid = os.getpid()
    entry = {"backend": backend, "owner_pid": pid, "owner_start": process_start(pid), "payload": payload}
    path = _dir() / f"{key}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(entry))
    tmp.replace(path)
    return key


def forget(key: str) -> None:
    (_dir() / f"{key}.json").unlink(missing_ok=True)


def orphans(backend: str) -> list[tuple[str, dict[str, Any]]]:
    """Entries of this backend whose harness process is gone."""
    out = []
    for p in sorted(_dir().glob(f"{backend}-*.json")):
        try:
            entry = json.loads(p.read_text())
            owner, start, payload = int(entry["owner_pid"]), str(entry.get("owner_start", "")), entry["payload"]
        except (OSError, ValueError, KeyError, TypeError):
            p.unlink(missing_ok=True)
            continue
        if not owner_alive(owner, start):
            out.append((p.stem, payload))
    return out
