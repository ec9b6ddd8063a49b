"""The plan: which checks run on which target, and why each clause is or is not applicable.

It knows the spec, the catalogue and the checks' clause markers, never how anything is deployed:
the targets come from the lab inventory (harness.deploy.inventory.targets_for).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.catalogue import Catalogue, load_catalogue
from harness.errors import InputError
from harness.spec import LoadedSpec
from harness.spec.model import SampleSpec


class PlanError(InputError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Target:
    """Where one deployment goes: a terminal model from the hardware list, or a backend."""

    model: str  # the name verdicts and the report use
    backend: str
    unit: dict[str, Any] | None = None  # the inventory entry for a terminal unit


@dataclass(frozen=True)
class CheckRef:
    """A check as collected: its ID and the catalogue items it decides."""

    check_id: str
    clause_ids: tuple[str, ...]


@dataclass
class PlannedItem:
    item_id: str
    chapter: str
    method_kind: str
    applicable: bool
    reason: str | None = None
    checks: list[str] = field(default_factory=list)


# The sample's own documented behaviour (功能测试): its use cases, and its OpenAPI description.
FUNCTIONAL_CHAPTER = "F"
API_CONFORMANCE = "API-CONFORMANCE"


@dataclass
class Plan:
    basis: str
    items: list[PlannedItem]
    targets: list[Target]
    only: list[str] | None = None  # a retest's subset of items, None for everything
    functional: list[PlannedItem] = field(default_factory=list)

    def all_items(self) -> list[PlannedItem]:
        return self.items + self.functional

    def item(self, item_id: str) -> PlannedItem:
        return next(i for i in self.all_items() if i.item_id == item_id)

    def applicable_checks(self) -> set[str]:
        return {c for i in self.all_items() if i.applicable for c in i.checks}

    def not_applicable_reason(self, clause_ids: tuple[str, ...]) -> str | None:
        """A check is not applicable when every clause it decides is not applicable."""
        reasons = [i.reason for i in self.all_items() if i.item_id in clause_ids and not i.applicable]
        if clause_ids and len(reasons) == len(clause_ids):
            return "；".join(dict.fromkeys(r or "" for r in reasons))
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "items": [asdict(i) for i in self.items],
            "targets": [asdict(t) for t in self.targets],
            "only": self.only,
            "functional": [asdict(i) for i in self.functional],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """The plan as a run recorded it (the inverse of to_json)."""

        def items(key: str) -> list[PlannedItem]:
            return [PlannedItem(**{**i, "checks": list(i.get("checks", []))}) for i in data.get(key) or []]

        return cls(
            basis=data["basis"],
            items=items("items"),
            targets=[Target(**t) for t in data.get("targets") or []],
            only=data.get("only"),
            functional=items("functional"),
        )


@dataclass
class Applicability:
    """What the spec declares not applicable, with the declared reasons."""

    not_applicable: dict[str, str]  # catalogue item ID or use case ID -> reason
    unknown_keys: list[str]  # applicability keys that name no clause, chapter or use case

    def items_of(self, cat: Catalogue) -> dict[str, str]:
        """Only the catalogue's items (what an earlier report is judged against)."""
        ids = cat.ids()
        return {k: v for k, v in self.not_applicable.items() if k in ids}


def applicability(spec: SampleSpec, cat: Catalogue) -> Applicability:
    """The one reading of a spec's applicability rules: a chapter key covers its items, a use case
    key its use case, and a use case without a scenario is excluded with its recorded reason."""
    use_case_ids = {uc.id for uc in spec.documentation.use_cases}
    not_applicable: dict[str, str] = {}
    unknown: list[str] = []
    for uc in spec.documentation.use_cases:
        if not uc.scenario and uc.no_scenario_reason:
            # Recorded in the spec: why this use case is not run as a scenario (shown as an exclusion).
            not_applicable[uc.id] = f"未编写场景：{uc.no_scenario_reason}"
    for key, appl in spec.applicability.items():
        if key in use_case_ids:
            if not appl.applicable:
                not_applicable[key] = appl.reason or ""
            continue
        try:
            covered = cat.covers(key)
        except KeyError:
            unknown.append(key)
            continue
        if not appl.applicable:
            for it in covered:
                not_applicable[it.id] = appl.reason or ""
    return Applicability(not_applicable, unknown)


def build_plan(
    loaded: LoadedSpec,
    checks: list[CheckRef],
    targets: list[Target],
    only: list[str] | None = None,
    catalogue: Catalogue | None = None,
) -> Plan:
    """The plan for these checks on these targets (harness.deploy.inventory.targets_for)."""
    spec = loaded.spec
    cat = catalogue or load_catalogue(spec.basis[0])
    rules = applicability(spec, cat)
    not_applicable = rules.not_applicable
    problems = [
        f"{loaded.path}: applicability.{key}: not a clause or chapter of {cat.standard.id}"
        for key in rules.unknown_keys
    ]

    functional_ids = [*(uc.id for uc in spec.documentation.use_cases), API_CONFORMANCE]
    if not spec.documentation.openapi:
        # No interface document: conformance has nothing to compare with (never a plan error).
        not_applicable.setdefault(API_CONFORMANCE, "样品文档未包含接口描述（OpenAPI），接口一致性检查不适用")
    known = cat.ids() | set(functional_ids)

    by_item: dict[str, list[str]] = {}
    for c in checks:
        if not c.clause_ids:
            problems.append(f"{c.check_id}: a check must name its clause (@pytest.mark.clause)")
        for cid in c.clause_ids:
            if cid not in known:
                problems.append(
                    f"{c.check_id}: {cid!r} is neither a clause of the {cat.standard.id} catalogue "
                    "nor a use case of this sample"
                )
            by_item.setdefault(cid, []).append(c.check_id)

    if only is not None:
        unknown = sorted(set(only) - known)
        problems += [f"retest subset names unknown clause {u!r}" for u in unknown]

    items = [
        PlannedItem(
            item_id=it.id,
            chapter=it.chapter,
            method_kind=it.method_kind,
            applicable=it.id not in not_applicable,
            reason=not_applicable.get(it.id),
            checks=sorted(by_item.get(it.id, [])),
        )
        for it in cat.items
    ]
    functional = [
        PlannedItem(
            item_id=fid,
            chapter=FUNCTIONAL_CHAPTER,
            method_kind="automated",
            applicable=fid not in not_applicable,
            reason=not_applicable.get(fid),
            checks=sorted(by_item.get(fid, [])),
        )
        for fid in functional_ids
    ]
    if problems:
        raise PlanError(problems)
    return Plan(basis=cat.standard.id, items=items, targets=targets, only=only, functional=functional)
