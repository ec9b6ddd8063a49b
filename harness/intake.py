"""Taking a sample in (送样接收): completeness and consistency checks, media fingerprints, registration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from harness import clock, files
from harness.config import lab_config
from harness.dates import add_months
from harness.errors import InputError
from harness.evidence import sha256_file
from harness.media import Medium, documented_operations, inspect, openapi_operations, tree_sha256
from harness.results import NewSample, SampleRecord, register_sample
from harness.spec import LoadedSpec, SpecError
from harness.spec.loader import one_line

# tree_sha256 is re-exported: it is what a spec's media hash means.
__all__ = ["IntakeError", "IntakeProblem", "check_intake", "register", "tree_sha256"]


@dataclass(frozen=True)
class IntakeProblem:
    field: str
    message: str
    file: Path | None = None  # the spec file that wrote the field, and its line
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else f"{self.file}: " if self.file else ""
        return one_line(f"{where}{self.field}: {self.message}")


DOCUMENT_HEAD_BYTES = 1 << 16  # enough to tell an empty document from one with content


def _problem(loaded: LoadedSpec, field: str, message: str) -> IntakeProblem:
    file, line = loaded.where(field)
    return IntakeProblem(field, message, file, line)


def _resolve(loaded: LoadedSpec, relative: str) -> Path | None:
    try:
        return loaded.resolve(relative)
    except SpecError:
        return None


def check_intake(loaded: LoadedSpec) -> list[IntakeProblem]:
    """Completeness and consistency of a submission, every problem one line ``FILE:LINE: field:
    what``: identity, media (hash, links leaving the medium, special files, malformed manifests),
    documentation, OpenAPI document, scenarios."""
    return _intake(loaded)[0]


def _intake(loaded: LoadedSpec) -> tuple[list[IntakeProblem], list[Medium]]:
    spec = loaded.spec
    problems: list[IntakeProblem] = []
    unit = spec.certification_unit
    if spec.sample.name != unit.product_name:
        problems.append(
            _problem(
                loaded,
                "sample.name",
                f"{spec.sample.name!r} does not match the certification unit's product name {unit.product_name!r}",
            )
        )
    if spec.sample.version != unit.version:
        problems.append(
            _problem(
                loaded,
                "sample.version",
                f"{spec.sample.version!r} does not match the certification unit's version {unit.version!r}",
            )
        )
    media: list[Medium] = []
    for i, m in enumerate(spec.media):
        p = _resolve(loaded, m.path)
        if p is None:
            problems.append(_problem(loaded, f"media[{i}].path", f"{m.path} is outside the spec's folder"))
            media.append(Medium())
            continue
        try:
            files.stat_of(p)
        except files.FileRefused as e:
            problems.append(_problem(loaded, f"media[{i}].path", f"{m.path} {_missing(e)}"))
            media.append(Medium())
            continue
        seen = inspect(p)
        media.append(seen)
        if seen.sha256 is None:
            problems += [_problem(loaded, f"media[{i}].path", line) for line in seen.problems]
            continue
        if seen.sha256 != m.sha256:
            msg = f"{m.path} hashes to {seen.sha256}, the spec declares {m.sha256}"
            problems.append(_problem(loaded, f"media[{i}].sha256", msg))
        problems += [_problem(loaded, f"media[{i}]", line) for line in seen.problems]
        if m.label is not None and (
            m.label.product_name != unit.product_name or m.label.version != spec.sample.version
        ):
            problems.append(
                _problem(loaded, f"media[{i}].label", "the media label does not name this product and version")
            )
    docs = spec.documentation
    for name in ("environment_requirements", "scope", "install_guide", "operating_instructions", "use_cases_document"):
        rel = getattr(docs, name)
        why = _document_problem(_resolve(loaded, rel))
        if why:
            problems.append(_problem(loaded, f"documentation.{name}", f"{rel} {why}"))
    if docs.openapi:
        p = _resolve(loaded, docs.openapi)
        why = _document_problem(p)
        if why:
            problems.append(_problem(loaded, "documentation.openapi", f"{docs.openapi} {why}"))
        elif p is not None:
            problems += [_problem(loaded, "documentation.openapi", line) for line in openapi_operations(p)[1]]
    for i, uc in enumerate(docs.use_cases):
        if uc.scenario:
            why = _document_problem(_resolve(loaded, uc.scenario))
            if why:
                problems.append(_problem(loaded, f"documentation.use_cases[{i}].scenario", f"{uc.scenario} {why}"))
    if spec.deployment.backend == "terminal" and not spec.hardware:
        problems.append(_problem(loaded, "hardware", "a sample deployed on terminals must list its hardware"))
    return problems, media


def _document_problem(p: Path | None) -> str | None:
    """What is wrong with a document the submission must hold, or None."""
    if p is None:
        return "is outside the spec's folder"
    try:
        text = files.read_bytes(p, DOCUMENT_HEAD_BYTES, truncate=True)
    except files.FileRefused as e:
        return _missing(e)
    return None if text.strip() else "is empty"


def _missing(e: files.FileRefused) -> str:
    return "is missing" if str(e).startswith("does not exist") else str(e)


class IntakeError(InputError):
    def __init__(self, path: Path, problems: list[IntakeProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) if p.file else f"{path}: {p}" for p in problems))


def register(loaded: LoadedSpec, received: date | None = None) -> SampleRecord:
    """Register the sample, or return the registration it already has (same identity and spec)."""
    problems, media = _intake(loaded)
    if problems:
        raise IntakeError(loaded.path, problems)
    spec = loaded.spec
    received = received or clock.today()
    sample, _new = register_sample(
        NewSample(
            name=spec.sample.name,
            version=spec.sample.version,
            applicant=spec.applicant.name,
            producer=spec.producer.name,
            spec_path=str(loaded.path),
            spec_sha256=sha256_file(loaded.path),
            spec_snapshot=spec.model_dump(mode="json"),
            media=[
                {"path": m.path, "sha256": m.sha256, "role": m.role, "files": seen.files, "components": seen.components}
                for m, seen in zip(spec.media, media, strict=True)
            ],
            received=received,
            retain_until=add_months(received, lab_config().retention_months),
            observed={"openapi_ops": documented_operations(loaded)},
        )
    )
    return sample
