"""JR/T 0199-2020 chapter 7 业务连续性: failover of a sample deployed as several instances behind its
own entry point (``deployment.instances``, ``deployment.entry``).

Under a steady load through the entry point, each operation on a new connection as a new client's
would be, one instance (chosen at random) is killed at a random moment. The load goes on for the
declared failover bound and a few seconds more; the interruption it saw is judged against the bound
(``parameters.service_level.failover_s``, else the lab's default, which the evidence names). The
killed instance is then started again, and every transfer the sample acknowledged, before the kill
or after it, is looked for in the transaction history read back through the driver. It runs after
every other check on its target (``late``).
"""

from __future__ import annotations

import random
import time

import pytest

from harness.checks.failover import LAB, failover_figure, interruption
from harness.checks.service import SOURCE_EN, SOURCE_ZH, acknowledged, concurrency, leaf_values, lost, reached
from harness.deploy import GUARD
from harness.deploy.base import NotServing
from harness.drivers import DriverError, build_driver
from harness.errors import LabError
from harness.policy import setting
from harness.probes.load import Load, LoadPlan, write_samples
from harness.suite_support import accepted, accounts, require_operations
from harness.verdicts import not_applicable


@pytest.mark.clause("7.dr.failover")
# Last on its target: while an instance is down, no other check's request (the idle-session clock's
# control, running in the background) may meet the failover, nor the load slow it down.
@pytest.mark.late(6)
def test_one_instance_failing_interrupts_clients_no_longer_than_declared(deployment, spec, params, evidence):
    declared = spec.deployment.instances
    if declared < 2:
        not_applicable(
            "样品声明单实例部署（deployment.instances 为 1），没有可接替的实例，不涉及故障切换",
            en="the sample declares a single-instance deployment (deployment.instances is 1): no instance can take "
            "over, so failover does not apply",
        )
    running = deployment.instance_count()
    if running != declared:
        raise LabError(
            f"the sample declares {declared} instances but the {deployment.target.backend} backend runs {running}"
        )
    driver = build_driver(spec, deployment, GUARD)  # no transcript: thousands of operations
    require_operations(driver, "account", "transfer", "history")
    accts = accounts(driver, 2)
    bound = setting(params.service_level, "failover_s")
    users, users_source = concurrency(params.service_level)
    seed = int(time.time())
    rng = random.Random(seed)
    victim = rng.randrange(declared)
    wanted = rng.randint(*LAB.acks_before_kill)
    observe_s = float(bound.value) + LAB.tail_s
    plan = LoadPlan(users, LAB.reach_s + observe_s + 5, seed=seed, fresh_connections=True)
    load = Load(driver, GUARD, accts, plan)

    load.start()
    t0 = load.started_at
    kill_at = observed_until = 0.0
    restored_s: float | None = None
    try:
        while time.monotonic() - t0 < LAB.reach_s:
            now = time.monotonic()
            if now - t0 >= LAB.warm_up_s and len(acknowledged(load.snapshot(), now)) >= wanted:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))  # the random moment: wherever the load is by then
        before = load.snapshot()
        if not reached(before) or not any(s.ok for s in before):
            raise DriverError(f"the load got no accepted operation in {LAB.reach_s:g} s: no failover was drilled")
        kill_at = time.monotonic()
        deployment.kill_instance(victim)
        time.sleep(max(0.0, kill_at + observe_s - time.monotonic()))
        observed_until = time.monotonic()
    finally:
        samples = load.stop()
        if kill_at:
            # Leave the deployment as declared for the checks after this one (and for the read-back).
            try:
                restored_s = deployment.restart_instance(victim, LAB.restore_s)
            except NotServing as e:
                raise LabError(f"the killed instance {victim} did not serve again: {str(e).splitlines()[0]}") from None

    seen = interruption(samples, kill_at, observed_until)
    acks = acknowledged(samples, float("inf"))  # before the kill and after it
    found: set[str] = set()
    history = {}
    for a in accts:
        s = driver.session(a)
        r = driver.call("history", s)
        if not accepted(driver, "history", r):
            raise DriverError(f"the history of {a.name} cannot be read after the failover: {r.status_code}")
        history[a.name] = r.json()
        found |= leaf_values(history[a.name])
    missing = lost(acks, found)

    csv = write_samples(samples, evidence.new_path("切换负载原始样本", ".csv"), t0)
    evidence.attach_file(csv, "故障切换负载原始样本（每次操作一行）", kind="data")
    evidence.attach_json(
        "故障切换时间线",
        {
            "seed": seed, "instances": declared, "killed_instance": victim, "users": users,
            "users_source": users_source, "fresh_connection_per_operation": True,
            "kill_at_s": round(kill_at - t0, 3), "acknowledged_before_kill": len(acknowledged(samples, kill_at)),
            "bound_s": bound.value, "bound_source": bound.source_en(),
            **seen.as_dict(),
            "killed_instance_serving_again_s": None if restored_s is None else round(restored_s, 3),
            "acknowledged_transfers": len(acks),
            "lost": [{"transfer_id": s.ref, "from": s.account, "to": s.to_account} for s in missing],
        },
    )  # fmt: skip
    evidence.attach_json("切换后读回的交易记录", history)
    figure = failover_figure(seen.seconds, bound)
    basis = "" if bound.declared else f"（{bound.source_zh()}）"
    basis_en = "" if bound.declared else f" ({bound.source_en()})"
    cut = "（观察结束时仍未恢复）" if seen.lasted_to_the_end else ""
    cut_en = " (still going on when the observation ended)" if seen.lasted_to_the_end else ""
    lost_zh = f"丢失 {len(missing)} 笔（{'、'.join(s.ref for s in missing[:10])}）" if missing else "无一丢失"
    lost_en = f"{len(missing)} lost ({', '.join(s.ref for s in missing[:10])})" if missing else "none lost"
    evidence.observe(
        f"{declared} 个实例经样品入口服务，{users} 个并发用户（{SOURCE_ZH[users_source]}，每次操作新建连接）"
        f"持续登录、查询和转账；第 {kill_at - t0:.2f} 秒强制终止实例 {victim}，其后观察 {observe_s:g} 秒："
        f"失败操作 {len(seen.failed)} 个，成功操作 {seen.succeeded} 个，最长无成功间隔 {seen.longest_gap_s:.2f} 秒，"
        f"{figure.describe('zh')}{cut}{basis}；已确认转账 {len(acks)} 笔，经驱动读回核对：{lost_zh}",
        en=f"{declared} instances served through the sample's entry point; {users} concurrent users "
        f"({SOURCE_EN[users_source]}, a new connection per operation) logged in, read and transferred; instance "
        f"{victim} was killed at {kill_at - t0:.2f} s and the load observed for {observe_s:g} s more: "
        f"{len(seen.failed)} operations failed, {seen.succeeded} succeeded, the longest stretch without a success "
        f"was {seen.longest_gap_s:.2f} s, {figure.describe('en')}{cut_en}{basis_en}; "
        f"{len(acks)} acknowledged transfers checked against the history read back through the driver: {lost_en}",
    )
    assert figure.ok, f"clients saw the service interrupted for {figure.describe('en')}{cut_en}"
    assert not missing, f"{len(missing)} acknowledged transfers lost in the failover"
