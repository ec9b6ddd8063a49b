"""Chapter 5 (交易安全) suite plumbing: the ``late(rank)`` order and the idle-session clock.

Waiting checks overlap with everything else. The clock opens its idle sessions as soon as any check
(of any suite) has brought the target up, and the expiry check is ``late``: it runs after every
other check on that target and only waits for what remains of the declared idle time. The
daily-limit check is ``late`` too: it uses up the day's limit of the ordinary accounts, so nothing
that needs to move money may follow it.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from harness.checks.transaction import IdleClock, expiry_margin, order_late
from harness.deploy import GUARD
from harness.drivers import build_driver
from harness.policy import setting
from harness.pytest_plugin import clause_ids
from harness.spec import SpecError, load_spec
from harness.suite_support import usable_accounts

EXPIRY_CLAUSE = "5.session.expiry"


def _model(item: pytest.Item) -> Any:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("deployment") if callspec is not None else None
    return getattr(target, "model", None)


class ClockKeeper:
    """A session-wide plugin: one idle clock per target, started right after the first check that
    deployed it (whatever its suite), when an expiry check on that target is going to run."""

    def __init__(self) -> None:
        self.clocks: dict[Any, IdleClock | None] = {}

    def clock_for(self, spec: Any, deployment: Any) -> IdleClock | None:
        model = deployment.target.model
        if model not in self.clocks:
            self.clocks[model] = self._start(spec, deployment)
        return self.clocks[model]

    @staticmethod
    def _start(spec: Any, deployment: Any) -> IdleClock | None:
        timeout = setting(spec.parameters, "session_idle_timeout_s").value
        if timeout is None:
            return None
        clock = IdleClock(account=None, timeout_s=float(timeout), margin_s=expiry_margin(float(timeout)))  # type: ignore[arg-type]
        try:
            driver = build_driver(spec, deployment, GUARD, on_response=clock.record)
            accts = usable_accounts(driver)
            if not accts or not driver.can_login():
                return None
            clock.account = accts[-1]  # the last ordinary account: the one other checks use least
            clock.start(driver)
        except Exception as e:  # noqa: BLE001 - never break another suite's check; the expiry check reports it
            clock.problem = f"{type(e).__name__}: {e}"
        return clock

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        result = yield  # raises when the check's setup failed: nothing to start then
        funcargs = getattr(item, "funcargs", {})
        deployment, loaded = funcargs.get("deployment"), funcargs.get("sample_spec")
        if deployment is not None and loaded is not None and deployment.target.model not in self.clocks:
            model = deployment.target.model
            if any(EXPIRY_CLAUSE in clause_ids(i) and _model(i) == model for i in item.session.items):
                self.clock_for(loaded.spec, deployment)
        return result

    def pytest_sessionfinish(self) -> None:
        for clock in self.clocks.values():
            if clock is not None:
                clock.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "late(rank): run after the target's other checks (higher rank later)")
    if not config.pluginmanager.has_plugin("transaction-idle-clock"):
        config.pluginmanager.register(ClockKeeper(), "transaction-idle-clock")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    order_late(items)
    # The expiry check may wait up to the declared idle time: give it that on top of the usual timeout.
    spec_path = config.getoption("--sample-spec", None)
    expiry = [i for i in items if EXPIRY_CLAUSE in clause_ids(i)]
    if spec_path and expiry:
        try:
            idle = setting(load_spec(spec_path).spec.parameters, "session_idle_timeout_s").value
        except SpecError:
            return
        if idle is None:
            return
        idle = float(idle)
        for item in expiry:
            item.add_marker(pytest.mark.timeout(idle + expiry_margin(idle) + 300))


@pytest.fixture
def idle_clock(request: pytest.FixtureRequest, spec: Any, deployment: Any) -> IdleClock | None:
    """The target's clock (started now if no earlier check started it)."""
    keeper = request.config.pluginmanager.get_plugin("transaction-idle-clock")
    assert isinstance(keeper, ClockKeeper)
    return keeper.clock_for(spec, deployment)
