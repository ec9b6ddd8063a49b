"""The judging functions of chapters 6 and 7 (harness/checks/service.py) on made-up samples: no
sample, no network, no clock."""

from __future__ import annotations

import math

import pytest

from harness.checks import service as svc
from harness.probes.load import LOGIN, READ, TRANSFER, OpSample
from harness.spec.model import DisasterRecovery, ServiceLevel


def op(op: str, start: float, ms: float, ok: bool = True, status: int | None = 200, ref: str = "") -> OpSample:
    return OpSample(op=op, account="alice", user=0, start=start, end=start + ms / 1000, status=status, ok=ok, ref=ref)


def test_percentile_interpolates_between_closest_ranks():
    xs = [float(x) for x in range(1, 101)]  # 1..100
    assert svc.percentile(xs, 50) == pytest.approx(50.5)
    assert svc.percentile(xs, 95) == pytest.approx(95.05)
    assert svc.percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        svc.percentile([], 95)


def test_sla_is_judged_after_the_warm_up_against_what_is_declared():
    warm = [op(LOGIN, 0.1, 5000)]  # a slow first login, inside the warm-up: recorded, not judged
    steady = [op(READ, 2 + i * 0.01, 50) for i in range(95)] + [op(TRANSFER, 3 + i * 0.01, 400) for i in range(5)]
    j = svc.judge_sla(warm + steady, t0=0.0, t_end=12.0, p95_ms=300, declared=ServiceLevel(), warm_up_s=2.0)
    assert len(j.judged) == 100 and j.window_s == pytest.approx(10.0)
    assert j.throughput_rps == pytest.approx(10.0)
    by_name = {f.name: f for f in j.figures}
    assert by_name["P95"].measured == pytest.approx(50.0 + 0.05 * 350)  # between the 95th and 96th values
    assert by_name["P95"].ok is True and by_name["P95"].source == "declared"
    assert by_name["P99"].ok is None and by_name["P99"].source == "not-declared"  # reported only
    assert by_name["吞吐量"].ok is None
    assert by_name["错误率"].source == "lab-default" and by_name["错误率"].bound == svc.LAB.default_error_rate * 100
    assert svc.failed(j.figures) == []


def test_sla_fails_on_each_declared_figure_it_misses():
    samples = [op(READ, 2 + i * 0.1, 900) for i in range(50)] + [op(READ, 8, 5, ok=False, status=500)] * 2
    declared = ServiceLevel(concurrency=8, p99_ms=800, throughput_rps=20, error_rate=0)
    j = svc.judge_sla(samples, 0.0, 12.0, p95_ms=500, declared=declared, warm_up_s=2.0)
    assert {f.name for f in svc.failed(j.figures)} == {"P95", "P99", "吞吐量", "错误率"}
    assert svc.concurrency(declared) == (8, "declared")
    assert svc.concurrency(ServiceLevel()) == (svc.LAB.default_concurrency, "lab-default")


def test_a_load_that_got_no_answer_never_reached_the_sample():
    assert not svc.reached([op(READ, 1, 3, ok=False, status=None)] * 3)
    assert svc.reached([op(READ, 1, 3, ok=False, status=None), op(READ, 1, 3, ok=False, status=503)])
    # Nothing answered as declared: no latency to speak of, never a pass.
    assert math.isinf(svc.op_stats([op(READ, 1, 3, ok=False, status=500)]).p95_ms)


def test_figures_say_where_their_bound_comes_from():
    f = svc.Figure("P95", 182.46, 800, "declared", "ms")
    assert f.describe("zh") == "P95 182.5 ms（样品声明 ≤ 800.0 ms）"
    assert f.describe("en") == "P95 182.5 ms (declared ≤ 800.0 ms)"
    t = svc.Figure("吞吐量", 62.5, None, "not-declared", "rps", at_least=True, name_en="throughput")
    assert t.describe("en") == "throughput 62.5 ops/s (not declared: reported only)" and t.ok is None
    assert svc.Figure("吞吐量", 9, 10, "declared", "rps", at_least=True).ok is False


def test_acknowledged_transfers_are_those_answered_before_the_kill():
    samples = [
        op(TRANSFER, 1.0, 10, ref="T1"),
        op(TRANSFER, 1.5, 10, ref="T2"),
        op(TRANSFER, 1.9, 200, ref="T3"),  # answered at 2.1, after the kill at 2.0
        op(TRANSFER, 1.2, 10, ok=False, status=400),
        op(READ, 1.0, 10),
    ]
    acks = svc.acknowledged(samples, before=2.0)
    assert [a.ref for a in acks] == ["T1", "T2"]
    history = {"transactions": [{"transfer_id": "T2", "amount": "0.01"}, {"transfer_id": "T0"}], "n": 2}
    gone = svc.lost(acks, svc.leaf_values(history))
    assert [a.ref for a in gone] == ["T1"]
    assert svc.loss_window_s(gone, kill_at=2.0) == pytest.approx(0.99)
    assert svc.loss_window_s([], kill_at=2.0) == 0.0


def test_dr_levels_are_data_with_their_source_and_unverified_until_the_lab_checks_them():
    data = svc.dr_levels()
    assert [lv.level for lv in data.levels] == [1, 2, 3, 4, 5, 6]
    assert not data.verified and not any(lv.verified for lv in data.levels)
    assert "GB/T 20988" in data.source and data.source_en
    rpo = [lv.rpo.max_s for lv in data.levels]
    assert rpo == sorted(rpo, reverse=True) and rpo[-1] == 0  # a higher level never allows more loss
    with pytest.raises(KeyError):
        svc.dr_level(7)


def test_rto_and_rpo_are_judged_against_the_declaration_and_the_level():
    dr = DisasterRecovery(level=5, rto_s=15, rpo_s=0)
    rto = svc.rto_figures(1.2, dr)
    assert [f.ok for f in rto] == [True, True] and rto[1].bound == 172800 and rto[1].source == "dr-level"
    assert [f.ok for f in svc.rto_figures(41.2, dr)] == [False, True]
    assert [f.ok for f in svc.rpo_figures(0.6, dr)] == [False, True]
    assert [f.ok for f in svc.rpo_figures(3600, dr)] == [False, False]  # beyond level 5's 30 minutes
    # Level 2 gives no RTO bound: the declaration alone judges, and the figure says so.
    lv2 = svc.rto_figures(100, DisasterRecovery(level=2, rto_s=43200, rpo_s=3600))
    assert lv2[1].ok is None and "仅记录" in lv2[1].describe("zh")


def test_the_drill_waits_long_enough_to_see_a_missed_rto_but_never_hangs():
    assert svc.drill_window_s(DisasterRecovery(level=5, rto_s=15, rpo_s=0)) == svc.LAB.drill_window_min_s
    assert svc.drill_window_s(DisasterRecovery(level=5, rto_s=40, rpo_s=0)) == 120
    assert svc.drill_window_s(DisasterRecovery(level=2, rto_s=43200, rpo_s=0)) == svc.LAB.drill_window_max_s
