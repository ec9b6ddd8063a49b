"""Service quality and continuity checks drive the sample hard: they talk to it through a driver
of their own that keeps no HTTP transcript (thousands of operations would bury it); the raw samples
file and the figures are their record."""

from typing import Any

import pytest

from harness.checks.transaction import order_late
from harness.deploy import GUARD, Deployment
from harness.drivers import build_driver


@pytest.fixture
def load_driver(spec: Any, deployment: Deployment) -> Any:
    return build_driver(spec, deployment, GUARD)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "late(rank): run after the target's other checks (higher rank later)")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The crash drill restarts the sample, and a restarted sample may forget every session: it runs
    first, before any other check (or the transaction suite's idle-session clock, which starts once
    the first check on a target is set up) has opened one."""
    drill = [i for i in items if i.path.name == "test_continuity.py" and i.path.parent.name == "service"]
    for item in drill:
        items.remove(item)
    items[:0] = drill
    # The failover drill (late) runs after the target's other checks, as the other suites order theirs.
    order_late(items)
