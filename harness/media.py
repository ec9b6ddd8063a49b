"""What a sample's media hold: fingerprints (tree hash, file manifest) and what can be observed in
them (third-party components, development languages). Intake records these; change analysis
compares them between a certified version and a changed one.

Media come from the applicant. A symbolic link is fingerprinted and copied as a link (its target
text), never followed; special files are never opened (harness.files); and what is read from a
file (a package.json, a pyproject, Python source, an OpenAPI document) is read within bounds, so a
malformed or hostile file is a finding with a clear line, never a crash or a hang.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import stat
import sys
import tarfile
import tomllib
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import files, safeyaml

if TYPE_CHECKING:
    from harness.spec import LoadedSpec

_IGNORED = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"})
MAX_MANIFEST_BYTES = 5 << 20  # requirements, pyproject, package.json, go.mod
MAX_SOURCE_BYTES = 20 << 20  # one Python file
MAX_OPENAPI_BYTES = 20 << 20
MAX_OPENAPI_VALUES = 1_000_000
MAX_SCANNED_LINE = 1000  # longer lines of a go.mod or requirements file name no module


def entries(path: Path) -> list[files.Entry]:
    """The entries of a directory medium that its fingerprint covers: files, links and anything
    special, in a stable order; byte caches that merely running the code creates are left out."""
    return [
        e
        for e in files.walk(path, skip_dir=_IGNORED)
        if e.kind != "directory" and not (_IGNORED & set(e.rel.split("/"))) and not e.rel.endswith(".pyc")
    ]


def _fingerprint(e: files.Entry) -> str:
    if e.kind == "file":
        return files.sha256_of(e.path)
    if e.kind == "link":
        return f"link:{e.target}"
    return e.kind  # a FIFO or device: named, never opened


def tree_sha256(path: Path) -> str:
    """A directory's fingerprint: every entry's relative path and SHA-256 (a link: its target), in
    sorted order. A file's fingerprint is its SHA-256. FileRefused for what is not media."""
    if not stat.S_ISDIR(files.stat_of(path).st_mode):
        return files.sha256_of(path)
    h = hashlib.sha256()
    for e in entries(path):
        h.update(f"{e.rel}\0{_fingerprint(e)}\n".encode())
    return h.hexdigest()


@dataclass
class Medium:
    """What one medium holds, as intake records it, and what is wrong with it."""

    sha256: str | None = None
    files: dict[str, str] = field(default_factory=dict)  # relative path -> SHA-256 (or link:TARGET)
    components: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # one line each, naming the file in the medium


def inspect(path: Path) -> Medium:
    """Fingerprint and components of a medium (a directory, an archive or a file); never raises for
    what the medium holds: every problem is a line in ``problems``."""
    m = Medium()
    try:
        if stat.S_ISDIR(files.stat_of(path).st_mode):
            found = entries(path)
            m.files = {e.rel: _fingerprint(e) for e in found}
            h = hashlib.sha256()
            for rel, fp in m.files.items():
                h.update(f"{rel}\0{fp}\n".encode())
            m.sha256 = h.hexdigest()
            for e in found:
                if e.link_escapes():
                    m.problems.append(
                        f"{e.rel} is a link to {e.target}, outside the medium (links are kept as links, never followed)"
                    )
                elif e.kind not in ("file", "link"):
                    m.problems.append(f"{e.rel} is a {e.kind}: media hold files, directories and links only")
            m.components, problems = _analysed(m.sha256, path, found)
            m.problems += problems
        else:
            m.sha256 = files.sha256_of(path)
            m.files = _archive_manifest(path, m.problems)
    except files.FileRefused as e:
        m.problems.append(f"{path.name or path}: {e}")
    return m


def file_manifest(path: Path) -> dict[str, str]:
    """What a medium holds, file by file (relative path -> SHA-256): a directory's files, or a tar
    archive's members (a `docker save` archive lists its layers this way)."""
    return inspect(path).files


def _archive_manifest(path: Path, problems: list[str]) -> dict[str, str]:
    name = path.name
    try:
        is_tar = tarfile.is_tarfile(path)
    except OSError:
        is_tar = False
    if not is_tar:
        return {name: files.sha256_of(path)}
    out: dict[str, str] = {}
    try:
        with tarfile.open(path) as tar:
            for n, member in enumerate(tar):
                if n >= files.MAX_TREE_ENTRIES:
                    problems.append(f"{name}: an archive of more than {files.MAX_TREE_ENTRIES:,} members")
                    break
                if member.issym() or member.islnk():
                    out[member.name] = f"link:{member.linkname}"
                elif member.isfile():
                    f = tar.extractfile(member)
                    if f is not None:
                        h = hashlib.sha256()
                        for chunk in iter(lambda: f.read(1 << 20), b""):  # noqa: B023 - consumed here
                            h.update(chunk)
                        out[member.name] = h.hexdigest()
    except (tarfile.TarError, OSError, EOFError, ValueError) as e:
        problems.append(f"{name}: a damaged archive ({e})")
    return out


_REQ = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([<>=!~][^;#]*)?")
_GO_REQ = re.compile(r"^\s*(?:require\s+)?([\w./-]+\.[\w./-]+)\s+(v[\w.+-]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _text(f: files.Entry, limit: int) -> str:
    return files.read_bytes(f.path, limit).decode("utf-8", errors="replace")


def _what(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", type(None): "empty"}.get(type(value), "a number")


def _declared(f: files.Entry, found: dict[str, str], problems: list[str]) -> None:
    """The components one manifest file declares."""
    name = f.rel.rsplit("/", 1)[-1]
    if re.fullmatch(r"requirements.*\.txt", name):
        for line in _text(f, MAX_MANIFEST_BYTES).splitlines():
            m = _REQ.match(line) if len(line) <= MAX_SCANNED_LINE else None
            if m and not line.lstrip().startswith(("#", "-")):
                found[_norm(m.group(1))] = (m.group(3) or "").strip()
    elif name == "pyproject.toml":
        try:
            doc = tomllib.loads(_text(f, MAX_MANIFEST_BYTES))
        except tomllib.TOMLDecodeError as e:
            problems.append(f"{f.rel}: not valid TOML: {e}")
            return
        project = doc.get("project", {})
        if not isinstance(project, dict):
            problems.append(f"{f.rel}: project is {_what(project)}, expected a table")
            return
        deps = project.get("dependencies", [])
        if not isinstance(deps, list):
            problems.append(f"{f.rel}: project.dependencies is {_what(deps)}, expected a list of requirements")
            return
        for i, dep in enumerate(deps):
            m = _REQ.match(dep) if isinstance(dep, str) and len(dep) <= MAX_SCANNED_LINE else None
            if not isinstance(dep, str):
                problems.append(f"{f.rel}: project.dependencies[{i}] is {_what(dep)}, expected a requirement")
            elif m:
                found[_norm(m.group(1))] = (m.group(3) or "").strip()
    elif name == "package.json":
        try:
            doc = json.loads(_text(f, MAX_MANIFEST_BYTES))
        except json.JSONDecodeError as e:
            problems.append(f"{f.rel}: not valid JSON (line {e.lineno}): {e.msg}")
            return
        if not isinstance(doc, dict):
            problems.append(f"{f.rel}: is {_what(doc)}, expected a JSON object")
            return
        for k in ("dependencies", "devDependencies"):
            deps = doc.get(k)
            if deps is None:
                continue
            if not isinstance(deps, dict):
                problems.append(f"{f.rel}: {k} is {_what(deps)}, expected an object of package: version")
                continue
            for dep, ver in deps.items():
                if isinstance(ver, str):
                    found[_norm(dep)] = ver
                else:
                    problems.append(f"{f.rel}: {k}.{dep} is {_what(ver)}, expected a version text")
    elif name == "go.mod":
        for line in _text(f, MAX_MANIFEST_BYTES).splitlines():
            m = _GO_REQ.match(line) if len(line) <= MAX_SCANNED_LINE else None
            if m:
                found[m.group(1).lower()] = m.group(2)
    elif name.endswith(".whl"):
        parts = name.split("-")
        found[_norm(parts[0])] = parts[1] if len(parts) > 1 else ""


_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+)", re.M)
_FROM_LINE = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import\b", re.M)


def _imports_by_lines(source: str) -> list[str]:
    """Imported module names from lines that start an import: linear, for the source the parser
    cannot turn into a tree (a 200k-term expression). Less exact than the tree (a docstring line
    that starts with "import x" counts), which is why it is only the fallback."""
    names = [m.group(1) for m in _FROM_LINE.finditer(source) if not m.group(1).startswith(".")]
    for m in _IMPORT_LINE.finditer(source):
        for part in m.group(1).split(","):
            words = part.split()
            if words:
                names.append(words[0])
    return names


def _imports(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # not Python this interpreter reads: it imports nothing we could trust
    except (RecursionError, MemoryError, ValueError):
        return _imports_by_lines(source)  # too deeply nested for the parser
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _components(root: Path, found_entries: list[files.Entry], problems: list[str]) -> dict[str, str]:
    """Third-party components a source medium declares or imports: name -> version spec ("" if
    none). Requirement files, pyproject, package.json, go.mod, bundled wheels, and Python imports
    of modules that are neither the standard library nor the sample's own."""
    found: dict[str, str] = {}
    regular = [e for e in found_entries if e.kind == "file"]
    for f in regular:
        try:
            _declared(f, found, problems)
        except files.FileRefused as e:
            problems.append(f"{f.rel}: {e}")
        except RecursionError:
            problems.append(f"{f.rel}: nested too deeply to read")
    own = {e.rel.split("/")[0].removesuffix(".py") for e in found_entries}
    own |= {("/" + e.rel).split("/")[-2] or root.name for e in regular if e.rel.split("/")[-1] == "__init__.py"}
    for f in regular:
        if not f.rel.endswith(".py"):
            continue
        try:
            source = _text(f, MAX_SOURCE_BYTES)
        except files.FileRefused as e:
            problems.append(f"{f.rel}: {e}")
            continue
        for n in _imports(source):
            top = n.split(".")[0]
            if top not in sys.stdlib_module_names and top not in own:
                found.setdefault(_norm(top), "")
    return found


# What the analysis of a medium found, by its fingerprint: the same content (spec check, then intake,
# then change analysis) is parsed once per process.
_ANALYSED: OrderedDict[tuple[str, str], tuple[dict[str, str], list[str]]] = OrderedDict()


def _analysed(digest: str, root: Path, found: list[files.Entry]) -> tuple[dict[str, str], list[str]]:
    key = (digest, root.name)  # the root's name decides which imports are the sample's own
    if key not in _ANALYSED:
        problems: list[str] = []
        _ANALYSED[key] = (_components(root, found, problems), problems)
        while len(_ANALYSED) > 16:
            _ANALYSED.popitem(last=False)
    _ANALYSED.move_to_end(key)
    comps, problems = _ANALYSED[key]
    return dict(comps), list(problems)


def components(path: Path) -> dict[str, str]:
    return inspect(path).components


_METHODS = ("get", "post", "put", "patch", "delete")


def openapi_operations(path: Path) -> tuple[list[str], list[str]]:
    """(the operations an OpenAPI document describes, as "METHOD /path"; what is wrong with it)."""
    try:
        raw = files.read_bytes(path, MAX_OPENAPI_BYTES)
    except files.FileRefused as e:
        return [], [f"{path.name}: {e}"]
    ops, problems = _openapi(raw, path.name)
    return list(ops), list(problems)


_OPENAPI: OrderedDict[tuple[str, str], tuple[list[str], list[str]]] = OrderedDict()


def _openapi(raw: bytes, name: str) -> tuple[list[str], list[str]]:
    """By content, like _analysed: spec check, intake and change analysis read one document."""
    key = (hashlib.sha256(raw).hexdigest(), name)
    if key not in _OPENAPI:
        _OPENAPI[key] = _openapi_parse(raw, name)
        while len(_OPENAPI) > 16:
            _OPENAPI.popitem(last=False)
    _OPENAPI.move_to_end(key)
    return _OPENAPI[key]


def _openapi_parse(raw: bytes, name: str) -> tuple[list[str], list[str]]:
    try:
        text, _ = safeyaml.decode(raw)
        doc = safeyaml.load(text, MAX_OPENAPI_VALUES)[0]
    except safeyaml.YamlError as e:
        return [], [f"{name} line {p.line}: {p.field}: {p.message}" for p in e.problems]
    if doc is None:
        return [], [f"{name}: is empty"]
    if not isinstance(doc, dict):
        return [], [f"{name}: is {_what(doc)}, expected an OpenAPI document (a mapping with paths)"]
    paths = doc.get("paths") or {}
    if not isinstance(paths, dict):
        return [], [f"{name}: paths is {_what(paths)}, expected a mapping of path: operations"]
    ops, problems = [], []
    for p, item in paths.items():
        if not isinstance(item, dict):
            problems.append(f"{name}: paths.{p} is {_what(item)}, expected a mapping of method: operation")
            continue
        ops += [f"{m.upper()} {p}" for m in item if isinstance(m, str) and m in _METHODS]
    return sorted(ops), problems


def openapi_ops(path: Path | None) -> list[str]:
    """The operations an OpenAPI document describes, as "METHOD /path"."""
    if path is None or not path.is_file():
        return []
    return openapi_operations(path)[0]


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
    out = []
    for m in loaded.spec.media:
        seen = inspect(loaded.resolve(m.path))
        out.append(
            {"path": m.path, "sha256": m.sha256, "role": m.role, "files": seen.files, "components": seen.components}
        )
    return out


def documented_operations(loaded: LoadedSpec) -> list[str]:
    docs = loaded.spec.documentation
    return openapi_ops(loaded.resolve(docs.openapi)) if docs.openapi else []
