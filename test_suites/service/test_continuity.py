"""JR/T 0199-2020 chapter 7 业务连续性 and its annex (DR levels): one crash drill per target, judged
twice. Under load the sample is killed at a random moment (SIGKILL to its process group, or
``docker kill``), started again by its declared start step on the data it kept, and timed until it
accepts a login and a transfer again (RTO); then every transfer it acknowledged before the kill is
looked for in the transaction history, read back through the driver (durability, RPO).

The marker transfer that proves the sample serves again is also the newest entry of the history
when it is read back, so the drill's own transfers are read from the body of the history, not its
head."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import requests

from harness.checks.service import (
    LAB,
    acknowledged,
    concurrency,
    dr_levels,
    drill_window_s,
    failed,
    leaf_values,
    loss_window_s,
    lost,
    reached,
    rpo_figures,
    rto_figures,
)
from harness.checks.transaction import transfer_call
from harness.deploy import GUARD, Deployment
from harness.deploy.base import NotServing
from harness.drivers import DriverError, build_driver
from harness.probes.load import TRANSFER, Load, LoadPlan, OpSample, write_samples
from harness.suite_support import accepted, accounts, require_operations
from harness.verdicts import needs_review

MARKER_AMOUNT = Decimal("0.01")


@dataclass
class Drill:
    seed: int
    target_acks: int
    window_s: float
    t0: float = 0.0
    kill_at: float = 0.0
    samples: list[OpSample] = field(default_factory=list)
    acks: list[OpSample] = field(default_factory=list)
    healthy_after_s: float | None = None  # from the restart to the health check passing
    served_at: float | None = None  # first login + transfer accepted after the kill
    marker: str = ""
    not_serving: str = ""  # why the sample did not serve again within the window
    history: dict[str, Any] = field(default_factory=dict)  # account name -> the history answer
    lost: list[OpSample] = field(default_factory=list)

    @property
    def rto_s(self) -> float | None:
        return None if self.served_at is None else self.served_at - self.kill_at

    def timeline(self) -> dict[str, Any]:
        def rel(x: float | None) -> float | None:
            return None if x is None else round(x, 3)

        return {
            "seed": self.seed,
            "acknowledged_transfers_wanted_before_kill": self.target_acks,
            "wait_window_s": self.window_s,
            "kill_at_s": rel(self.kill_at - self.t0),
            "operations_before_kill": sum(s.end <= self.kill_at for s in self.samples),
            "acknowledged_transfers_before_kill": len(self.acks),
            "health_check_passed_after_restart_s": rel(self.healthy_after_s),
            "served_again_s_after_kill": rel(self.rto_s),
            "marker_transfer": self.marker,
            "not_serving": self.not_serving,
            "lost": [_ack(s, self.kill_at) for s in self.lost],
        }


def _ack(s: OpSample, kill_at: float) -> dict[str, Any]:
    return {
        "transfer_id": s.ref,
        "from": s.account,
        "to": s.to_account,
        "acknowledged_s_before_kill": round(kill_at - s.end, 3),
    }


@pytest.fixture(scope="module")
def crash_drill(deployment: Deployment, spec: Any, params: Any) -> Drill:
    driver = build_driver(spec, deployment, GUARD)
    require_operations(driver, "account", "transfer", "history")
    accts = accounts(driver, 2)
    seed = int(time.time())
    rng = random.Random(seed)
    d = Drill(seed=seed, target_acks=rng.randint(*LAB.drill_transfers), window_s=drill_window_s(params.dr))
    users, _ = concurrency(params.service_level)
    load = Load(driver, GUARD, accts, LoadPlan(users, LAB.drill_reach_s + d.window_s, seed=seed))
    load.start()
    d.t0 = load.started_at
    try:
        while time.monotonic() - d.t0 < LAB.drill_reach_s:
            if len(acknowledged(load.snapshot(), time.monotonic())) >= d.target_acks:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))  # the random moment: wherever the load is by then
        if not reached(load.snapshot()):
            raise DriverError(f"the load got no answer from the sample in {LAB.drill_reach_s:g} s: no drill was made")
        d.kill_at = time.monotonic()
        deployment.kill()
    finally:
        d.samples = load.stop()
    d.acks = acknowledged(d.samples, d.kill_at)

    try:
        d.healthy_after_s = deployment.restart(max(1.0, d.kill_at + d.window_s - time.monotonic()))
    except NotServing as e:
        d.not_serving = str(e).splitlines()[0]
        return d
    d.marker = _served_again(driver, accts, d)
    if d.not_serving:
        return d
    found: set[str] = set()
    for a in accts:
        s = driver.session(a)
        r = driver.call("history", s)
        if not accepted(driver, "history", r):
            raise DriverError(f"the history of {a.name} cannot be read after the restart: {r.status_code}")
        d.history[a.name] = r.json()
        found |= leaf_values(d.history[a.name])
    d.lost = lost(d.acks, found)
    return d


def _served_again(driver: Any, accts: list[Any], d: Drill) -> str:
    """Log in and transfer until both are accepted; the time of that is when it serves again."""
    payer, payee = accts
    last = "no attempt"
    while time.monotonic() < d.kill_at + d.window_s:
        try:
            s = driver.session(payer)
            r = driver.send(transfer_call(driver, s, payee, MARKER_AMOUNT), s)
            if accepted(driver, TRANSFER, r):
                d.served_at = time.monotonic()
                return str(driver.returned(r, TRANSFER, "transfer_id"))
            last = f"transfer answered {r.status_code}"
        except (DriverError, requests.RequestException) as e:
            last = str(e).splitlines()[0][:160]
        time.sleep(0.2)
    d.not_serving = f"healthy, but no login and transfer accepted within {d.window_s:g} s of the kill ({last})"
    return ""


def _attach(evidence: Any, d: Drill) -> None:
    csv = write_samples(d.samples, evidence.new_path("演练负载原始样本", ".csv"), d.t0)
    evidence.attach_file(csv, "演练负载原始样本（每次操作一行）", kind="data")
    evidence.attach_json("崩溃演练时间线", d.timeline())


def _level_note(lang: str) -> str:
    data = dr_levels()
    return data.source if lang == "zh" else data.source_en


@pytest.mark.clause("7.dr.recovery", "A.dr.level")
def test_service_returns_within_the_declared_rto(crash_drill, params, evidence):
    d = crash_drill
    _attach(evidence, d)
    kill_zh = (
        f"负载下（终止前已确认转账 {len(d.acks)} 笔）于第 {d.kill_at - d.t0:.2f} 秒强制终止样品，按声明的启动步骤重启"
    )
    kill_en = (
        f"killed the sample under load at {d.kill_at - d.t0:.2f} s ({len(d.acks)} transfers acknowledged before), "
        "restarted it by its declared start step"
    )
    declared = f"声明 RTO ≤ {params.dr.rto_s:g} 秒" if params.dr else "样品未声明容灾等级与 RTO"
    declared_en = f"declared RTO ≤ {params.dr.rto_s:g} s" if params.dr else "no DR level or RTO declared"
    if d.rto_s is None:
        evidence.observe(
            f"{kill_zh}，{d.window_s:g} 秒内未恢复受理登录和转账；{declared}",
            en=f"{kill_en}; it did not accept a login and a transfer again within {d.window_s:g} s; {declared_en}",
        )
        raise AssertionError(f"not serving again within {d.window_s:g} s of the kill: {d.not_serving}")
    figures = rto_figures(d.rto_s, params.dr)
    bad = failed(figures)
    evidence.observe(
        f"{kill_zh}，健康检查于重启后 {d.healthy_after_s:.2f} 秒通过，终止后 {d.rto_s:.2f} 秒再次受理登录和转账："
        + "，".join(f.describe("zh") for f in figures)
        + f"（等级指标依据：{_level_note('zh')}）",
        en=f"{kill_en}; its health check passed {d.healthy_after_s:.2f} s after the restart and it accepted a "
        f"login and a transfer again {d.rto_s:.2f} s after the kill: "
        + ", ".join(f.describe("en") for f in figures)
        + f" (level bounds from {_level_note('en')})",
    )
    assert not bad, "; ".join(f.describe("en") for f in bad)
    if params.dr is None:
        needs_review(
            "样品未声明容灾等级与 RTO：由检测工程师依据实测恢复时间与产品文档判定",
            en="the sample declares no disaster-recovery level and RTO: a test engineer judges by the measured "
            "recovery time and the product documentation",
        )


@pytest.mark.clause("7.dr.recovery", "A.dr.level")
def test_acknowledged_transfers_survive_a_crash(crash_drill, params, evidence):
    d = crash_drill
    _attach(evidence, d)
    if d.not_serving:
        raise DriverError(f"the sample did not serve again, so what it kept cannot be read back: {d.not_serving}")
    if not d.acks:
        raise DriverError("no transfer was acknowledged before the kill: nothing to look for afterwards")
    evidence.attach_json("恢复后读回的交易记录", d.history)
    window = loss_window_s(d.lost, d.kill_at)
    figures = rpo_figures(window, params.dr)
    names = "、".join(s.ref for s in d.lost[:10]) + (f" 等 {len(d.lost)} 笔" if len(d.lost) > 10 else "")
    names_en = ", ".join(s.ref for s in d.lost[:10]) + (f" and {len(d.lost) - 10} more" if len(d.lost) > 10 else "")
    lost_zh = f"丢失 {len(d.lost)} 笔（{names}），最早一笔在终止前 {window:.2f} 秒已确认" if d.lost else "无一丢失"
    lost_en = (
        f"{len(d.lost)} lost ({names_en}), the oldest acknowledged {window:.2f} s before the kill"
        if d.lost
        else "none lost"
    )
    evidence.observe(
        f"终止前样品已确认 {len(d.acks)} 笔转账；重启后经驱动读回 {len(d.history)} 个账户的交易记录核对：{lost_zh}；"
        + "，".join(f.describe("zh") for f in figures),
        en=f"the sample had acknowledged {len(d.acks)} transfers before the kill; read back through the driver from "
        f"the history of {len(d.history)} accounts after the restart: {lost_en}; "
        + ", ".join(f.describe("en") for f in figures),
    )
    assert not d.lost, f"{len(d.lost)} acknowledged transfers lost by the crash: {names_en}"
    bad = failed(figures)
    assert not bad, "; ".join(f.describe("en") for f in bad)
    if params.dr is None:
        needs_review(
            "样品未声明容灾等级与 RPO：由检测工程师依据演练结果与产品文档判定",
            en="the sample declares no disaster-recovery level and RPO: a test engineer judges by the drill's "
            "results and the product documentation",
        )
