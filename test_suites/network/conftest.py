"""Shared fixtures of the network suite: one detailed sslyze scan per TLS port and deployment,
reused by the protocol, cipher and certificate checks (each attaches the same JSON as evidence)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.checks.network import client_host_name
from harness.checks.transaction import order_late
from harness.deploy import GUARD
from harness.probes import tls

_CACHE: dict[tuple[int, str, int], tls.TlsScan] = {}


@pytest.fixture
def tls_scan(deployment: Any, spec: Any) -> Callable[[int], tls.TlsScan]:
    name = client_host_name(spec, deployment)

    def get(port: int) -> tls.TlsScan:
        key = (id(deployment), deployment.host, port)
        if key not in _CACHE:
            _CACHE[key] = tls.scan(deployment.host, port, GUARD, details=True, server_name=name)
        return _CACHE[key]

    return get


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "late(rank): run after the target's other checks (higher rank later)")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The crafted-input check may leave a sample busy for seconds: it runs after the target's other
    # checks (the transaction suite orders the same way when it is collected too).
    order_late(items)
