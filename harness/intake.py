"""Taking a sample in (送样接收): completeness and consistency checks, media fingerprints, registration."""
# tree_sha256 is re-exported: it is what a spec's media hash means.

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from harness.config import lab_config
from harness.dates import add_months
from harness.errors import InputError
from harness.evidence import sha256_file
from harness.media import describe, documented_operations, tree_sha256
from harness.results import NewSample, SampleRecord, register_sample
from harness.spec import LoadedSpec


@dataclass(frozen=True)
class IntakeProblem:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def check_intake(loaded: LoadedSpec) -> list[IntakeProblem]:
    spec = loaded.spec
    problems: list[IntakeProblem] = []
    unit = spec.certification_unit
    if spec.sample.name != unit.product_name:
        problems.append(
            IntakeProblem(
                "sample.name",
                f"{spec.sample.name!r} does not match the certification unit's product name {unit.product_name!r}",
            )
        )
    if spec.sample.version != unit.version:
        problems.append(
            IntakeProblem(
                "sample.version",
                f"{spec.sample.version!r} does not match the certification unit's version {unit.version!r}",
            )
        )
    for i, m in enumerate(spec.media):
        p = loaded.resolve(m.path)
        if not p.exists():
            problems.append(IntakeProblem(f"media[{i}].path", f"{m.path} is missing"))
            continue
        actual = tree_sha256(p)
        if actual != m.sha256:
            problems.append(
                IntakeProblem(f"media[{i}].sha256", f"{m.path} hashes to {actual}, the spec declares {m.sha256}")
            )
        if m.label is not None and (
            m.label.product_name != unit.product_name or m.label.version != spec.sample.version
        ):
            problems.append(
                IntakeProblem(f"media[{i}].label", "the media label does not name this product and version")
            )
    docs = spec.documentation
    for name in ("environment_requirements", "scope", "install_guide", "operating_instructions", "use_cases_document"):
        rel = getattr(docs, name)
        p = loaded.resolve(rel)
        if not p.is_file() or not p.read_text(encoding="utf-8", errors="replace").strip():
            problems.append(IntakeProblem(f"documentation.{name}", f"{rel} is missing or empty"))
    if docs.openapi and not loaded.resolve(docs.openapi).is_file():
        problems.append(IntakeProblem("documentation.openapi", f"{docs.openapi} is missing"))
    for i, uc in enumerate(docs.use_cases):
        if uc.scenario and not loaded.resolve(uc.scenario).is_file():
            problems.append(IntakeProblem(f"documentation.use_cases[{i}].scenario", f"{uc.scenario} is missing"))
    if spec.deployment.backend == "terminal" and not spec.hardware:
        problems.append(IntakeProblem("hardware", "a sample deployed on terminals must list its hardware"))
    return problems


class IntakeError(InputError):
    def __init__(self, path: Path, problems: list[IntakeProblem]):
        self.problems = problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


def register(loaded: LoadedSpec, received: date | None = None) -> SampleRecord:
    """Register the sample, or return the registration it already has (same identity and spec)."""
    problems = check_intake(loaded)
    if problems:
        raise IntakeError(loaded.path, problems)
    spec = loaded.spec
    received = received or date.today()
    sample, _new = register_sample(
        NewSample(
            name=spec.sample.name,
            version=spec.sample.version,
            applicant=spec.applicant.name,
            producer=spec.producer.name,
            spec_path=str(loaded.path),
            spec_sha256=sha256_file(loaded.path),
            spec_snapshot=spec.model_dump(mode="json"),
            media=describe(loaded),
            received=received,
            retain_until=add_months(received, lab_config().retention_months),
            observed={"openapi_ops": documented_operations(loaded)},
        )
    )
    return sample
