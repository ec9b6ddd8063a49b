"""What a use-case scenario costs per step, against the same requests sent bare.

Deploys the reference sample (process backend), then runs one scenario — log in, view the
account, keep the balance, transfer, check success, view the account, check the balance moved,
read the history, check its first row: 9 steps, 5 requests — N times as a pytest-bdd scenario
outline through the step library (with the functional suite's transcript hooks and an evidence
recorder, as in a real run), and N times as the same five requests through the driver with plain
Python checks and no evidence.

    python benchmarks/bench_steps.py [--rounds 20]

Prints the medians and the overhead per step: (scenario - bare) / steps.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import textwrap
import time
import types
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

import pytest  # noqa: E402

from harness.deploy import GUARD, Target, deployer_for  # noqa: E402
from harness.drivers.rest import RestDriverImpl  # noqa: E402
from harness.spec import load_spec  # noqa: E402

STEPS_PER_SCENARIO = 9
AMOUNT = "0.01"

FEATURE = """# language: zh-CN
功能: 基准
  场景大纲: 转账与交易记录
    假如 以测试账户“alice”登录
    而且 查看账户
    而且 记下应答字段“balance”为“转账前余额”
    当 向测试账户“bob”转账“<金额>”元
    那么 操作成功
    当 查看账户
    那么 应答字段“balance”比记下的“转账前余额”少“<金额>”
    当 查看交易记录
    那么 应答字段“items”的第一项中“amount”为“<金额>”

    例子:
      | 金额 |
{rows}
"""

TEST_MODULE = """
import pytest
from pytest_bdd import scenarios

import _bench_ctx as ctx
from harness.deploy import GUARD
from harness.drivers.rest import RestDriverImpl
from harness.evidence import EvidenceRecorder


@pytest.fixture
def spec():
    return ctx.spec


@pytest.fixture
def evidence(request):
    return EvidenceRecorder(run_dir=ctx.run_dir, check_id=request.node.nodeid, model="bench")


@pytest.fixture
def driver(evidence):
    return RestDriverImpl(ctx.spec.driver, ctx.deployment, GUARD, on_response=lambda r, n: evidence.http(r, n))


scenarios("bench.feature")
"""


def _functional_conftest() -> types.ModuleType:
    path = ROOT / "test_suites" / "functional" / "conftest.py"
    spec = importlib.util.spec_from_file_location("functional_conftest_bench", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Durations:
    def __init__(self) -> None:
        self.per_test: dict[str, float] = {}
        self.failed: list[str] = []

    def pytest_runtest_logreport(self, report: Any) -> None:
        self.per_test[report.nodeid] = self.per_test.get(report.nodeid, 0.0) + report.duration
        if report.failed:
            self.failed.append(f"{report.nodeid} {report.when}: {str(report.longrepr)[-400:]}")


def scenario_times(rounds: int, spec: Any, dep: Any, work: Path) -> list[float]:
    ctx = types.ModuleType("_bench_ctx")
    ctx.spec, ctx.deployment, ctx.run_dir = spec, dep, work / "run"  # type: ignore[attr-defined]
    sys.modules["_bench_ctx"] = ctx
    tests = work / "tests"
    tests.mkdir()
    rows = "\n".join(f"      | {AMOUNT} |" for _ in range(rounds))
    (tests / "bench.feature").write_text(FEATURE.format(rows=rows), encoding="utf-8")
    (tests / "test_bench.py").write_text(textwrap.dedent(TEST_MODULE), encoding="utf-8")
    d = Durations()
    rc = pytest.main(
        [str(tests), "-q", "-p", "no:cacheprovider", "-p", "no:randomly", f"--rootdir={tests}", "--no-header"],
        plugins=[_functional_conftest(), d],
    )
    if rc != 0 or d.failed:
        raise SystemExit("scenario run failed:\n" + "\n".join(d.failed))
    return list(d.per_test.values())


def bare_times(rounds: int, spec: Any, dep: Any) -> list[float]:
    driver = RestDriverImpl(spec.driver, dep, GUARD)  # no transcript, no pytest, no step library
    alice, bob = spec.account("alice"), spec.account("bob")
    out = []
    for _ in range(rounds):
        t = time.perf_counter()
        s = driver.session(alice)
        acct = driver.call("account", s, account_id=alice.account_id)
        before = Decimal(str(driver.returned(acct, "account", "balance")))
        r = driver.call("transfer", s, to_account=bob.account_id, amount=AMOUNT)
        assert r.status_code == driver.operation("transfer").expect_status, r.text
        after = driver.returned(driver.call("account", s, account_id=alice.account_id), "account", "balance")
        assert Decimal(str(after)) == before - Decimal(AMOUNT)
        items = driver.returned(driver.call("history", s, account_id=alice.account_id), "history", "items")
        assert items[0]["amount"] == AMOUNT
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    loaded = load_spec(ROOT / "sample_specs" / "refpay.yaml")
    spec = loaded.spec
    with tempfile.TemporaryDirectory(prefix="bench-steps-") as tmp:
        work = Path(tmp)
        deployer = deployer_for("process")
        dep = deployer.deploy(loaded, Target(model="process", backend="process"), work / "deploy")
        GUARD.allow_deployment(dep)
        try:
            bare_times(2, spec, dep)  # warm-up: connections, first-login costs
            # Bare rounds before and after the scenarios, so drift in the sample's latency evens out.
            bare = bare_times(args.rounds, spec, dep)
            scen = scenario_times(args.rounds, spec, dep, work)
            bare += bare_times(args.rounds, spec, dep)
        finally:
            GUARD.revoke_deployment(dep)
            deployer.teardown(dep)
    mb, ms = statistics.median(bare), statistics.median(scen)
    per_step = (ms - mb) / STEPS_PER_SCENARIO
    print(f"\nrounds: {args.rounds} (bare: {len(bare)}); scenario: {STEPS_PER_SCENARIO} steps, 5 requests")
    print(f"bare requests through the driver (no evidence) : median {mb * 1000:8.1f} ms per round")
    print(f"scenario through the step library (+ evidence) : median {ms * 1000:8.1f} ms per round")
    print(
        f"overhead                                        : {(ms - mb) * 1000:8.1f} ms per scenario, "
        f"{per_step * 1000:.2f} ms per step"
    )


if __name__ == "__main__":
    main()
