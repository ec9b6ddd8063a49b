"""Service quality and continuity checks drive the sample hard: they talk to it through a driver
of their own that keeps no HTTP transcript (thousands of operations would bury it); the raw samples
file and the figures are their record."""

from typing import Any

import pytest

from harness.deploy import GUARD, Deployment
from harness.drivers import build_driver


@pytest.fixture
def load_driver(spec: Any, deployment: Deployment) -> Any:
    return build_driver(spec, deployment, GUARD)
