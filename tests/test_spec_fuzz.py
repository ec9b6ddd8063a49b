"""Bad specs, generated (issue #15): about a thousand per run, each through the real `spec check`
command in-process, with zero tracebacks, zero hangs and every error line `FILE:LINE: field: what`.

The cases are mutations of the real specs in sample_specs/ (lines deleted, duplicated, truncated,
values replaced, other encodings), schema-derived (every field of the spec model set to values of the
wrong type or hostile content), and targeted attacks: alias bombs, deep nesting, `extends:` chains
and cycles, paths to the host and to kernel interfaces, FIFOs, links, malformed media contents and
template placeholders that reach into objects.

Deterministic (hypothesis derandomized): CI sees the same cases every run. A longer exploration:

    HARNESS_FUZZ_CASES=20000 HARNESS_FUZZ_EXPLORE=1 python3 -m pytest tests/test_spec_fuzz.py -s

(EXPLORE draws new random cases each run instead of the fixed ones.)
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tarfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any, get_args

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from harness.errors import HarnessError
from harness.files import FileRefused
from harness.media import tree_sha256
from harness.spec.model import SampleSpec
from tests.conftest import ROOT, SPECS
from tests.inprocess import run_harness

N_CASES = int(os.environ.get("HARNESS_FUZZ_CASES", "1000"))
EXPLORE = os.environ.get("HARNESS_FUZZ_EXPLORE") == "1"
HANG_S = 15  # a case this slow is hung, not slow: spec check takes milliseconds

BASES = ("refpay.yaml", "walletx.yaml", "refpay-defective.yaml")
ERROR_LINE = re.compile(r"error: (?P<file>[^\n]+?\.yaml):(?P<line>[1-9]\d*): (?P<field>[^\n]+?): (?P<what>[^\n]+)")
MISSING_LINE = re.compile(r"error: [^\n]+\.yaml: no such spec file")


# -- running one case ------------------------------------------------------------------------------
class Hang(Exception):
    pass


def _alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang(f"spec check took over {HANG_S} s")


@dataclass
class Stats:
    cases: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    exits: Counter[int] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # spec check time by kind of case
    failed: Counter[str] = field(default_factory=Counter)  # cases by what went wrong (traceback, hang...)
    failures: dict[str, str] = field(default_factory=dict)  # distinct failure -> one example


def check_one(spec: Path, kind: str, stats: Stats, refuse: bool = False) -> list[str]:
    """Run `harness spec check SPEC` in-process; return what is wrong with how it ended."""
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_S)
    try:
        result = run_harness("spec", "check", str(spec))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    stats.cases += 1
    stats.by_kind[kind] += 1
    stats.exits[result.code] += 1
    stats.seconds[kind.split(":")[0]] += time.monotonic() - started
    problems: list[str] = []
    for exc in result.ended_by:
        if isinstance(exc, Hang):
            problems.append("hang over 15 s")
        elif not isinstance(exc, HarnessError):
            tb = traceback.extract_tb(exc.__traceback__)
            where = next(
                (f"{Path(f.filename).name}:{f.lineno}" for f in reversed(tb) if "/harness/" in f.filename), "?"
            )
            problems.append(f"traceback {type(exc).__name__} at {where}")
    if result.code not in (0, 2) and not problems:
        problems.append(f"exit {result.code}")
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    for line in errors:
        if not (ERROR_LINE.fullmatch(line) or MISSING_LINE.fullmatch(line)):
            problems.append(f"error line not FILE:LINE: field: what: {line[:160]!r}")
            break
    if result.code == 2 and not errors:
        problems.append("exit 2 without an error line")
    if result.code == 0 and not result.stdout.strip().endswith(": ok"):
        problems.append(f"exit 0 without ok: {result.stdout[:160]!r}")
    if result.code == 0 and refuse:
        problems.append("accepted: a hostile spec passed spec check")
    for category in {p.split(" ")[0] for p in problems}:
        stats.failed[category] += 1
    return problems


# -- the workspace: where cases are written --------------------------------------------------------
@dataclass
class Workspace:
    """A copy of the layout of sample_specs/: a case written here reaches the real media and
    scenarios through links (they resolve into the lab's reference folders, as the real specs do)."""

    root: Path
    used: int = 0  # earlier cases' extra files, moved aside (a rename is cheap; deleting is not)

    @property
    def specs(self) -> Path:
        return self.root / "sample_specs"

    @property
    def extra(self) -> Path:
        return self.specs / "x"

    def reset(self) -> None:
        if self.extra.exists() and any(self.extra.iterdir()):
            self.used += 1
            self.extra.rename(self.root / f"used-{self.used}")
        self.extra.mkdir(exist_ok=True)

    @classmethod
    def make(cls, root: Path) -> Workspace:
        ws = cls(root)
        ws.specs.mkdir(parents=True)
        (root / "samples").symlink_to(ROOT / "samples")
        (ws.specs / "scenarios").symlink_to(SPECS / "scenarios")
        for name in BASES:
            shutil.copy(SPECS / name, ws.specs / name)
        return ws


# What a case writes besides the spec: (path under x/, content). Content is bytes, a directory
# ("dir"), a FIFO ("fifo"), a link ("link:TARGET") or a tar archive ("tar:...").
Extra = tuple[str, Any]


@dataclass(frozen=True)
class Case:
    kind: str
    spec: bytes
    extras: tuple[Extra, ...] = ()
    refuse: bool = False  # hostile for certain: `spec check` must not say ok
    name: str = "case.yaml"

    def write(self, ws: Workspace) -> Path:
        ws.reset()
        for rel, content in self.extras:
            p = ws.extra / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if content == "dir":
                p.mkdir(exist_ok=True)
            elif content == "fifo":
                os.mkfifo(p)
            elif isinstance(content, str) and content.startswith("link:"):
                p.symlink_to(content.removeprefix("link:"))
            elif isinstance(content, str) and content.startswith("tar:"):
                with tarfile.open(p, "w") as tar:
                    src = ws.extra / content.removeprefix("tar:")
                    if src.exists():
                        tar.add(src, arcname="member")
            else:
                p.write_bytes(content)
        spec = ws.specs / self.name
        data = self.spec
        if b"@HASH@" in data:
            try:
                digest = tree_sha256(ws.extra / "media")
            except FileRefused:
                digest = "0" * 64
            data = data.replace(b"@HASH@", digest.encode())
        spec.write_bytes(data)
        return spec


# -- strategies ------------------------------------------------------------------------------------
# Sizes are the smallest that reach each failure mode (the parser's recursion, the JSON decoder's,
# a regex's backtracking); tests/test_media.py holds the full-size cases of issue #15.
@cache
def base_text(name: str) -> str:
    return (SPECS / name).read_text(encoding="utf-8")


@cache
def base_data(name: str) -> Any:
    return yaml.load(base_text(name), Loader=yaml.CSafeLoader)  # the lab's own specs: any loader reads them


VARIANT = f"extends: {SPECS / 'refpay.yaml'}\n"

HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, 10**30, 1e308, float("inf"), float("nan"), "", " ", "x" * 100_000, "\0",
    "a\x00b", "中文样品", "1:20", "yes", "{host.__class__}", "{ports.nope}", "{0}", "{", "}", "{x!r}",
    "../../../../../etc/shadow", "/etc/shadow", "/proc/kmsg", "/dev/zero", "/", "-r /etc/shadow", "a" * 300,
    "a/" * 2100, [], [None], ["-r", "/etc/shadow"], {}, {"x": None}, [[[[[[]]]]]], {"a": {"b": {"c": {}}}},
    list(range(300)), {str(i): i for i in range(100)}, "\u202e\u0000\ufeff", "https://127.0.0.2/", "@HASH@",
]  # fmt: skip

HOSTILE_SCALARS = [
    "1:20", "1:20:30", "yes", "on", ".inf", "-.inf", ".nan", "true", "~", "0x1F", "012", "0o777", "2024-01-01",
    "*undefined", "&a", "!!python/object/apply:os.system ['id']", "!!binary aGVsbG8=", "!!set {a, b}",
    "[", "{", "'unclosed", '"unclosed', "|", ">", "- item", "? complex", "'{host.__class__}'", "{a: 1, a: 2}",
    "'\\x00'", '"\\0"', '"\\uD800"', "!!timestamp 2001-12-14", "!!float abc", "!!int 1.5", "<<: *x", "%YAML 1.1",
    "---", "...", "@", "`", "\t", "1e999", "-0", "0b101", "+12", "1_000",
]  # fmt: skip

HOSTILE_PATHS = [
    "/", "/proc", "/sys", "/dev", "/proc/kmsg", "/proc/self/mem", "/dev/zero", "/dev/null", "/dev/stdin",
    "x/fifo", "x/link-etc", "x/loop", "x/dangling", "x/dir", "a" * 300, "a/" * 2100, "../" * 20 + "etc/passwd",
    "~root/.ssh/id_rsa", "", " ", "x/../../../etc", "x/link-etc/passwd", "/etc/shadow", "\\\\server\\share",
    "file:///etc/passwd", "x\nnewline", "中文/路径",
]  # fmt: skip

PATH_EXTRAS: tuple[Extra, ...] = (
    ("fifo", "fifo"),
    ("link-etc", "link:/etc"),
    ("loop", "link:loop"),
    ("dangling", "link:nowhere"),
    ("dir", "dir"),
)

HOSTILE_TEMPLATES = [
    "{host.__class__}", "{ports.__dict__}", "{ports[0]}", "{0}", "{}", "{x!r}", "{x:>{y}}", "{", "}", "{{",
    "{ports.nope}", "{username}", "{" * 1001, "{a" + ".b" * 100 + "}", "{" + "a" * 10_000 + "}",
    "{host}{host}" * 1000, "{ports}", "{__import__}", "{ports.https.real}", "{bind!s:>10}", "{\0}",
]  # fmt: skip

TEMPLATE_FIELDS = [
    ("deployment", "start", "run"),
    ("deployment", "env", "X"),
    ("deployment", "health", "url"),
    ("driver", "base_url"),
    ("driver", "login", "path"),
    ("driver", "operations", "account", "path"),
    ("driver", "operations", "transfer", "body", "amount"),
    ("driver", "operations", "history", "query", "q"),
    ("driver", "login", "headers", "X"),
]

PATH_FIELDS = [
    ("media", 0, "path"),
    ("documentation", "scope"),
    ("documentation", "openapi"),
    ("documentation", "use_cases", 0, "scenario"),
    ("deployment", "container", "image_archive"),
    ("deployment", "container", "build_context"),
    ("deployment", "log_files", 0),
    ("deployment", "data_files", 0),
    ("extends",),
]


def schema_paths(model: type[BaseModel] = SampleSpec, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every field path of the spec model (a list's first item, a mapping's key "x" or its first)."""
    out: list[tuple[Any, ...]] = []
    for name, f in model.model_fields.items():
        p = (*prefix, name)
        out.append(p)
        if len(prefix) < 6:
            for sub, step in _submodels(f.annotation):
                out += schema_paths(sub, (*p, *step))
    return out


def _submodels(ann: Any) -> Iterator[tuple[type[BaseModel], tuple[Any, ...]]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        yield ann, ()
        return
    origin = getattr(ann, "__origin__", None)
    args = get_args(ann)
    if origin is list and args:
        for sub, step in _submodels(args[0]):
            yield sub, (0, *step)
    elif origin is dict and len(args) == 2:
        for sub, step in _submodels(args[1]):
            yield sub, ("*", *step)
    else:
        for a in args:
            yield from _submodels(a)


SCHEMA_PATHS = schema_paths()


def set_path(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``data`` with the value at ``path`` replaced (containers made as needed)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(data) if isinstance(data, list) else []
        while len(items) <= head:
            items.append({})
        items[head] = set_path(items[head], rest, value)
        return items
    d = dict(data) if isinstance(data, dict) else {}
    if head == "*":
        head = next(iter(d), "x")
    d[head] = set_path(d.get(head), rest, value)
    return d


def dump(data: Any) -> bytes:
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False, width=1_000_000)
    return text.encode("utf-8", "surrogateescape")


def schema_case(base: str, path: tuple[Any, ...], value: Any) -> Case:
    return Case(f"schema:{path[0]}", dump(set_path(base_data(base), path, value)))


def line_case(base: str, op: str, i: int, j: int, snippet: str) -> Case:
    lines = base_text(base).splitlines(keepends=True)
    i, j = i % len(lines), j % len(lines)
    if op == "delete":
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "truncate":
        lines = [*lines[:i], lines[i][: j % (len(lines[i]) + 1)]]
    elif op == "indent":
        lines[i] = " " * (j % 7) + lines[i].lstrip(" ")
    elif op == "value":
        key, sep, _ = lines[i].partition(": ")
        lines[i] = f"{key}{sep or ': '}{snippet}\n"
    elif op == "insert":
        lines.insert(i, snippet + "\n")
    return Case(f"line:{op}", "".join(lines).encode("utf-8"))


def encoding_case(base: str, how: str, at: int) -> Case:
    text = base_text(base)
    if how == "gbk":
        data = text.encode("gbk")
    elif how == "gb18030-4byte":
        data = (text + "# 𠀀\n").encode("gb18030")
    elif how in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        data = text.encode(how)
    elif how == "latin-1":
        data = text.encode("gbk").replace(b"\xb9", b"\xe9 ")
    elif how == "nul":
        raw = text.encode()
        data = raw[: at % len(raw)] + b"\0" + raw[at % len(raw) :]
    elif how == "bom":
        data = b"\xef\xbb\xbf" + text.encode()
    elif how == "invalid-utf8":
        raw = text.encode()
        data = raw[: at % len(raw)] + b"\xff\xfe\xfd" + raw[at % len(raw) :]
    elif how == "control":
        raw = text.encode()
        data = raw[: at % len(raw)] + bytes([at % 32]) + raw[at % len(raw) :]
    else:  # cut inside a multi-byte character
        raw = text.encode()
        cut = next((k for k in range(at % len(raw), len(raw)) if raw[k] >= 0xC0), len(raw))
        data = raw[: cut + 1]
    unreadable = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "nul", "invalid-utf8")
    return Case(f"encoding:{how}", data, refuse=how in unreadable)


def structure_case(how: str, n: int) -> Case:
    if how == "alias-bomb":
        levels = ["sample:\n  condition: &l0 [" + ",".join(["lol"] * 10) + "]"]
        levels += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 3 + n % 7)]
        text = VARIANT + "\n".join(levels) + f"\napplicability:\n  '8': {{applicable: false, reason: *l{2 + n % 7}}}\n"
    elif how == "deep":
        depth = [10, 63, 64, 65, 1000, 50_000][n % 6]
        text = VARIANT + "sample: {condition: " + "[" * depth + "]" * depth + "}\n"
    elif how == "deep-block":
        depth = [30, 70, 500][n % 3]
        text = VARIANT + "".join(f"{'  ' * k}k{k}:\n" for k in range(depth)) + "  " * depth + "v: 1\n"
    elif how == "recursive-alias":
        text = VARIANT + "sample: &s {condition: [*s]}\n"
    elif how == "documents":
        text = VARIANT + "---\n" + VARIANT
    elif how == "huge":
        text = VARIANT + "sample: {condition: '" + "x" * (1 << 20) + "'}\n"
    elif how == "many-keys":
        text = VARIANT + "applicability:\n" + "".join(f"  '{k}': {{applicable: true}}\n" for k in range(n % 20 * 50))
    elif how == "tags":
        tag = ["!!python/object/apply:os.system ['id']", "!!binary aGk=", "!!set {a}", "!custom x", "!!omap [a: 1]"]
        text = VARIANT + f"sample: {{condition: {tag[n % len(tag)]}}}\n"
    elif how == "complex-key":
        text = VARIANT + "? [a, b]\n: c\n"
    elif how == "merge":
        text = VARIANT + "base: &b {name: x}\nsample:\n  <<: [*b, *b, *b]\n  <<: *b\n"
    elif how == "top-level":
        text = ["- a\n- b\n", "just text\n", "", "# only a comment\n", "42\n", "null\n", "~\n", "[]\n"][n % 8]
    elif how == "keys":
        text = VARIANT + ["8: x\n", "null: x\n", "true: x\n", "1.5: x\n", "'': x\n", "? !!binary aGk=\n: x\n"][n % 6]
    else:  # duplicate keys at several levels
        text = VARIANT + "sample: {version: '1', version: '2'}\nsample: {}\n"
    return Case(f"structure:{how}", text.encode(), refuse=how != "many-keys")


def path_case(field_path: tuple[Any, ...], value: str) -> Case:
    if field_path == ("extends",):
        return Case("path:extends", f"extends: {yaml.safe_dump(value).strip()}\n".encode(), PATH_EXTRAS, True)
    data = set_path({}, field_path, value)
    if field_path[0] == "media":
        data["media"][0]["sha256"] = "a" * 64
    inside_sample = field_path[1] in ("log_files", "data_files")  # the sample's own files: a link is its own
    escapes = value.startswith("/") or ".." in value or len(value) > 255
    escapes = escapes or (value.startswith("x/link-etc") and not inside_sample)
    return Case(f"path:{field_path[0]}", (VARIANT + dump(data).decode()).encode(), PATH_EXTRAS, escapes)


def extends_case(how: str, n: int) -> Case:
    length = 1 + n % 20
    if how == "cycle":
        extras = tuple((f"c{i}.yaml", f"extends: c{(i + 1) % length}.yaml\n".encode()) for i in range(length))
        return Case("extends:cycle", b"extends: x/c0.yaml\n", extras, refuse=True)
    if how == "chain":
        extras = [(f"c{i}.yaml", f"extends: c{i + 1}.yaml\n".encode()) for i in range(length)]
        extras.append((f"c{length}.yaml", f"extends: {SPECS / 'refpay.yaml'}\n".encode()))
        return Case("extends:chain", b"extends: x/c0.yaml\n", tuple(extras), refuse=length + 2 > 8 + 1)
    bases: dict[str, Any] = {
        "broken-base": b"sample: [unclosed\n",
        "bad-base": (VARIANT + "deployment:\n  ports: [{name: https, port: 99999}]\n").encode(),
        "gbk-base": (VARIANT + "sample: {condition: 中文}\n").encode("gbk"),
        "utf16-base": (VARIANT + "sample: {condition: x}\n").encode("utf-16"),
        "list-base": b"- a\n",
        "fifo-base": "fifo",
        "dir-base": "dir",
        "link-base": "link:/proc/kmsg",
        "empty-base": b"",
    }
    if how in bases:
        extras = (("base.yaml", bases[how]),)
        return Case(f"extends:{how}", b"extends: x/base.yaml\nsample: {versoin: 1}\n", extras, refuse=True)
    value = ["[a, b]", "42", "~", "{a: b}", "''", "'x\\0y'", "/proc/kmsg", "nowhere.yaml"][n % 8]
    return Case("extends:value", f"extends: {value}\n".encode(), refuse=value != "~")


MEDIA_FILES: dict[str, tuple[str, bytes]] = {
    "openapi-list": ("openapi.yaml", b"- a\n- b\n"),
    "openapi-null-item": ("openapi.yaml", b"paths: {/x: null, /y: {get: {}}}\n"),
    "openapi-paths-list": ("openapi.yaml", b"paths: [a]\n"),
    "openapi-methods-list": ("openapi.yaml", b"paths: {/x: [get]}\n"),
    "openapi-int-keys": ("openapi.yaml", b"paths: {1: {2: 3}}\n"),
    "openapi-bomb": ("openapi.yaml", b"a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                     b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                     b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                     b"g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"),
    "openapi-binary": ("openapi.yaml", bytes(range(256))),
    "openapi-json": ("openapi.yaml", b'{"paths": {"/x": {"get": {}}}}'),
    "package-list": ("package.json", b'{"dependencies": ["a", "b"]}'),
    "package-array": ("package.json", b"[1, 2, 3]"),
    "package-deep": ("package.json", b"[" * 5000 + b"]" * 5000),
    "package-broken": ("package.json", b'{"dependencies": {'),
    "package-versions": ("package.json", b'{"dependencies": {"a": 1, "b": null, "c": {"d": 1}}}'),
    "package-bom": ("package.json", b'\xef\xbb\xbf{"dependencies": {}}'),
    "pyproject-numbers": ("pyproject.toml", b"[project]\ndependencies = [1, 2.5, true]\n"),
    "pyproject-table": ("pyproject.toml", b"project = 3\n"),
    "pyproject-str": ("pyproject.toml", b"[project]\ndependencies = 'requests'\n"),
    "pyproject-broken": ("pyproject.toml", b"[project\n"),
    "pyproject-deep": ("pyproject.toml", b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n"),
    "pyproject-long": ("pyproject.toml", b"[project]\ndependencies = ['" + b"a." * 10_000 + b"']\n"),
    "requirements-long": ("requirements.txt", b"a" * 100_000 + b"==1\n" + b"-r /etc/shadow\n"),
    "requirements-binary": ("requirements.txt", bytes(range(256)) * 100),
    "gomod-backtrack": ("go.mod", b"require " + b"a." * 20_000 + b"\n"),
    "py-expression": ("big.py", b"import requests\nx = " + b"1+" * 10_000 + b"1\n"),
    "py-unary": ("unary.py", b"x = " + b"-" * 20_000 + b"1\n"),
    "py-parens": ("parens.py", b"x = " + b"(" * 1000 + b")" * 1000 + b"\n"),
    "py-nul": ("nul.py", b"import os\0\n"),
    "py-binary": ("bin.py", bytes(range(256))),
    "py-latin1": ("latin.py", b"# coding: latin-1\nx = '\xe9'\nimport requests\n"),
    "wheel-name": ("-.whl", b""),
}  # fmt: skip

MEDIA_SHAPES: dict[str, tuple[Extra, ...]] = {
    "fifo": (("media/pipe", "fifo"),),
    "link-out": (("media/host", "link:/etc"),),
    "link-proc": (("media/p", "link:/proc"),),
    "link-loop": (("media/loop", "link:loop"),),
    "link-in": (("media/inner", "link:sub"), ("media/sub/a.txt", b"a")),
    "link-up": (("media/up", "link:../../.."),),
    "deep": (("media/" + "d/" * 70 + "f", b"x"),),
    "many": tuple((f"media/f{i}", b"") for i in range(100)),
    "names": (("media/" + "n" * 255, b""), ("media/中文 名\n字", b""), ("media/-rf", b"")),
    "tar": (("media/a.txt", b"x"), ("archive.tar", "tar:media")),
    "fake-tar": (("archive.tar", b"ustar" + bytes(600)),),
}


def media_case(shape: str, files: list[str], openapi: bool, right_hash: bool) -> Case:
    extras: list[Extra] = [("media/README", b"a medium\n"), *MEDIA_SHAPES.get(shape, ())]
    extras += [(f"media/{name}", content) for name, content in (MEDIA_FILES[f] for f in files)]
    medium = "x/archive.tar" if shape in ("tar", "fake-tar") else "x/media"
    digest = "@HASH@" if right_hash and medium == "x/media" else "b" * 64
    text = VARIANT + f"media:\n  - {{path: {medium}, sha256: '{digest}'}}\n"
    if openapi:
        text += "documentation: {openapi: x/media/openapi.yaml}\n"
    hostile = shape in ("fifo", "link-out", "link-proc", "link-up", "deep") or digest == "b" * 64
    return Case(f"media:{shape}", text.encode(), tuple(extras), refuse=hostile)


def template_case(field_path: tuple[Any, ...], template: str) -> Case:
    data = set_path({}, field_path, template)
    if field_path[0] == "driver":
        data["driver"]["kind"] = "rest"
    unknown = field_path[0] == "deployment" or field_path == ("driver", "base_url")
    malformed = template not in ("{{", "{host}{host}" * 1000, "{username}", "{ports.nope}", "{" + "a" * 10_000 + "}")
    refuse = malformed or (unknown and template not in ("{{", "{host}{host}" * 1000))
    return Case(f"template:{field_path[0]}", (VARIANT + dump(data).decode()).encode(), refuse=refuse)


def cases() -> st.SearchStrategy[Case]:
    bases = st.sampled_from(BASES)
    n = st.integers(0, 10_000)
    return st.one_of(
        st.builds(schema_case, bases, st.sampled_from(SCHEMA_PATHS), st.sampled_from(HOSTILE_VALUES)),
        st.builds(
            line_case,
            bases,
            st.sampled_from(["delete", "duplicate", "swap", "truncate", "indent", "value", "insert"]),
            n,
            n,
            st.one_of(st.sampled_from(HOSTILE_SCALARS), st.text(max_size=40)),
        ),
        st.builds(
            encoding_case,
            bases,
            st.sampled_from(
                [
                    "gbk",
                    "gb18030-4byte",
                    "utf-16",
                    "utf-16-le",
                    "utf-16-be",
                    "utf-32",
                    "latin-1",
                    "nul",
                    "bom",
                    "invalid-utf8",
                    "control",
                    "cut",
                ]
            ),
            n,
        ),
        st.builds(
            structure_case,
            st.sampled_from(
                [
                    "alias-bomb",
                    "deep",
                    "deep-block",
                    "recursive-alias",
                    "documents",
                    "huge",
                    "many-keys",
                    "tags",
                    "complex-key",
                    "merge",
                    "top-level",
                    "keys",
                    "duplicates",
                ]
            ),
            n,
        ),
        st.builds(path_case, st.sampled_from(PATH_FIELDS), st.sampled_from(HOSTILE_PATHS)),
        st.builds(
            extends_case,
            st.sampled_from(
                [
                    "cycle",
                    "chain",
                    "broken-base",
                    "bad-base",
                    "gbk-base",
                    "utf16-base",
                    "list-base",
                    "fifo-base",
                    "dir-base",
                    "link-base",
                    "empty-base",
                    "value",
                ]
            ),
            n,
        ),
        st.builds(
            media_case,
            st.sampled_from(["plain", *MEDIA_SHAPES]),
            st.lists(st.sampled_from(list(MEDIA_FILES)), max_size=3, unique=True),
            st.booleans(),
            st.booleans(),
        ),
        st.builds(template_case, st.sampled_from(TEMPLATE_FIELDS), st.sampled_from(HOSTILE_TEMPLATES)),
    )


# -- the test ------------------------------------------------------------------------------------------
def fuzz(ws: Workspace, n_cases: int, derandomize: bool) -> Stats:
    stats = Stats()

    @settings(
        max_examples=n_cases,
        derandomize=derandomize,
        database=None,
        deadline=None,  # the per-case alarm catches hangs; slowness is not a failure
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def one(case: Case) -> None:
        spec = case.write(ws)
        for problem in check_one(spec, case.kind, stats, case.refuse):
            stats.failures.setdefault(f"{problem} [{case.kind}]", case.spec[:300].decode("utf-8", "replace"))

    one()
    return stats


def test_a_thousand_bad_specs(tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace.make(tmp_path_factory.mktemp("fuzz"))
    t = time.monotonic()
    stats = fuzz(ws, N_CASES, derandomize=not EXPLORE)
    took = time.monotonic() - t
    with capsys.disabled():
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_kind.items()))
        print(f"\nspec fuzz: {stats.cases} cases in {took:.1f} s; exits {dict(stats.exits)}; {kinds}")
        print("spec check seconds by kind: " + ", ".join(f"{k} {v:.1f}" for k, v in stats.seconds.most_common()))
        if stats.failures:
            print(f"failed cases: {dict(stats.failed)}; distinct: {len(stats.failures)}")
    assert stats.cases >= min(N_CASES, 1000) * 0.9, f"only {stats.cases} cases ran"
    assert not stats.failures, "\n".join(f"{k}\n    e.g. {v[:200]!r}" for k, v in stats.failures.items())
    # Bad specs must mostly be refused: a generator whose cases all pass would test nothing.
    assert stats.exits[2] > stats.cases * 0.8


def test_the_check_catches_what_it_must(tmp_path: Path) -> None:
    """The per-case checks can fail: a traceback, a hang and a line without FILE:LINE are seen."""
    stats = Stats()
    spec = tmp_path / "s.yaml"
    spec.write_text("x: 1\n")

    def boom(*_a: object, **_k: object) -> None:
        raise ZeroDivisionError

    from harness.commands import core

    for patched, expected in [
        (boom, "traceback ZeroDivisionError"),
        (lambda *_a, **_k: time.sleep(HANG_S + 5), "hang over 15 s"),
        (lambda *_a, **_k: core.fail("not the form"), "error line not FILE:LINE"),
    ]:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(core, "load_spec", patched)
            if expected.startswith("hang"):
                mp.setitem(globals(), "HANG_S", 1)
            problems = check_one(spec, "selftest", stats)
        assert any(p.startswith(expected) for p in problems), (expected, problems)
