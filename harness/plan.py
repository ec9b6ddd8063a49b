"""The plan: which checks run on which target, and why each clause is or is not applicable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.catalogue import Catalogue, load_catalogue
from harness.deploy.base import Target
from harness.spec import LoadedSpec


class PlanError(Exception):
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


@dataclass
class Plan:
    basis: str
    items: list[PlannedItem]
    targets: list[Target]
    only: list[str] | None = None  # a retest's subset of items, None for everything

    def item(self, item_id: str) -> PlannedItem:
        return next(i for i in self.items if i.item_id == item_id)

    def applicable_checks(self) -> set[str]:
        return {c for i in self.items if i.applicable for c in i.checks}

    def not_applicable_reason(self, clause_ids: tuple[str, ...]) -> str | None:
        """A check is not applicable when every clause it decides is not applicable."""
        reasons = [i.reason for i in self.items if i.item_id in clause_ids and not i.applicable]
        if clause_ids and len(reasons) == len(clause_ids):
            return "；".join(dict.fromkeys(r or "" for r in reasons))
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "items": [asdict(i) for i in self.items],
            "targets": [asdict(t) for t in self.targets],
            "only": self.only,
        }


def targets_for(loaded: LoadedSpec, backend: str) -> list[Target]:
    """One target per terminal model for terminal samples; one per backend otherwise."""
    spec = loaded.spec
    if backend != "terminal":
        return [Target(model=backend, backend=backend)]
    if not spec.hardware:
        raise PlanError([f"{loaded.path}: hardware: a terminal deployment needs a hardware list"])
    from harness.deploy.inventory import load_inventory

    inventory = load_inventory()
    targets, missing = [], []
    for hw in spec.hardware:
        unit = inventory.unit_for(hw.model)
        if unit is None:
            missing.append(f"hardware model {hw.model!r} has no unit in the lab inventory ({inventory.path})")
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

    not_applicable: dict[str, str] = {}
    for key, appl in spec.applicability.items():
        try:
            covered = cat.covers(key)
        except KeyError:
            problems.append(f"{loaded.path}: applicability.{key}: not a clause or chapter of {cat.standard.id}")
            continue
        if not appl.applicable:
            for it in covered:
                not_applicable[it.id] = appl.reason or ""

    by_item: dict[str, list[str]] = {}
    for c in checks:
        if not c.clause_ids:
            problems.append(f"{c.check_id}: a check must name its clause (@pytest.mark.clause)")
        for cid in c.clause_ids:
            if cid not in cat.ids():
                problems.append(f"{c.check_id}: clause {cid!r} is not in the {cat.standard.id} catalogue")
            by_item.setdefault(cid, []).append(c.check_id)

    if only is not None:
        unknown = sorted(set(only) - cat.ids())
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
    try:
        targets = targets_for(loaded, backend or spec.deployment.backend)
    except PlanError as e:
        problems += e.problems
        targets = []
    if problems:
        raise PlanError(problems)
    return Plan(basis=cat.standard.id, items=items, targets=targets, only=only)
