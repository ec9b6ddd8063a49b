"""The spec's field types (a path inside the sample, a package requirement...) and the strict base
model every part of the spec is: unknown keys refused, no true/false where a number is meant.
"""

from __future__ import annotations

import posixpath
from functools import cache
from typing import Annotated, Any, get_args

from packaging.requirements import InvalidRequirement, Requirement
from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

from harness.files import check_path_text

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def _inside_sample(v: str) -> str:
    why = check_path_text(v)
    if why:
        raise ValueError(f"the path {why}")
    if v.startswith("/"):
        raise ValueError(f"{v} is absolute: name a file relative to the sample's working directory")
    norm = posixpath.normpath(v)
    if norm in (".", "..") or norm.startswith("../"):
        raise ValueError(f"{v} is not a file inside the sample's working directory")
    return v


def check_package_requirement(v: str) -> str:
    if v.lstrip().startswith("-"):
        raise ValueError(f"{v!r} is a pip option, not a package: name a package, e.g. 'cryptography==42.0.5'")
    try:
        req = Requirement(v)
    except InvalidRequirement as e:
        raise ValueError(f"not a package requirement (PEP 508): {str(e).splitlines()[0]}") from None
    if req.url:
        raise ValueError(f"{req.name} @ {req.url}: only packages from the lab's index, not a URL")
    return v


# A file the sample writes, relative to its working directory (never absolute, never above it).
SamplePath = Annotated[str, AfterValidator(_inside_sample)]
# A PEP 508 package requirement ("name[extra]>=1.0; marker"), never a pip option or a URL.
PackageRequirement = Annotated[str, AfterValidator(check_package_requirement)]
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


@cache
def _takes_bool(annotation: Any) -> bool:
    """Whether true/false is a meaningful value somewhere in this annotation."""
    if annotation is bool or annotation is object or annotation is Any:
        return True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True  # its own fields decide
    return any(_takes_bool(a) for a in get_args(annotation) if isinstance(a, type) or get_args(a))


class TrueFalse:
    """Stands for a YAML true/false given where a number or text is expected, so the field's own
    validation refuses it (pydantic would otherwise read true as 1: a timeout of "true" seconds)."""

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return "true" if self.value else "false"


def _refuse_bools(value: Any) -> Any:
    if isinstance(value, bool):
        return TrueFalse(value)
    if isinstance(value, list | tuple):
        return [_refuse_bools(v) for v in value]
    if isinstance(value, dict):
        return {k: _refuse_bools(v) for k, v in value.items()}
    return value


class Strict(BaseModel):
    # An unknown key is almost always a typo in a lab-written file: refuse it. An infinite or NaN
    # number is never a meaningful timeout, limit or amount.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, value in data.items():
            f = cls.model_fields.get(name) if isinstance(name, str) else None
            if f is not None and not _takes_bool(f.annotation):  # type: ignore[arg-type]
                out[name] = _refuse_bools(value)
        return out
