"""Calibration: the compliant reference build passes every automated check; the defective build
fails exactly the checks its planted defects are mapped to, each with evidence."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select

from harness.store import Evidence, Verdict, session
from tests.conftest import ROOT, SPECS, harness_cli

DEFECTS = yaml.safe_load((ROOT / "samples/refpay/defects.yaml").read_text(encoding="utf-8"))
MAPPED = {d["id"]: d["checks"] for d in DEFECTS if d.get("checks")}
EXPECTED_FAILING = {c for checks in MAPPED.values() for c in checks}


def _run(spec: str, *extra: str) -> tuple[str, list[Verdict], str]:
    r = harness_cli("run", str(SPECS / spec), *extra)
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, r.stdout + r.stderr
    with session() as s:
        vs = list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
    return m.group(1), vs, r.stdout + r.stderr


def test_defective_spec_plants_exactly_the_mapped_defects():
    run = yaml.safe_load((SPECS / "refpay-defective.yaml").read_text(encoding="utf-8"))["deployment"]["start"]["run"]
    planted = set(re.search(r"--defects (\S+)", run).group(1).split(","))
    assert planted == set(MAPPED) == {d["id"] for d in DEFECTS}  # every defect is planted and mapped


@pytest.mark.slow
def test_compliant_build_passes_every_automated_check():
    _run_id, verdicts, log = _run("refpay.yaml")
    assert verdicts, log
    bad = [
        (v.check_id, v.model, v.outcome, v.detail[:300])
        for v in verdicts
        if v.outcome not in ("pass", "not_applicable")
    ]
    assert not bad, bad
    assert "exit 0" in log


@pytest.mark.slow
def test_defective_build_fails_exactly_the_mapped_checks_with_evidence():
    _run_id, verdicts, log = _run("refpay-defective.yaml")
    # A scenario outline's examples are one check for the mapping: drop their parameters.
    failing = {re.sub(r"\[.*\]$", "", v.check_id) for v in verdicts if v.outcome == "fail"}
    assert failing == EXPECTED_FAILING, (sorted(failing - EXPECTED_FAILING), sorted(EXPECTED_FAILING - failing))
    assert not [v for v in verdicts if v.outcome == "error"], log
    with session() as s:
        for v in verdicts:
            if v.outcome == "fail":
                ev = list(s.scalars(select(Evidence).where(Evidence.verdict_id == v.id)))
                assert ev, f"{v.check_id} failed without evidence"
    assert "exit 1" in log
