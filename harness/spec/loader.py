"""Load a sample spec and turn every problem into one clear line: ``FILE:LINE: field: what``.

A spec comes from an applicant, so every byte is treated as hostile: the file is read with bounds
(harness.files), parsed without YAML 1.1 surprises or alias bombs (harness.safeyaml), every path it
names must stay in its own folder or the lab's reference folders, and every template placeholder of
the deployment must be one the deployers fill. A problem in an ``extends:`` base is blamed on the
base file's line.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness import files, safeyaml
from harness.config import lab_config
from harness.errors import InputError
from harness.spec.model import SampleSpec, TrueFalse
from harness.templating import (
    NAMESPACES,
    STEP_NAMES,
    URL_NAMES,
    TemplateError,
    available,
    placeholders,
    template_strings,
    unknown,
)

MAX_SPEC_BYTES = 1 << 20  # a complete spec is about 8 KB
MAX_EXTENDS = 8  # variant -> base -> ...: deeper than this is a mistake, not a product line


def one_line(text: str, limit: int = 1000) -> str:
    """A problem line stays one printable line, whatever the spec quoted into it: control and
    format characters (newlines, NUL, bidi overrides, lone surrogates) are shown escaped, and a
    100,000-character value is cut."""
    if not text.isprintable():
        text = "".join(
            c if c.isprintable() or unicodedata.category(c) == "Zs" else c.encode("unicode_escape").decode("ascii")
            for c in text
        )
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


@dataclass(frozen=True)
class SpecProblem:
    file: Path
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return one_line(text)


class SpecError(InputError):
    """Raised with every problem found, never only the first."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class SpecSource:
    """One file of a spec: the variant first, then its base, the base's base..."""

    path: Path  # as shown in messages (the variant as given, bases resolved)
    node: yaml.Node | None


Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class LoadedSpec:
    spec: SampleSpec
    path: Path
    sources: tuple[SpecSource, ...] = ()
    roots: tuple[Path, ...] = ()  # where the paths this spec names may lead (empty: unchecked)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path the spec names, as a real path; never one outside the spec's roots (the loader
        refused such specs already: this is the second line of defence, at use)."""
        why = files.check_path_text(relative)
        if why:
            raise SpecError([SpecProblem(self.path, "", f"the path {relative[:60]!r} {why}")])
        try:
            p = (self.base_dir / relative).resolve()
        except (OSError, RuntimeError) as e:
            raise SpecError([SpecProblem(self.path, "", f"{relative}: cannot be resolved ({e})")]) from None
        if self.roots and not any(p.is_relative_to(r) for r in self.roots):
            raise SpecError([SpecProblem(self.path, "", f"{relative} is outside the spec's folder")])
        return p

    def where(self, field_path: str) -> tuple[Path, int | None]:
        """The file and line that wrote a field (``media[0].sha256``), for a problem found later
        (intake), so it too reads ``FILE:LINE: field: what``."""
        return locate(self.sources, parse_field_path(field_path)) if self.sources else (self.path, None)

    def problem(self, field_path: str, message: str) -> SpecProblem:
        file, line = self.where(field_path)
        return SpecProblem(file, field_path, message, line)


def parse_field_path(text: str) -> Loc:
    out: list[int | str] = []
    for part in text.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]") and part[1:-1].isdigit():
            out.append(int(part[1:-1]))
        elif part:
            out.append(part)
    return tuple(out)


# -- where a field was written ---------------------------------------------------------------------
_UNION_TAGS = ("rest", "python")  # pydantic's names for the branches of the driver union


def _walk(node: yaml.Node | None, loc: Loc) -> tuple[int, int | None, bool]:
    """How far ``loc`` goes into this file's document: (parts matched, line, whether this file
    decides the value). A mapping merges with the base's; anything else replaces it whole."""
    if node is None:
        return 0, None, False
    line = node.start_mark.line + 1
    matched = 0
    in_list = False  # a list replaces the base's whole: below it, this file decides everything
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if pair is None:
                if key in _UNION_TAGS or (isinstance(key, str) and key.startswith("function-")):
                    continue  # not in the document
                return matched, line, in_list
            k, node = pair
            line = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            if not (isinstance(key, int) and key < len(node.value)):
                return matched, line, True
            node = node.value[key]
            line = node.start_mark.line + 1
            in_list = True
        else:
            return matched, line, True
        matched += 1
    return matched, line, True


def locate(sources: tuple[SpecSource, ...], loc: Loc) -> tuple[Path, int | None]:
    """The file (most derived first) that decides the value at ``loc``, and the line there; for a
    missing field, the deepest place any file comes to it."""
    best: tuple[int, Path, int | None] | None = None
    for src in sources:
        matched, line, decides = _walk(src.node, loc)
        if decides:
            return src.path, line
        if best is None or matched > best[0]:
            best = (matched, src.path, line)
    assert best is not None
    return best[1], best[2]


def _field_path(loc: Loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("rest", "python") or part.startswith("function-"):
            continue  # pydantic's union branch names are noise to a spec author
        else:
            out += f".{part}" if out else str(part)
    return out


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    given = err.get("input")
    if err["type"] == "extra_forbidden":
        return "unknown field (a typo?)"
    if isinstance(given, TrueFalse):
        return f"{msg[0].lower()}{msg[1:]}; YAML read {given!r} as true/false"
    if err["type"] == "string_type" and isinstance(given, int | float) and not isinstance(given, bool):
        # YAML reads 1.10 as the number 1.1: a version or hash must be quoted to stay itself.
        return f"must be text; YAML read {given!r} as a number: quote it"
    if err["type"] in ("int_parsing", "float_parsing", "decimal_parsing") and isinstance(given, str):
        return f"{msg}: {given[:40]!r} is text"  # e.g. 1:20, which YAML 1.1 would have read as 80
    return msg


def problems_of(error: ValidationError, file: Path, node: yaml.Node | None) -> list[SpecProblem]:
    """One line per problem, naming the file, the field path, the line and what is wrong: for any
    lab-written YAML validated by a pydantic model (specs, the lab inventory)."""
    return _problems(error, (SpecSource(file, node),))


def _problems(error: ValidationError, sources: tuple[SpecSource, ...]) -> list[SpecProblem]:
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        file, line = locate(sources, loc)
        problems.append(SpecProblem(file, _field_path(loc) or "(top level)", _message(err), line))
    return problems


# -- reading one file ------------------------------------------------------------------------------
def _read(
    p: Path, shown: Path, named_by: tuple[Path, int, str] | None = None
) -> tuple[dict[str, Any], yaml.Node | None]:
    """One spec file's data and node graph. ``named_by``: the variant file, line and text of the
    ``extends:`` that names this base, which is where a base that cannot be read is blamed."""
    try:
        raw = files.read_bytes(p, MAX_SPEC_BYTES)
    except files.FileRefused as e:
        if named_by is not None:
            file, line, text = named_by
            why = "no such spec file" if str(e).startswith("does not exist") else f"the spec file {e}"
            raise SpecError([SpecProblem(file, "extends", f"{text}: {why}", line)]) from None
        if str(e).startswith("does not exist"):
            raise SpecError([SpecProblem(shown, "", "no such spec file")]) from None
        raise SpecError([SpecProblem(shown, "file", f"the spec file {e}", 1)]) from None
    try:
        text, _encoding = safeyaml.decode(raw)
        data, node = safeyaml.load(text)
    except safeyaml.YamlError as e:
        raise SpecError([SpecProblem(shown, x.field, x.message, x.line) for x in e.problems]) from None
    if not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise SpecError(
            [SpecProblem(shown, "(top level)", "a spec is a YAML mapping of sections (applicant, sample, ...)", line)]
        )
    bad = [k for k in data if not isinstance(k, str)]
    if bad:
        problems = [SpecProblem(shown, str(k), "a section name is text: quote it", _key_line(node, k)) for k in bad]
        raise SpecError(problems)
    return data, node


def _key_line(node: yaml.Node | None, key: Any) -> int:
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if getattr(k, "value", None) == str(key):
                return int(k.start_mark.line) + 1
    return 1


# -- paths ---------------------------------------------------------------------------------------
# Spec fields that hold paths relative to the spec file that wrote them.
_PATH_FIELDS: tuple[tuple[str, ...], ...] = (
    ("media", "*", "path"),
    ("documentation", "environment_requirements"),
    ("documentation", "scope"),
    ("documentation", "install_guide"),
    ("documentation", "operating_instructions"),
    ("documentation", "use_cases_document"),
    ("documentation", "openapi"),
    ("documentation", "use_cases", "*", "scenario"),
    ("deployment", "container", "image_archive"),
    ("deployment", "container", "build_context"),
)


def _path_values(data: Any, path: tuple[str, ...], loc: Loc = ()) -> Iterator[tuple[Loc, Any, Any]]:
    """(location, value, container) of every value at one of the _PATH_FIELDS patterns."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(data, list):
            for i, item in enumerate(data):
                yield from _path_values(item, rest, (*loc, i))
        return
    if isinstance(data, dict) and head in data:
        if rest:
            yield from _path_values(data[head], rest, (*loc, head))
        else:
            yield (*loc, head), data[head], data


def spec_roots(folder: Path) -> tuple[Path, ...]:
    """Where the paths of a spec in ``folder`` may lead: that folder and the lab's reference folders."""
    return (folder.resolve(), *lab_config().reference_dirs)


def _confine(data: dict[str, Any], src: SpecSource, folder: Path) -> list[SpecProblem]:
    """Every path this file names stays in its folder or the lab's reference folders: an applicant's
    spec never reads the host's files (``log_files: [/etc/shadow]``, ``../../``)."""
    roots = spec_roots(folder)
    problems = []
    for pattern in _PATH_FIELDS:
        for loc, value, _ in _path_values(data, pattern):
            if not isinstance(value, str):
                continue  # the model says what is wrong with it
            why = files.check_path_text(value)
            target = None
            if why is None:
                try:
                    target = (folder / value).resolve()
                except (OSError, RuntimeError) as e:
                    why = f"cannot be resolved ({e})"
            if why is not None:
                msg = f"the path {why}"
            elif target is not None and not any(target.is_relative_to(r) for r in roots):
                msg = f"{value} leads outside the spec's folder ({folder.resolve()}): name a file of the submission"
            else:
                continue
            problems.append(SpecProblem(src.path, _field_path(loc), msg, _walk(src.node, loc)[1]))
    return problems


def _rebase(data: dict[str, Any], base_dir: Path) -> None:
    """Make the path fields of a base absolute, so they still name the same files from another spec's
    folder (the base's own check confined them)."""
    for pattern in _PATH_FIELDS:
        for loc, value, container in list(_path_values(data, pattern)):
            if isinstance(value, str):
                container[loc[-1]] = str((base_dir / value).resolve())


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge a variant over its base: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass
class _Chain:
    """The files of a spec, variant first, and what each wrote."""

    sources: list[SpecSource] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)


def _read_chain(p: Path) -> _Chain:
    """`extends: other.yaml` (relative to its file): this spec is a variant of another, e.g. the
    defective build of a reference sample or a changed version of a certified one."""
    chain = _Chain()
    shown, real = p, _real(p)
    seen: list[Path] = []
    named_by: tuple[Path, int, str] | None = None
    while True:
        data, node = _read(real, shown, named_by)
        src = SpecSource(shown, node)
        chain.sources.append(src)
        chain.data.append(data)
        chain.folders.append(real.parent)
        seen.append(real)
        parent = data.pop("extends", None)
        if parent is None:
            return chain
        line = _key_line(node, "extends")
        if not isinstance(parent, str):
            raise SpecError([SpecProblem(shown, "extends", "must be the path of another spec file", line)])
        why = files.check_path_text(parent)
        if why:
            raise SpecError([SpecProblem(shown, "extends", f"the path {why}", line)])
        try:
            base = (real.parent / parent).resolve()
        except (OSError, RuntimeError) as e:
            raise SpecError([SpecProblem(shown, "extends", f"{parent} cannot be resolved ({e})", line)]) from None
        if not any(base.is_relative_to(r) for r in spec_roots(real.parent)):
            msg = f"{parent} leads outside the spec's folder and the lab's reference specs"
            raise SpecError([SpecProblem(shown, "extends", msg, line)])
        if base in seen:
            raise SpecError([SpecProblem(shown, "extends", f"circular: {base} extends itself", line)])
        if len(seen) > MAX_EXTENDS:
            msg = f"more than {MAX_EXTENDS} specs extend one another: shorten the chain"
            raise SpecError([SpecProblem(shown, "extends", msg, line)])
        shown, real, named_by = base, base, (shown, line, parent)


def _real(p: Path) -> Path:
    try:
        return p.resolve()
    except (OSError, RuntimeError):
        return p  # reading it says what is wrong


# -- templates -------------------------------------------------------------------------------------
def _templates(spec: SampleSpec) -> Iterator[tuple[str, str, tuple[str, ...] | None]]:
    """(field path, template, the names it may use, or None where only the form is checked)."""
    d = spec.deployment
    for i, step in enumerate(d.install):
        yield f"deployment.install[{i}].run", step.run, STEP_NAMES
    yield "deployment.start.run", d.start.run, STEP_NAMES
    for k, v in d.env.items():
        yield f"deployment.env.{k}", v, STEP_NAMES
    yield "deployment.health.url", d.health.url, URL_NAMES
    driver = spec.driver
    if driver.kind == "rest":
        yield "driver.base_url", driver.base_url, URL_NAMES
        ops = {name: op for name, op in (("login", driver.login), ("logout", driver.logout)) if op is not None}
        for name, op in [*ops.items(), *((f"operations.{n}", o) for n, o in driver.operations.items())]:
            yield f"driver.{name}.path", op.path, None
            for k, v in op.query.items():
                yield f"driver.{name}.query.{k}", v, None
            for k, v in op.headers.items():
                yield f"driver.{name}.headers.{k}", v, None
            for key, value in (op.body or {}).items():
                for text in template_strings(value):
                    yield f"driver.{name}.body.{key}", text, None


def template_problems(loaded: LoadedSpec) -> list[SpecProblem]:
    """Every deployment template uses only the placeholders its deployer fills; every operation
    template is well formed (its names are the call's fields, known only when a check calls it)."""
    ports = [p.name for p in loaded.spec.deployment.ports]
    services = [s.name for s in loaded.spec.deployment.services]
    problems = []
    for where, text, names in _templates(loaded.spec):
        try:
            if names is None:
                placeholders(text, NAMESPACES)
                continue
            allowed = available(names, ports, services if names is STEP_NAMES else ())
            listed = ", ".join(f"{{{a}}}" for a in sorted(allowed))
            for name in unknown(text, allowed):
                problems.append(loaded.problem(where, f"unknown placeholder {{{name}}}; available: {listed}"))
        except TemplateError as e:
            problems.append(loaded.problem(where, str(e)))
    return problems


# -- the whole spec ---------------------------------------------------------------------------------
def load_spec(path: str | Path) -> LoadedSpec:
    p = Path(path)
    chain = _read_chain(p)
    problems: list[SpecProblem] = []
    for src, data, folder in zip(chain.sources, chain.data, chain.folders, strict=True):
        problems += _confine(data, src, folder)
    merged = chain.data[-1]
    for i in range(len(chain.data) - 2, -1, -1):
        if chain.folders[i + 1] != chain.folders[i]:
            _rebase(merged, chain.folders[i + 1])
        merged = merge(merged, chain.data[i])
    sources = tuple(chain.sources)
    roots = tuple(dict.fromkeys(r for folder in chain.folders for r in spec_roots(folder)))
    try:
        spec = SampleSpec.model_validate(merged)
    except ValidationError as e:
        raise SpecError(problems + _problems(e, sources)) from None
    loaded = LoadedSpec(spec=spec, path=_real(p), sources=sources, roots=roots)
    problems += template_problems(loaded)
    if problems:
        raise SpecError(problems)
    return loaded
