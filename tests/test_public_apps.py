"""Calibration on public applications nobody here wrote (sample_specs/public/<app>/): each is
fetched from its package registry at test time (lab_env/public_apps.py; nothing of its code is in
the repository), deployed by its spec and run through the suites; the verdicts must match its
ground truth: every check mapped to a flaw the release has fails, and no other check fails (no
false alarm) and none is a lab error.

Runs use the calibration lab's stated defaults (sample_specs/public/lab-policy.yaml: a short idle
timeout, so a product without one is caught in seconds rather than the default 15 minutes)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from harness.store import Verdict
from tests.conftest import ROOT, harness_cli

PUBLIC = ROOT / "sample_specs" / "public"
POLICY = PUBLIC / "lab-policy.yaml"


def _runs() -> list[Any]:
    """Every run of every ground truth; a run marked ``ci: false`` (a whole-suite run of a release
    whose flaws another run of the same application already calibrates) is in the full calibration
    only (``pytest tests/test_public_apps.py --full-calibration``), to keep the test command short."""
    out = []
    for gt_path in sorted(PUBLIC.glob("*/ground-truth.yaml")):
        gt = yaml.safe_load(gt_path.read_text(encoding="utf-8"))
        for run in gt["runs"]:
            label = f"{gt['application']}-{Path(run['spec']).stem.removeprefix(gt['application'] + '-')}"
            marks = [pytest.mark.xdist_group(f"public-{label}")]
            if run.get("ci") is False:
                marks.append(pytest.mark.full_calibration)
            out.append(pytest.param(gt_path, gt, run, id=label, marks=marks))
    return out


def expected_failures(gt: dict[str, Any], release: str, variant: str | None = None) -> dict[str, list[str]]:
    """check ID -> the flaws of this release that it must find. A flaw present only in a variant of
    the release's deployment (a documented option switched on) says so as ``RELEASE/VARIANT``, and
    counts only in the runs of that variant."""
    out: dict[str, list[str]] = {}
    for flaw in gt["flaws"]:
        if release in flaw["present_in"] or (variant and f"{release}/{variant}" in flaw["present_in"]):
            for check in flaw["checks"]:
                out.setdefault(check, []).append(flaw["id"])
    return out


def _fetch(app: str, release: str) -> None:
    r = subprocess.run(
        [sys.executable, str(ROOT / "lab_env" / "public_apps.py"), "fetch", f"{app}-{release}"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
@pytest.mark.timeout(1800)
@pytest.mark.parametrize(("gt_path", "gt", "run"), _runs())
def test_verdicts_match_the_ground_truth(
    gt_path: Path, gt: dict[str, Any], run: dict[str, Any], tmp_path: Path
) -> None:
    _fetch(gt["application"], run["release"])
    spec = gt_path.parent / run["spec"]
    env = {
        "HARNESS_DATA_DIR": str(tmp_path / "data"),
        "HARNESS_REPORTS_DIR": str(tmp_path / "reports"),
        "HARNESS_LAB_POLICY": str(POLICY),
    }
    args = ["run", str(spec), "--no-report"]
    if run.get("only"):
        args += ["--only", ",".join(run["only"])]
    r = harness_cli(*args, env=env, timeout=1700)
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, r.stdout + r.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'lab.db'}")
    try:
        with Session(engine) as s:
            verdicts = list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
    finally:
        engine.dispose()
    ran = {v.check_id.split("[")[0] for v in verdicts}
    failing = {v.check_id.split("[")[0] for v in verdicts if v.outcome == "fail"}
    errors = {v.check_id: v.detail.splitlines()[0] for v in verdicts if v.outcome == "error"}
    expected = {c: f for c, f in expected_failures(gt, run["release"], run.get("variant")).items() if c in ran}
    summary = {v.check_id: f"{v.outcome}: {v.summary[:200]}" for v in verdicts}
    assert not errors, f"lab errors: {errors}"
    missed = {c: expected[c] for c in set(expected) - failing}
    false_alarms = {c: summary.get(c, "") for c in failing - set(expected)}
    assert not missed, f"known flaws not found: {missed}"
    assert not false_alarms, f"false alarms: {false_alarms}"


def test_npm_pins_list_every_installed_package_with_its_integrity() -> None:
    """The npm lock's packages (not the root, links or bundled ones) are what the pin file lists and
    what fetch verifies, by the SHA-512 integrity npm itself records."""
    sys.path.insert(0, str(ROOT / "lab_env"))
    try:
        import public_apps as pa
    finally:
        sys.path.pop(0)
    blob = b"a tarball"
    lock = {
        "packages": {
            "": {"name": "lab", "dependencies": {"a": "1.0.0"}},
            "node_modules/a": {"version": "1.0.0", "integrity": pa._integrity(blob)},
            "node_modules/a/node_modules/@s/b": {"version": "2.0.0", "integrity": "sha512-x"},
            "node_modules/c": {"version": "3.0.0", "integrity": "sha512-y", "inBundle": True},
            "node_modules/d": {"link": True, "resolved": "../d"},
        }
    }
    assert pa._npm_packages(lock) == {
        "node_modules/a": ("a@1.0.0", pa._integrity(blob)),
        "node_modules/a/node_modules/@s/b": ("@s/b@2.0.0", "sha512-x"),
    }
    assert pa._integrity(blob).startswith("sha512-") and pa._integrity(blob) != pa._integrity(b"another")
