"""Failover (7.dr.failover, issue 14): a sample declared as several instances behind its own entry
point loses one; the interruption the load saw is judged against the declared bound.

Fast: the measurement over synthetic load samples, and the deployment model. Slow: the reference
sample as a cluster (sample_specs/refpay-cluster.yaml) passes, its defective gateway
(refpay-cluster-defective.yaml: no failover) fails exactly this check, one instance is not
applicable; in a container too.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError
from sqlalchemy import select

from harness.checks.failover import interruption
from harness.probes.load import OpSample
from harness.run import run_sample
from harness.spec.model import Deployment
from harness.store import Evidence, Verdict, session
from tests.conftest import ROOT, SPECS

CHECK = "test_suites/service/test_failover.py::test_one_instance_failing_interrupts_clients_no_longer_than_declared"
GATEWAY_DEFECTS = yaml.safe_load((ROOT / "samples/refpay/gateway-defects.yaml").read_text(encoding="utf-8"))


def _op(start: float, end: float, ok: bool) -> OpSample:
    return OpSample("account", "alice", 0, start, end, 200 if ok else None, ok)


# -- the measurement ----------------------------------------------------------------------------------
def test_a_clean_failover_is_the_short_stretch_of_failures_after_the_kill():
    kill = 100.0
    ops = [_op(99.0 + i * 0.1, 99.05 + i * 0.1, True) for i in range(10)]  # up to the kill
    ops += [_op(99.9, 100.2, False), _op(100.1, 100.4, False)]  # in flight on the dead instance
    ops += [_op(100.5 + i * 0.1, 100.55 + i * 0.1, True) for i in range(50)]
    seen = interruption(ops, kill, 106.0)
    assert len(seen.failed) == 2 and seen.succeeded == 50
    assert seen.last_failure_s == pytest.approx(0.4)
    assert seen.longest_gap_s == pytest.approx(0.55)  # from the kill to the first success
    assert seen.seconds == pytest.approx(0.55) and not seen.lasted_to_the_end


def test_failures_that_go_on_to_the_end_are_an_interruption_of_the_whole_observation():
    kill = 10.0
    ops = []
    for i in range(60):  # every other new connection still goes to the dead instance
        t = kill + i * 0.1
        ops.append(_op(t, t + 0.02, i % 2 == 0))
    seen = interruption(ops, kill, kill + 6.0)
    assert seen.longest_gap_s < 0.5  # successes never stopped ...
    assert seen.seconds > 5.8 and seen.lasted_to_the_end  # ... but clients kept failing


def test_a_total_blackout_with_no_failure_recorded_is_the_longest_gap():
    seen = interruption([_op(1.0, 1.1, True), _op(4.0, 4.2, True)], 2.0, 9.0)
    assert seen.failed == [] and seen.longest_gap_s == pytest.approx(4.8) and seen.gap_from_s == pytest.approx(2.2)


def test_several_instances_need_the_products_own_entry_point():
    base: dict[str, Any] = {
        "start": {"run": "serve"},
        "ports": [{"name": "https", "port": 8443}],
        "health": {"url": "https://{host}:{ports.https}/health"},
    }
    assert Deployment.model_validate(base).instances == 1
    with pytest.raises(ValidationError, match="entry"):
        Deployment.model_validate({**base, "instances": 2})
    d = Deployment.model_validate({**base, "instances": 2, "entry": {"run": "gateway {upstreams.https}"}})
    assert d.entry is not None


def test_the_gateway_defect_is_planted_by_its_spec():
    (defect,) = GATEWAY_DEFECTS
    start = yaml.safe_load((ROOT / defect["spec"]).read_text(encoding="utf-8"))["deployment"]["entry"]["run"]
    assert f"--defects {defect['id']}" in start and defect["checks"] == [CHECK]


def test_the_failover_drill_runs_after_every_other_check_of_its_target_and_the_crash_drill_first():
    spec = importlib.util.spec_from_file_location("service_conftest", ROOT / "test_suites/service/conftest.py")
    assert spec is not None and spec.loader is not None
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)

    class Item:
        def __init__(self, path: str, target: str, late: int = 0) -> None:
            self.path, self.late = ROOT / "test_suites" / path, late
            self.callspec = type("CS", (), {"params": {"deployment": target}})()

        def get_closest_marker(self, name: str) -> object:
            return type("M", (), {"args": (self.late,)})() if name == "late" and self.late else None

    failover, expiry = Item("service/test_failover.py", "A", 6), Item("transaction/test_session.py", "A", 2)
    crash, other = Item("service/test_continuity.py", "A"), Item("network/test_tls.py", "A")
    items = [failover, other, expiry, crash, Item("network/test_tls.py", "B")]
    conftest.pytest_collection_modifyitems(items)
    assert items[:4] == [crash, other, expiry, failover] and items[4].callspec.params["deployment"] == "B"


# -- the reference sample as a cluster ------------------------------------------------------------------
def _failover(spec: Path, backend: str | None = None) -> tuple[Verdict, list[Evidence]]:
    result = run_sample(spec, backend=backend, only=["7.dr.failover"])
    with session() as s:
        (v,) = [v for v in s.scalars(select(Verdict).where(Verdict.run_id == result.run_id)) if v.check_id == CHECK]
        ev = list(s.scalars(select(Evidence).where(Evidence.verdict_id == v.id)))
        s.expunge_all()
    return v, ev


@pytest.mark.slow
def test_the_cluster_passes_and_its_defective_gateway_fails():
    v, ev = _failover(SPECS / "refpay-cluster.yaml")
    assert v.outcome == "pass", v.detail
    assert "无一丢失" in v.summary and "none lost" in (v.summary_en or "")
    assert {"故障切换时间线", "切换后读回的交易记录"} <= {e.title for e in ev}
    v, _ = _failover(SPECS / "refpay-cluster-defective.yaml")
    assert v.outcome == "fail", v.detail
    assert "样品声明 ≤ 5" in v.summary  # judged against the declared bound


@pytest.mark.slow
def test_one_instance_is_not_applicable():
    v, _ = _failover(SPECS / "refpay.yaml")
    assert v.outcome == "not_applicable" and "单实例" in v.detail


@pytest.mark.slow
@pytest.mark.docker
def test_the_cluster_fails_over_in_containers_too():
    v, _ = _failover(SPECS / "refpay-cluster.yaml", backend="container")
    assert v.outcome == "pass", v.detail
