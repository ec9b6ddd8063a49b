"""Chapters 6 and 7 against the reference sample: the service level under load and the crash drill
compare with what the sample declared; each planted service defect is caught by its own check and
by no other check of these chapters; a load that never reaches the sample is the lab's error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from harness.deploy import GUARD, Target, deployer_for
from harness.deploy.base import lab_session
from harness.spec import load_spec
from harness.store import Evidence, session
from tests.conftest import ROOT, harness_cli
from tests.test_run_failures import run_id_of, variant, verdicts_of

SERVICE_CLAUSES = "6.latency,7.dr.recovery,A.dr.level"
DEFECTS = {d["id"]: d["checks"] for d in yaml.safe_load((ROOT / "samples/refpay/defects.yaml").read_text("utf-8"))}
SERVICE_CHECKS = {
    "test_suites/service/test_load.py::test_service_level_holds_at_the_declared_concurrency",
    "test_suites/service/test_continuity.py::test_service_returns_within_the_declared_rto",
    "test_suites/service/test_continuity.py::test_acknowledged_transfers_survive_a_crash",
}


def _with_defect(tmp_path: Path, defect: str) -> Path:
    return variant(
        tmp_path,
        defect,
        "deployment:\n  start:\n    run: >-\n"
        "      exec python3 -m refpay serve --data-dir {workdir}/data --host {bind} --port {ports.https}\n"
        f"      --session-idle-timeout 8 --lockout-threshold 5 --defects {defect}\n",
    )


@pytest.mark.slow
def test_process_deployment_survives_a_kill_and_restarts_on_its_data(tmp_path):
    loaded = load_spec(variant(tmp_path, "restart", ""))
    deployer = deployer_for("process")
    dep = deployer.deploy(loaded, Target("process", "process"), tmp_path / "dep")
    GUARD.allow_deployment(dep)  # the health request below goes through the lab's guarded client
    try:
        port, first_pid = dep.ports["https"], dep.info["pid"]
        dep.kill()
        assert not dep.alive()
        assert dep.restart(timeout_s=30) > 0
        assert dep.alive() and dep.info["pid"] != first_pid and dep.ports["https"] == port
        assert lab_session().get(dep.url("https://{host}:{ports.https}/health"), timeout=5).status_code == 200
        assert "event=unclean_shutdown_detected" in dep.logs()  # the same data directory, after a crash
    finally:
        GUARD.revoke_deployment(dep)
        deployer.teardown(dep)
    assert not dep.alive()


@pytest.mark.slow
def test_compliant_build_meets_its_declared_service_level_and_recovery(tmp_path):
    r = harness_cli("run", str(variant(tmp_path, "ok", "")), "--only", SERVICE_CLAUSES, "--no-report")
    assert r.returncode == 0, r.stdout[-3000:]
    vs = verdicts_of(run_id_of(r.stdout))
    assert {v.check_id for v in vs} == SERVICE_CHECKS and all(v.outcome == "pass" for v in vs)
    with session() as s:
        kinds = {e.kind for e in s.scalars(select(Evidence).where(Evidence.run_id == vs[0].run_id))}
    assert {"figure", "data", "json"} <= kinds  # the latency picture and the raw samples


@pytest.mark.slow
def test_an_impossible_declaration_fails_the_service_level_with_its_figures(tmp_path):
    strict = variant(tmp_path, "strict", "parameters: {latency_p95_ms: 0.01}\n")
    r = harness_cli("run", str(strict), "--only", "6.latency", "--no-report")
    assert r.returncode == 1, r.stdout[-2000:]
    (v,) = verdicts_of(run_id_of(r.stdout))
    assert v.outcome == "fail" and "(declared ≤ 0.01 ms)" in v.detail
    assert "P95" in v.summary and "样品声明 ≤ 0.01 ms" in v.summary and "declared ≤ 0.01 ms" in v.summary_en


@pytest.mark.slow
@pytest.mark.parametrize(
    "defect",
    [
        "ack-before-write",
        # Both are caught in the defective reference build (tests/test_report_workflow.py); that each
        # fails its own check alone is the full calibration's (--full-calibration).
        pytest.param("slow-path", marks=pytest.mark.full_calibration),
        pytest.param("slow-restart", marks=pytest.mark.full_calibration),
    ],
)
def test_each_service_defect_fails_its_own_check_and_no_other(tmp_path, defect):
    r = harness_cli("run", str(_with_defect(tmp_path, defect)), "--only", SERVICE_CLAUSES, "--no-report")
    assert r.returncode == 1, r.stdout[-3000:]
    vs = verdicts_of(run_id_of(r.stdout))
    failing = {v.check_id for v in vs if v.outcome == "fail"}
    assert failing == set(DEFECTS[defect]), (defect, failing)
    assert {v.outcome for v in vs if v.check_id not in failing} == {"pass"}
    if defect == "ack-before-write":  # the lost operations are named in the observation
        (v,) = [v for v in vs if v.outcome == "fail"]
        assert re.search(r"丢失 \d+ 笔（T[0-9a-f]{32}", v.summary), v.summary


@pytest.mark.slow
def test_a_load_that_cannot_reach_the_sample_is_a_lab_error_not_a_failure(tmp_path):
    # Healthy as deployed, but the driver talks to a port nothing listens on: nothing was measured.
    unreachable = variant(tmp_path, "unreachable", 'driver: {base_url: "https://{host}:1"}\n')
    r = harness_cli("run", str(unreachable), "--only", SERVICE_CLAUSES, "--no-report")
    assert r.returncode == 3, r.stdout[-3000:]
    vs = verdicts_of(run_id_of(r.stdout))
    assert {v.outcome for v in vs} == {"error"} and len(vs) == 3
    # The port is outside what was deployed: the scope guard refuses it before any packet leaves.
    why = ("no answer from the sample", "outside this run's scope")
    assert all(any(w in v.detail for w in why) for v in vs), [v.detail[:200] for v in vs]


@pytest.mark.slow
@pytest.mark.docker
def test_compliant_build_meets_its_service_level_and_recovery_in_a_container(tmp_path):
    r = harness_cli(
        "run", str(variant(tmp_path, "box", "")), "--backend", "container", "--only", SERVICE_CLAUSES, "--no-report"
    )
    assert r.returncode == 0, r.stdout[-3000:]
    vs = verdicts_of(run_id_of(r.stdout))
    assert {v.model for v in vs} == {"container"} and {v.outcome for v in vs} == {"pass"}, [
        (v.check_id, v.outcome, v.detail[:200]) for v in vs
    ]
