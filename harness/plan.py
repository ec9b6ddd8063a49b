"""The plan: which checks run on which target, and why each clause is or is not applicable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.catalogue import Catalogue, load_catalogue
from harness.deploy.base import Target
from harness.errors import InputError
from harness.spec import LoadedSpec


class PlanError(InputError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


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


def targets_for(loaded: LoadedSpec, backend: str) -> list[Target]:
    """One target per terminal model for terminal samples; one per backend otherwise."""
    spec = loaded.spec
    if backend != "terminal":
        return [Target(model=backend, backend=backend)]
    if not spec.hardware:
        raise PlanError([f"{loaded.path}: hardware: a terminal deployment needs a hardware list"])
    from harness.deploy.inventory import InventoryError, default_path, load_inventory

    try:
        inventory = load_inventory()
    except InventoryError as e:
        raise PlanError([str(p) for p in e.problems]) from None
    targets, missing = [], []
    for hw in spec.hardware:
        unit = inventory.unit_for(hw.model)
        if unit is None:
            missing.append(f"hardware model {hw.model!r} has no unit in the lab inventory ({default_path()})")
        else:
            targets.append(Target(model=hw.model, backend="terminal", unit=unit.model_dump()))
    if missing:
        raise PlanError(missing)
    return targets


def build_plan(
    loaded: LoadedSpec,
    checks: list[CheckRef],
    backend: str | None = None,
    only: list[str] | None = None,
    catalogue: Catalogue | None = None,
) -> Plan:
    spec = loaded.spec
    cat = catalogue or load_catalogue(spec.basis[0])
    problems: list[str] = []

    use_case_ids = {uc.id for uc in spec.documentation.use_cases}
    not_applicable: dict[str, str] = {}
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
            problems.append(f"{loaded.path}: applicability.{key}: not a clause or chapter of {cat.standard.id}")
            continue
        if not appl.applicable:
            for it in covered:
                not_applicable[it.id] = appl.reason or ""

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
    try:
        targets = targets_for(loaded, backend or spec.deployment.backend)
    except PlanError as e:
        problems += e.problems
        targets = []
    if problems:
        raise PlanError(problems)
    return Plan(basis=cat.standard.id, items=items, targets=targets, only=only, functional=functional)
