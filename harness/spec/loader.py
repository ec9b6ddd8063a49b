"""Load a sample spec and turn every problem into one clear line (file, field path, line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import InputError
from harness.spec.model import SampleSpec


@dataclass(frozen=True)
class SpecProblem:
    file: Path
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SpecError(InputError):
    """Raised with every problem found, never only the first."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class LoadedSpec:
    spec: SampleSpec
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        return (self.base_dir / relative).resolve()


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """Follow a pydantic error location through the YAML node tree to a line number."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if match is None:
                # The key itself is the problem (unknown key) or absent (missing): keep the parent.
                match_key = next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
                return match_key.start_mark.line + 1 if match_key is not None else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            continue  # discriminator tags and the like are not in the document
        line = node.start_mark.line + 1
    return line


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("rest", "python") or part.startswith("function-"):
            continue  # pydantic's union branch names are noise to a spec author
        else:
            out += f".{part}" if out else str(part)
    return out


def problems_of(error: ValidationError, file: Path, node: yaml.Node | None) -> list[SpecProblem]:
    """One line per problem, naming the file, the field path, the line and what is wrong: for any
    lab-written YAML validated by a pydantic model (specs, the lab inventory)."""
    problems = []
    for err in error.errors():
        loc = tuple(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (a typo?)"
        elif err["type"] == "string_type" and isinstance(err.get("input"), int | float):
            # YAML reads 1.10 as the number 1.1: a version or hash must be quoted to stay itself.
            msg = f"must be text; YAML read {err['input']!r} as a number: quote it"
        problems.append(SpecProblem(file, _field_path(loc), msg, _line_of(node, loc)))
    return problems


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge a variant over its base: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read(p: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    if not p.is_file():
        raise SpecError([SpecProblem(p, "", "no such spec file")])
    text = p.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise SpecError(
            [SpecProblem(p, "", f"not valid YAML: {getattr(e, 'problem', e)}", mark.line + 1 if mark else None)]
        ) from None
    if not isinstance(data, dict):
        raise SpecError([SpecProblem(p, "", "a spec is a YAML mapping of sections (applicant, sample, ...)")])
    return data, node


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


def _rebase(data: Any, path: tuple[str, ...], base_dir: Path) -> None:
    """Make one path field absolute, so it still names the same file from another spec's folder."""
    if not path or data is None:
        return
    head, rest = path[0], path[1:]
    targets = data if head == "*" and isinstance(data, list) else [data]
    for t in targets:
        if head == "*":
            _rebase(t, rest, base_dir)
        elif isinstance(t, dict) and head in t:
            if rest:
                _rebase(t[head], rest, base_dir)
            elif isinstance(t[head], str):
                t[head] = str((base_dir / t[head]).resolve())


def _resolve_extends(p: Path, data: dict[str, Any], seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """`extends: other.yaml` (relative to this file): this spec is a variant of another, e.g. the
    defective build of a reference sample or a changed version of a certified one."""
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise SpecError([SpecProblem(p, "extends", "must be the path of another spec file")])
    base_path = (p.parent / parent).resolve()
    if base_path in seen:
        raise SpecError([SpecProblem(p, "extends", f"circular: {base_path} extends itself")])
    base, _ = _read(base_path)
    base = _resolve_extends(base_path, base, (*seen, base_path))
    if base_path.parent != p.parent:
        for field in _PATH_FIELDS:
            _rebase(base, field, base_path.parent)
    return merge(base, data)


def load_spec(path: str | Path) -> LoadedSpec:
    p = Path(path)
    data, node = _read(p)
    data = _resolve_extends(p.resolve(), data)
    try:
        spec = SampleSpec.model_validate(data)
    except ValidationError as e:
        raise SpecError(problems_of(e, p, node)) from None
    return LoadedSpec(spec=spec, path=p.resolve())
