"""A run of the reference sample with the lab record on PostgreSQL (the store's own tests run on
both engines in tests/test_results.py): one item of each kind of probe (the deployment matrix's
choice; what the record holds does not depend on which checks wrote it), every verdict a pass on
the compliant build, an intact hash chain, and the report written from it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness import results
from tests.conftest import SPECS, harness_cli
from tests.lab_record import scratch_lab
from tests.test_matrix import MATRIX


@pytest.mark.slow
def test_the_reference_sample_runs_and_reports_on_postgresql(tmp_path: Path):
    with scratch_lab("postgresql", tmp_path) as url:
        r = harness_cli("run", str(SPECS / "refpay.yaml"), "--only", MATRIX)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        m = re.search(r"run (R-[\w-]+):", r.stdout)
        assert m, r.stdout
        run_id = m.group(1)
        verdicts = results.verdicts_of(run_id)
        assert verdicts and {v.outcome for v in verdicts} <= {results.Outcome.PASS, results.Outcome.NOT_APPLICABLE}
        check = results.verify_run(run_id)
        assert check.ok and check.verdicts == len(verdicts) and check.evidence_files > 0, check.problems
        run = results.get_run(run_id)
        assert run is not None and run.status == results.RunStatus.FINISHED and run.plan is not None
        report = json.loads(Path(r.stdout.strip().splitlines()[-1]).read_text(encoding="utf-8"))
        assert report["run"]["id"] == run_id and report["summary"]["不符合"] == 0
        assert url.startswith("postgresql")
