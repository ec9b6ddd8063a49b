"""The lab inventory: which terminal units the lab owns, by model, and how to reach each one.

Certification needs one unit of every model in a sample's hardware list; the planner asks
``Inventory.unit_for(model)`` and hands the unit to the terminal backend as ``Target.unit``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from harness.config import PROJECT_ROOT
from harness.errors import InputError
from harness.plan import PlanError, Target
from harness.spec import LoadedSpec
from harness.spec.loader import SpecProblem, problems_of

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class InventoryError(InputError, ValueError):
    """A broken inventory file; lists every problem as ``file:line: field: message``."""

    def __init__(self, problems: list[SpecProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Strict(BaseModel):
    # The inventory is lab-written: an unknown key is a typo, not an extension.
    model_config = ConfigDict(extra="forbid")


class Unit(_Strict):
    """One terminal unit: a machine of a hardware-list model that the lab reaches over SSH."""

    model: NonEmpty  # must equal a hardware-list ``model`` of the sample spec
    id: NonEmpty  # the lab's label for this unit, unique in the inventory
    serial: str | None = None  # the manufacturer's serial, for the report
    host: NonEmpty
    port: int = Field(default=22, ge=1, le=65535)
    user: NonEmpty
    key_file: NonEmpty  # private key; relative paths are relative to the inventory file
    known_hosts: str | None = None  # if given, the unit's host key must be in it
    os: NonEmpty
    base_software: list[str] = []
    # True for the lab's namespace stand-ins: the report must never pass one off as hardware.
    standin: bool = False

    @property
    def label(self) -> str:
        return f"unit {self.id} of {self.model} ({self.user}@{self.host}:{self.port})"


class Inventory(_Strict):
    version: int = 1
    units: list[Unit] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Inventory:
        ids = [u.id for u in self.units]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"unit ids must be unique, repeated: {', '.join(dup)}")
        return self

    def units_for(self, model: str) -> list[Unit]:
        return [u for u in self.units if u.model == model]

    def unit_for(self, model: str) -> Unit | None:
        """The unit a run uses for this model: the first one listed (labs list the preferred first)."""
        units = self.units_for(model)
        return units[0] if units else None

    @property
    def models(self) -> list[str]:
        return sorted({u.model for u in self.units})


def default_path() -> Path:
    return Path(os.environ.get("HARNESS_INVENTORY", PROJECT_ROOT / "lab_env" / "inventory.yaml"))


def load_inventory(path: Path | None = None) -> Inventory:
    p = Path(path) if path is not None else default_path()
    if not p.is_file():
        raise InventoryError([SpecProblem(p, "", "no such inventory file (set HARNESS_INVENTORY?)")])
    text = p.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = SpecProblem(p, "", f"not valid YAML: {getattr(e, 'problem', e)}", mark.line + 1 if mark else None)
        raise InventoryError([problem]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InventoryError([SpecProblem(p, "", "an inventory is a mapping with a 'units' list")])
    try:
        inv = Inventory.model_validate(data)
    except ValidationError as e:
        raise InventoryError(problems_of(e, p, node)) from None
    # Key files are resolved here so a unit dict handed to a backend is usable as it is.
    base = p.resolve().parent
    for u in inv.units:
        u.key_file = str((base / u.key_file).resolve())
        if u.known_hosts:
            u.known_hosts = str((base / u.known_hosts).resolve())
    return inv


def targets_for(loaded: LoadedSpec, backend: str) -> list[Target]:
    """One target per terminal model for terminal samples (each needs a unit in the inventory); one
    per backend otherwise."""
    spec = loaded.spec
    if backend != "terminal":
        return [Target(model=backend, backend=backend)]
    if not spec.hardware:
        raise PlanError([f"{loaded.path}: hardware: a terminal deployment needs a hardware list"])
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
