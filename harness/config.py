"""Where the lab keeps its data. Everything is overridable by environment, so CI and tests
can point the harness at a scratch directory and a lab at PostgreSQL."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class LabConfig:
    data_dir: Path
    db_url: str
    reports_dir: Path
    lab_name: str
    lab_address: str
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
        lab_name=os.environ.get("HARNESS_LAB_NAME", "金融科技产品检测实验室"),
        lab_address=os.environ.get("HARNESS_LAB_ADDRESS", "（实验室地址，见 HARNESS_LAB_ADDRESS）"),
        reference_dirs=_reference_dirs(
            os.environ.get(
                "HARNESS_REFERENCE_DIRS",
                os.pathsep.join(str(PROJECT_ROOT / d) for d in ("samples", "sample_specs", ".cache/public-apps")),
            )
        ),
        pip_index_url=os.environ.get("HARNESS_PIP_INDEX_URL", "https://pypi.org/simple"),
    )
