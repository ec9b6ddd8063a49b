"""A report's content as a typed model: what the report room builds from the lab record, the room
stores as the report's JSON truth, and every rendering (JSON, HTML, PDF, either language) is made of.

The JSON file format is this model dumped (``to_json``), versioned by ``schema``. Free text is a
``Text`` ({"zh", "en"}; "en" null where no English was recorded); verdicts are the lab's words
(符合 / 不符合 / ...), translated by the renderer. A report of schema 3 (before the run's record
seal) still loads; it has no chain head.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12

SCHEMA = "fintech-lab-harness/report/4"
READABLE_SCHEMAS = ("fintech-lab-harness/report/3", SCHEMA)


class Text(TypedDict):
    zh: str | None
    en: str | None


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Observation(_Part):
    """One thing observed for an item: on a configuration (``on``, a model) by a check, or recorded."""

    on: str | None = None
    check: str | None = None  # the check that observed it (its language gaps are named by it)
    text: Text
    outcome: str  # a check's outcome, or recorded | carried | pending | not_applicable


class Recorded(_Part):
    """An engineer's record behind an item's verdict."""

    engineer: str
    engineer_en: str | None = None
    at: str
    evidence: list[dict[str, Any]] = Field(default_factory=list)  # {title, path, sha256, size}
    reference: str | None = None
    no_evidence_reason: str | None = None


class WaiverEntry(_Part):
    id: int
    clause_id: str
    kind: Literal["waiver", "deviation"]
    justification: Text
    approved_by: str
    approved_on: str
    expires: str
    scope: dict[str, str | None]  # {"kind": "run" | "sample", "id": ...}
    active: bool


class CheckEvidence(_Part):
    title: str
    kind: str
    path: str
    sha256: str


class CheckEntry(_Part):
    check_id: str
    model: str
    outcome: str
    evidence: list[CheckEvidence] = Field(default_factory=list)


class EvidenceEntry(_Part):
    title: Text
    kind: str
    path: str
    sha256: str


class ItemRow(_Part):
    """One row of the results: an item of the standard, or a functional test (chapter "F")."""

    no: int
    item_id: str
    chapter: str
    chapter_title: Text
    standard_clause: str | None = None
    clause_verified: bool = True
    title: Text
    requirement: Text
    method: Text
    severity_key: str
    method_kind: str
    observed: list[Observation]
    verdict: str
    tested_verdict: str  # what testing alone found (differs when waived)
    severity: str = ""
    recorded: Recorded | None = None
    carried: dict[str, Any] | None = None  # a retest: the baseline report a carried verdict comes from
    waiver: WaiverEntry | None = None
    deviation: WaiverEntry | None = None
    expired_waivers: list[WaiverEntry] = Field(default_factory=list)
    per_model: dict[str, str] = Field(default_factory=dict)
    checks: list[CheckEntry] = Field(default_factory=list)
    evidence: list[EvidenceEntry] = Field(default_factory=list)


class Lab(_Part):
    configured: bool
    name: Text
    address: Text
    accreditation: str
    location: Text
    time_zone: str | None = None


class SampleInfo(_Part):
    registration: str
    name: str
    version: str
    certification_unit: dict[str, Any]
    kind: str
    condition: str
    media: list[dict[str, Any]]
    spec_sha256: str
    hardware: list[dict[str, Any]] = Field(default_factory=list)
    images: list[dict[str, Any]] = Field(default_factory=list)
    supply: Text  # CNAS-CL01 7.8.2.1 j: how the sample reached the lab


class BasisClause(_Part):
    item_id: str
    title: Text
    applicable: bool


class Basis(_Part):
    standard: str
    title: Text
    items: list[str]
    applicable: int
    clauses: list[BasisClause]
    note: Text


class Dates(_Part):
    received: str
    tests_started: str
    tests_completed: str
    tests_started_at: str
    tests_ended_at: str
    time_zone: str
    issued: str | None = None  # set when the report is approved
    due: str | None = None
    due_working_days: int
    due_note: Text


class Configuration(_Part):
    """Where results were obtained (CNAS-CL01 7.8.2.1 c): what it is and which declared model it stands for."""

    model: str
    backend: str
    label: Text
    what: Text
    stands_for: list[str]
    declared_hardware: bool
    deployed: bool


class RunInfo(_Part):
    id: str
    status: str
    kind: str
    # The run's verdict hash chain as it was when the report was built (harness.results.verify_run):
    # `harness verify` finds any verdict or evidence changed since. None: a schema-3 report.
    chain_head: str | None = None
    chained_verdicts: int | None = None


class Supersedes(_Part):
    number: str
    revision: int
    reason: str
    reason_en: str | None = None


class Signature(_Part):
    name: str
    name_en: str | None = None
    at: str


class Signatures(_Part):
    prepared: Signature | None = None
    reviewed: Signature | None = None
    approved: Signature | None = None


class Exclusion(_Part):
    item_id: str
    title: Text
    reason: Text | None


class Opinion(_Part):
    """An opinion or hint beside a result (CNAS-CL01 7.8.7), never a ground of the verdict."""

    item_id: str
    on: str | None = None
    text: Text


class ShippedFile(_Part):
    path: str
    sha256: str


class EvidenceManifest(_Part):
    sha256: str  # over the evidence files the folder ships
    files: list[ShippedFile]
    retained: list[ShippedFile]  # kept by the lab (screenshots, packet captures): listed by digest


class ReportContent(_Part):
    """The report: one content, every rendering."""

    schema_: str = Field(SCHEMA, alias="schema")
    title: Text
    kind: str  # full | retest | surveillance | supplementary
    supplements: dict[str, Any] | None = None  # a supplementary report: the report it supplements
    changes: Any = None  # ... and the change analysis that chose its items
    language: str
    number: str
    revision: int
    supersedes: Supersedes | None = None
    lab: Lab
    applicant: dict[str, Any]
    producer: dict[str, Any]
    sample: SampleInfo
    basis: Basis
    dates: Dates
    tested_on: list[Configuration]
    hardware_statement: Text
    environment: dict[str, Any]
    deployments: list[dict[str, Any]]
    run: RunInfo
    items: list[ItemRow]
    functional: list[ItemRow]
    summary: dict[str, int]  # items of the standard, by verdict
    functional_summary: dict[str, int]
    per_model: dict[str, dict[str, int]]  # checks (one check on one configuration), not items
    models: list[str]
    deviations: list[WaiverEntry]
    exclusions: list[Exclusion]
    opinions: list[Opinion]
    statement: Text
    applicant_information: Text
    decision_rule: Text
    evidence_manifest: EvidenceManifest | None = None  # set when the report folder is written
    signatures: Signatures = Field(default_factory=Signatures)
    conclusion: Text | None = None
    functional_conclusion: Text | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON truth (what report.json holds and the lab record stores)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportContent:
        """A stored or written report content; ValueError when it is not one this harness reads."""
        schema = data.get("schema")
        if schema not in READABLE_SCHEMAS:
            raise ValueError(f"report content of schema {schema!r}: this harness reads {', '.join(READABLE_SCHEMAS)}")
        return cls.model_validate({**data, "schema": SCHEMA})

    def all_rows(self) -> list[ItemRow]:
        return self.items + self.functional
