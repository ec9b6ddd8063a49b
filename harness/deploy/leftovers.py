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


def record(backend: str, payload: dict[str, Any]) -> str:
    key = f"{backend}-{uuid.uuid4().hex[:12]}"
    entry = {"backend": backend, "owner_pid": os.getpid(), "payload": payload}
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
        except (OSError, ValueError):
            p.unlink(missing_ok=True)
            continue
        if not pid_alive(int(entry["owner_pid"])):
            out.append((p.stem, entry["payload"]))
    return out
