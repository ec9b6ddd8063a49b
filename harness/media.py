"""What a sample's media hold: fingerprints (tree hash, file manifest) and what can be observed in
them (third-party components, development languages). Intake records these; change analysis
compares them between a certified version and a changed one."""

from __future__ import annotations

import ast
import hashlib
import json
import re
import sys
import tarfile
import tomllib
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.evidence import sha256_file

if TYPE_CHECKING:
    from harness.spec import LoadedSpec

_IGNORED = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"}


def _tree_files(path: Path) -> list[Path]:
    return sorted(
        f
        for f in path.rglob("*")
        if f.is_file() and not (_IGNORED & set(f.relative_to(path).parts)) and f.suffix != ".pyc"
    )


def tree_sha256(path: Path) -> str:
    """A directory's fingerprint: every file's relative path and SHA-256, in sorted order.
    A file's fingerprint is its SHA-256. Byte caches that merely running the code creates are left out."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for f in _tree_files(path):
        h.update(f"{f.relative_to(path).as_posix()}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()


def file_manifest(path: Path) -> dict[str, str]:
    """What a medium holds, file by file (relative path -> SHA-256): a directory's files, or a tar
    archive's members (a `docker save` archive lists its layers this way)."""
    if path.is_dir():
        return {f.relative_to(path).as_posix(): sha256_file(f) for f in _tree_files(path)}
    if tarfile.is_tarfile(path):
        out: dict[str, str] = {}
        with tarfile.open(path) as tar:
            for m in tar.getmembers():
                f = tar.extractfile(m) if m.isfile() else None
                if f is not None:
                    out[m.name] = hashlib.sha256(f.read()).hexdigest()
        return out
    return {path.name: sha256_file(path)}


_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=!~][^;#]*)?")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def components(path: Path) -> dict[str, str]:
    """Third-party components a source medium declares or imports: name -> version spec ("" if
    none). Requirement files, pyproject, package.json, go.mod, bundled wheels, and Python imports
    of modules that are neither the standard library nor the sample's own."""
    found: dict[str, str] = {}
    if not path.is_dir():
        return found
    files = _tree_files(path)
    for f in files:
        name = f.name
        try:
            if re.fullmatch(r"requirements.*\.txt", name):
                for line in f.read_text(errors="replace").splitlines():
                    m = _REQ.match(line)
                    if m and not line.lstrip().startswith(("#", "-")):
                        found[_norm(m.group(1))] = (m.group(3) or "").strip()
            elif name == "pyproject.toml":
                for dep in tomllib.loads(f.read_text()).get("project", {}).get("dependencies", []):
                    m = _REQ.match(dep)
                    if m:
                        found[_norm(m.group(1))] = (m.group(3) or "").strip()
            elif name == "package.json":
                data = json.loads(f.read_text())
                for k in ("dependencies", "devDependencies"):
                    for dep, ver in (data.get(k) or {}).items():
                        found[_norm(dep)] = str(ver)
            elif name == "go.mod":
                for m in re.finditer(r"^\s*(?:require\s+)?([\w./-]+\.[\w./-]+)\s+(v[\w.+-]+)", f.read_text(), re.M):
                    found[m.group(1).lower()] = m.group(2)
            elif f.suffix == ".whl":
                parts = f.name.split("-")
                found[_norm(parts[0])] = parts[1] if len(parts) > 1 else ""
        except (OSError, ValueError, tomllib.TOMLDecodeError):
            continue  # a file we cannot read declares nothing we could trust
    own = {f.relative_to(path).parts[0].removesuffix(".py") for f in files}
    own |= {f.parent.name for f in files if f.name == "__init__.py"}
    for f in files:
        if f.suffix != ".py":
            continue
        try:
            tree = ast.parse(f.read_text(errors="replace"))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                top = n.split(".")[0]
                if top not in sys.stdlib_module_names and top not in own:
                    found.setdefault(_norm(top), "")
    return found


def openapi_ops(path: Path | None) -> list[str]:
    """The operations an OpenAPI document describes, as "METHOD /path"."""
    if path is None or not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    methods = {"get", "post", "put", "patch", "delete"}
    return sorted(f"{m.upper()} {p}" for p, item in (doc.get("paths") or {}).items() for m in item if m in methods)


def languages(manifest: dict[str, str], table: dict[str, str]) -> dict[str, int]:
    """Development languages by file count, from the extensions of a file manifest."""
    counts: Counter[str] = Counter()
    for rel in manifest:
        lang = table.get(Path(rel).suffix.lower())
        if lang:
            counts[lang] += 1
    return dict(counts)


def describe(loaded: LoadedSpec) -> list[dict[str, Any]]:
    """The media of a submission as the lab records them: declared hash and role, and what is
    observed in them (file manifest, components). Intake stores this; change analysis compares it."""
    return [
        {
            "path": m.path,
            "sha256": m.sha256,
            "role": m.role,
            "files": file_manifest(loaded.resolve(m.path)),
            "components": components(loaded.resolve(m.path)),
        }
        for m in loaded.spec.media
    ]


def documented_operations(loaded: LoadedSpec) -> list[str]:
    docs = loaded.spec.documentation
    return openapi_ops(loaded.resolve(docs.openapi)) if docs.openapi else []
