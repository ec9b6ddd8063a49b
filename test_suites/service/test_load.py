"""JR/T 0199-2020 chapter 6 服务质量: the declared service level, measured under a steady, bounded
load of real operations (logins, account reads, signed transfers from several accounts) at the
declared concurrency."""

import time

import pytest

from harness.checks.service import LAB, SOURCE_EN, SOURCE_ZH, concurrency, failed, judge_sla, reached
from harness.deploy import GUARD
from harness.drivers import DriverError
from harness.policy import setting
from harness.probes.load import Load, LoadPlan, latency_histogram, write_samples
from harness.suite_support import accounts, require_operations


@pytest.mark.clause("6.latency")
def test_service_level_holds_at_the_declared_concurrency(load_driver, spec, params, evidence):
    require_operations(load_driver, "account", "transfer")
    accts = accounts(load_driver, 2)
    p95 = setting(params, "latency_p95_ms")
    p95_source = "declared" if p95.declared else "lab-default"
    users, users_source = concurrency(params.service_level)
    seed = int(time.time())
    load = Load(load_driver, GUARD, accts, LoadPlan(users, LAB.duration_s, seed=seed))
    samples = load.run()
    if not reached(samples):
        raise DriverError(f"the load got no answer from the sample in {LAB.duration_s:g} s: nothing was measured")
    j = judge_sla(
        samples, load.started_at, load.ended_at, float(p95.value), params.service_level, LAB.warm_up_s, p95_source
    )
    if not j.judged:
        raise DriverError("no operation was sent after the warm-up: nothing to judge")

    csv = write_samples(samples, evidence.new_path("负载原始样本", ".csv"), load.started_at)
    evidence.attach_file(csv, "负载原始样本（每次操作一行）", kind="data")
    png = latency_histogram(
        j.judged,
        evidence.new_path("响应时间分布", ".png"),
        declared_p95_ms=float(p95.value),
        measured_p95_ms=j.overall.p95_ms,
        title=f"{spec.sample.name} {spec.sample.version}: {users} users, {j.window_s:.0f} s, {len(j.judged)} ops",
    )
    evidence.attach_file(png, "响应时间分布（直方图）", kind="figure")
    evidence.attach_json(
        "服务水平测量",
        {
            "concurrency": users, "concurrency_source": users_source, "seed": seed,
            "duration_s": LAB.duration_s, "warm_up_s": LAB.warm_up_s, "window_s": round(j.window_s, 3),
            "operations_judged": len(j.judged), "operations_recorded": len(samples),
            "throughput_rps": round(j.throughput_rps, 2), "error_rate": round(j.error_rate, 5),
            "overall": vars(j.overall),
            "by_operation": {op: vars(s) for op, s in j.by_op.items()},
            "figures": [
                {"name": f.name_en or f.name, "measured": round(f.measured, 3), "bound": f.bound,
                 "source": f.source, "ok": f.ok} for f in j.figures
            ],
            "errors": sorted({f"{s.op}: {s.status} {s.error}".strip() for s in j.judged if not s.ok}),
        },
    )  # fmt: skip
    ops_zh = "、".join(f"{op} {s.count} 次" for op, s in j.by_op.items())
    ops_en = ", ".join(f"{s.count} {op}" for op, s in j.by_op.items())
    bad = failed(j.figures)
    evidence.observe(
        f"以 {users} 个并发用户（{SOURCE_ZH[users_source]}）经驱动持续发起登录、账户查询和签名转账 "
        f"{j.window_s:.0f} 秒（前 {LAB.warm_up_s:g} 秒预热不计）：{ops_zh}；"
        + "，".join(f.describe("zh") for f in j.figures)
        + ("；未达标：" + "、".join(f.name for f in bad) if bad else "；均满足"),
        en=f"{users} concurrent users ({SOURCE_EN[users_source]}) sent logins, account reads and signed transfers "
        f"through the driver for {j.window_s:.0f} s (first {LAB.warm_up_s:g} s of warm-up not judged): {ops_en}; "
        + ", ".join(f.describe("en") for f in j.figures)
        + ("; not met: " + ", ".join(f.name_en or f.name for f in bad) if bad else "; all met"),
    )
    assert not bad, "; ".join(f.describe("en") for f in bad)
