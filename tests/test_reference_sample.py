"""Calibration material: the defective reference spec plants every documented defect, and both reference
specs match the sample as it is. Their full runs are judged in tests/test_report_workflow.py."""

from __future__ import annotations

import re

import yaml

from tests.conftest import ROOT, SPECS, harness_cli

DEFECTS = yaml.safe_load((ROOT / "samples/refpay/defects.yaml").read_text(encoding="utf-8"))
MAPPED = {d["id"]: d["checks"] for d in DEFECTS if d.get("checks")}
EXPECTED_FAILING = {c for checks in MAPPED.values() for c in checks}


def test_defective_spec_plants_exactly_the_mapped_defects():
    run = yaml.safe_load((SPECS / "refpay-defective.yaml").read_text(encoding="utf-8"))["deployment"]["start"]["run"]
    planted = set(re.search(r"--defects (\S+)", run).group(1).split(","))
    assert planted == set(MAPPED) == {d["id"] for d in DEFECTS}  # every defect is planted and mapped


def test_reference_specs_match_the_sample_as_it_is(tmp_path):
    # The full runs of both builds and their calibration assertions live with the reports written from
    # them (tests/test_report_workflow.py, one pair of runs); here, the specs themselves are current.
    # A lab of its own: the registration must not become the worker's scratch lab's sample record.
    env = {"HARNESS_DATA_DIR": str(tmp_path / "data"), "HARNESS_REPORTS_DIR": str(tmp_path / "reports")}
    for spec in ("refpay.yaml", "refpay-defective.yaml"):
        r = harness_cli("intake", str(SPECS / spec), env=env)
        assert r.returncode == 0, r.stdout + r.stderr
