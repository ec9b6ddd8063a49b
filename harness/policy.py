"""What a check compares with: the value the sample declared, or, where it declared nothing, the
lab's stated default (``harness/catalogue/lab-policy.yaml``, or the lab's own file named by
``HARNESS_LAB_POLICY``). Every setting says where it came from, so the report can say which."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InputError

DEFAULT_POLICY = Path(__file__).resolve().parent / "catalogue" / "lab-policy.yaml"


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any  # None: neither declared nor a lab default
    declared: bool
    basis: str = ""  # Chinese: where the value comes from
    basis_en: str = ""

    @property
    def known(self) -> bool:
        return self.value is not None

    def source_zh(self) -> str:
        if self.declared:
            return f"样品声明 {self.value:g}" if isinstance(self.value, int | float) else f"样品声明 {self.value}"
        return f"样品未声明，按{self.basis}" if self.known else "样品未声明，实验室亦无默认要求"

    def source_en(self) -> str:
        if self.declared:
            return f"declared by the sample: {self.value}"
        return f"not declared; judged against the {self.basis_en}" if self.known else "not declared; no lab default"


@cache
def _policy(path: str) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as e:
        raise InputError(f"{path}: the lab policy cannot be read: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
        raise InputError(f"{path}: a lab policy maps each setting to {{value, basis, basis_en}}")
    return data


def lab_defaults() -> dict[str, dict[str, Any]]:
    return _policy(os.environ.get("HARNESS_LAB_POLICY", str(DEFAULT_POLICY)))


def setting(parameters: Any, name: str) -> Setting:
    """The sample's declared value of ``name``, else the lab's default, else unknown."""
    value = getattr(parameters, name, None)
    if value is not None:
        return Setting(name, value, True)
    d = lab_defaults().get(name)
    if d is None:
        return Setting(name, None, False)
    return Setting(name, d["value"], False, str(d.get("basis", "")), str(d.get("basis_en", "")))
