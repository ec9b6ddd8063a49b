"""Reading what an applicant submitted without trusting it.

Specs and media come from outside the lab. Every read here is of a regular file, bounded in size;
special files (FIFOs, devices, sockets) and pseudo filesystems (``/proc``, ``/sys``, ``/dev``) are
never opened, because some of them block forever (``/proc/kmsg``) or never end (``/dev/zero``).
Tree walks never follow symbolic links (a link is reported as a link) and stop at a bound, so a
medium at ``/`` is refused in seconds instead of hashed for hours.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from harness.errors import InputError

# Filesystems whose "files" are kernel interfaces, not content.
PSEUDO_FILESYSTEMS = frozenset(
    {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "pstore",
     "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs",
     "autofs", "selinuxfs"}
)  # fmt: skip
MAX_TREE_ENTRIES = 200_000  # a large source tree with its vendored packages stays under this
MAX_TREE_DEPTH = 64


class FileRefused(InputError):
    """A path the lab will not read, with why (one line, without the path: callers name it)."""


@cache
def _filesystems() -> dict[int, str]:
    """Device number -> filesystem type, from the mount table."""
    out: dict[int, str] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        left, _, right = line.partition(" - ")
        parts, rparts = left.split(), right.split()
        if len(parts) > 2 and rparts and ":" in parts[2]:
            major, minor = parts[2].split(":", 1)
            if major.isdigit() and minor.isdigit():
                out[os.makedev(int(major), int(minor))] = rparts[0]
    return out


def pseudo_filesystem(st: os.stat_result) -> str | None:
    """The type of the pseudo filesystem this entry lives on, or None for a real one."""
    fs = _filesystems().get(st.st_dev)
    return fs if fs in PSEUDO_FILESYSTEMS else None


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def check_path_text(text: str) -> str | None:
    """What is wrong with a path as text (before the filesystem is asked anything), or None."""
    if not text:
        return "is empty"
    if "\0" in text:
        return "contains a NUL byte"
    if len(text.encode("utf-8", "surrogateescape")) > 4000:
        return "is longer than 4000 bytes"
    long = next((part for part in text.split("/") if len(part.encode("utf-8", "surrogateescape")) > 255), None)
    if long is not None:
        return f"has a name longer than 255 bytes ({long[:24]}...)"
    return None


def stat_of(path: Path, follow: bool = True) -> os.stat_result:
    """stat, with every way it can fail turned into one FileRefused line."""
    why = check_path_text(str(path))
    if why:
        raise FileRefused(why)
    try:
        return path.stat() if follow else path.lstat()
    except FileNotFoundError:
        raise FileRefused("does not exist") from None
    except NotADirectoryError:
        raise FileRefused("does not exist (a part of the path is not a directory)") from None
    except OSError as e:
        raise FileRefused(f"cannot be examined: {e.strerror or e}") from None


def regular_file(path: Path) -> os.stat_result:
    """The stat of ``path`` if it is a regular file on a real filesystem; FileRefused otherwise."""
    st = stat_of(path)
    if not stat.S_ISREG(st.st_mode):
        raise FileRefused(f"is a {_kind(st.st_mode)}, not a regular file")
    fs = pseudo_filesystem(st)
    if fs:
        raise FileRefused(f"is on a {fs} filesystem (a kernel interface, not a file)")
    return st


def read_bytes(path: Path, limit: int, truncate: bool = False) -> bytes:
    """A regular file's bytes, at most ``limit`` of them: more is refused, or with ``truncate``,
    left unread."""
    regular_file(path)
    try:
        # O_NONBLOCK: should the file have been swapped for a FIFO since the stat, open() and read()
        # return at once instead of waiting for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as e:
        raise FileRefused(f"cannot be read: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileRefused("changed into a special file while being opened")
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise FileRefused(f"cannot be read: {e.strerror or e}") from None
    if len(data) > limit and not truncate:
        raise FileRefused(f"is larger than {limit:,} bytes")
    return data[:limit]


def sha256_of(path: Path) -> str:
    """A regular file's SHA-256 (any size), refusing special and pseudo-filesystem files."""
    regular_file(path)
    h = hashlib.sha256()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise FileRefused("changed into a special file while being opened")
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError as e:
        raise FileRefused(f"cannot be read: {e.strerror or e}") from None
    return h.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One entry of a tree: ``rel`` is its path relative to the root, with "/" separators."""

    where: str  # the entry's full path (text: a Path per entry would cost more than the walk)
    rel: str
    kind: str  # file, directory, link, FIFO, socket, device, special file
    target: str = ""  # a link's target, as written

    @property
    def path(self) -> Path:
        return Path(self.where)

    def link_escapes(self) -> bool:
        """Whether a link points outside the tree it is in (absolute, or too many ``..``)."""
        if self.kind != "link":
            return False
        if os.path.isabs(self.target):
            return True
        joined = os.path.normpath(os.path.join(os.path.dirname(self.rel), self.target))
        return joined == ".." or joined.startswith("../")


def walk(root: Path, skip_dir: frozenset[str] = frozenset(), max_entries: int = MAX_TREE_ENTRIES) -> list[Entry]:
    """Every entry under the directory ``root``, in a stable order (by path parts), links not
    followed, pseudo filesystems refused, at most ``max_entries`` entries and MAX_TREE_DEPTH levels.
    Directories named in ``skip_dir`` are left out with everything in them."""
    st = stat_of(root)
    if not stat.S_ISDIR(st.st_mode):
        raise FileRefused(f"is a {_kind(st.st_mode)}, not a directory")
    entries: list[tuple[tuple[str, ...], Entry]] = []
    stack: list[tuple[str, tuple[str, ...]]] = [(str(root), ())]
    while stack:
        d, parts = stack.pop()
        if len(parts) > MAX_TREE_DEPTH:
            raise FileRefused(f"is nested deeper than {MAX_TREE_DEPTH} directories at {'/'.join(parts)}")
        try:
            fs = pseudo_filesystem(os.lstat(d))
            if fs:
                where = "/".join(parts) or "."
                raise FileRefused(f"reaches a {fs} filesystem at {where} (a kernel interface, not media)")
            with os.scandir(d) as it:
                children = list(it)
        except OSError as e:
            raise FileRefused(f"cannot be listed at {'/'.join(parts) or '.'}: {e.strerror or e}") from None
        for c in sorted(children, key=lambda c: c.name, reverse=True):  # popped in name order
            if len(entries) >= max_entries:
                raise FileRefused(f"holds more than {max_entries:,} entries (is this really the medium?)")
            if c.name in skip_dir:
                continue
            sub = (*parts, c.name)
            rel = "/".join(sub)
            try:
                # The directory entry's type needs no system call; only odd entries are examined.
                if c.is_symlink():
                    kind, target = "link", os.readlink(c.path)
                elif c.is_dir(follow_symlinks=False):
                    kind, target = "directory", ""
                elif c.is_file(follow_symlinks=False):
                    kind, target = "file", ""
                else:
                    kind, target = _kind(c.stat(follow_symlinks=False).st_mode), ""
            except OSError as e:
                raise FileRefused(f"cannot be examined at {rel}: {e.strerror or e}") from None
            entries.append((sub, Entry(c.path, rel, kind, target)))
            if kind == "directory":
                stack.append((c.path, sub))
    entries.sort(key=lambda e: e[0])
    return [e for _, e in entries]
