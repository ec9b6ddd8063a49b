"""Where the lab keeps its data, and who the lab is.

Data locations are overridable by environment, so CI and tests can point the harness at a scratch
directory and a lab at PostgreSQL. The lab's identity (name, address, accreditation, where tests are
done, time zone, who may sign in which role, the report-signing certificate) is the lab
configuration file: ``lab_env/lab.yaml`` (or ``HARNESS_LAB_CONFIG``), created by ``lab_env/setup.sh``
from ``lab_env/lab.example.yaml``. Without it drafts still render (marked as lacking the lab's
identity), but no report can be signed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ZONE = "Asia/Shanghai"
Role = Literal["prepared", "reviewed", "approved"]


class LabConfigError(InputError):
    """The lab configuration file is missing or wrong: one line per problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    name: str = Field(min_length=1)
    name_en: str | None = None  # how the English rendering writes the name (default: as is)
    title: str | None = None  # e.g. 授权签字人
    roles: tuple[Role, ...] = Field(min_length=1)  # the signatures this person may give


class SigningConfig(_Strict):
    certificate: Path  # PEM; relative paths are relative to the configuration file
    key: Path  # PEM private key
    key_passphrase_env: str | None = None  # the environment variable holding the key's passphrase
    chain: tuple[Path, ...] = ()  # intermediate certificates to embed


class LabIdentity(_Strict):
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    address: str = Field(min_length=1)
    address_en: str = Field(min_length=1)
    accreditation: str = Field(min_length=1)  # e.g. "CNAS L0000"
    location: str = Field(min_length=1)  # where the tests are done (CNAS-CL01 7.8.2.1 c)
    location_en: str = Field(min_length=1)
    time_zone: str = DEFAULT_ZONE
    people: tuple[Person, ...] = Field(min_length=1)
    signing: SigningConfig
    path: Path = Path()  # the file it was read from (set by the loader)

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as Asia/Shanghai)") from None
        return v

    def person(self, name: str) -> Person | None:
        return next((p for p in self.people if p.name == name), None)

    def who_may(self, role: str) -> list[str]:
        return [p.name for p in self.people if role in p.roles]

    def resolve(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.path.parent / p).resolve()


def lab_config_path() -> Path:
    return Path(os.environ.get("HARNESS_LAB_CONFIG", PROJECT_ROOT / "lab_env" / "lab.yaml")).resolve()


@cache
def _load_identity(path: Path, mtime: float) -> LabIdentity:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise LabConfigError(f"{path}: cannot read the lab configuration: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise LabConfigError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise LabConfigError(f"{path}: the lab configuration is a mapping (see lab_env/lab.example.yaml)")
    try:
        return LabIdentity.model_validate({**data, "path": path})
    except ValidationError as e:
        raise LabConfigError(
            "\n".join(f"{path}: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors())
        ) from None


def lab_identity() -> LabIdentity:
    """The lab configuration file, parsed; LabConfigError (exit 2) naming the file when it is missing
    or wrong."""
    path = lab_config_path()
    if not path.is_file():
        raise LabConfigError(
            f"no lab configuration at {path}: the lab's name, address, accreditation, signatories and signing "
            "certificate come from it; create it with `harness lab init` (lab_env/setup.sh does) "
            "or point HARNESS_LAB_CONFIG at it"
        )
    return _load_identity(path, path.stat().st_mtime)


def lab_identity_or_none() -> LabIdentity | None:
    try:
        return lab_identity()
    except LabConfigError:
        return None


def lab_zone() -> ZoneInfo:
    """The lab's time zone (Asia/Shanghai when the lab configuration is missing or wrong)."""
    ident = lab_identity_or_none()
    return ZoneInfo(ident.time_zone if ident else DEFAULT_ZONE)


@dataclass(frozen=True)
class LabConfig:
    data_dir: Path
    db_url: str
    reports_dir: Path
    retention_months: int = 24  # a report is accepted for 24 months; samples are kept as long
    # Folders any spec may name files in besides its own folder: the lab's reference samples and
    # specs, and the public applications fetched from their registries for calibration
    # (lab_env/public_apps.py). Every other path a spec names must stay inside the spec's folder.
    reference_dirs: tuple[Path, ...] = ()
    # The package index the host downloads a container sample's wheels from (never the host's pip
    # configuration).
    pip_index_url: str = "https://pypi.org/simple"

    @property
    def runs_dir(self) -> Path:
        return self.data_dir / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id


@cache
def _reference_dirs(value: str) -> tuple[Path, ...]:
    return tuple(Path(d).resolve() for d in value.split(os.pathsep) if d)


def lab_config() -> LabConfig:
    data_dir = Path(os.environ.get("HARNESS_DATA_DIR", PROJECT_ROOT / "lab_data")).resolve()
    return LabConfig(
        data_dir=data_dir,
        db_url=os.environ.get("HARNESS_DB_URL", f"sqlite:///{data_dir / 'lab.db'}"),
        reports_dir=Path(os.environ.get("HARNESS_REPORTS_DIR", PROJECT_ROOT / "reports")).resolve(),
        reference_dirs=_reference_dirs(
            os.environ.get(
                "HARNESS_REFERENCE_DIRS",
                os.pathsep.join(str(PROJECT_ROOT / d) for d in ("samples", "sample_specs", ".cache/public-apps")),
            )
        ),
        pip_index_url=os.environ.get("HARNESS_PIP_INDEX_URL", "https://pypi.org/simple"),
    )
