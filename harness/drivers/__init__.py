"""Drivers: the protocol checks talk to, and the factory that builds one from a spec."""

from __future__ import annotations

import importlib
from typing import Any

from harness.deploy.base import Deployment
from harness.deploy.scope import ScopeGuard
from harness.drivers.base import Call, Driver, DriverError, DriverSession, OperationInfo, SigningInfo
from harness.drivers.http import HttpDriver, ResponseHook, SampleTimeout
from harness.drivers.rest import RestDriverImpl
from harness.spec.model import PythonDriver, RestDriver, SampleSpec


def build_driver(
    spec: SampleSpec, deployment: Deployment, guard: ScopeGuard, on_response: ResponseHook | None = None
) -> Any:
    """The spec's driver on a deployment. A Python driver's class is called as
    ``Class(description, deployment, guard, on_response)`` and must implement ``Driver``."""
    d = spec.driver
    if isinstance(d, RestDriver):
        return RestDriverImpl(d, deployment, guard, on_response)
    assert isinstance(d, PythonDriver)
    module, _, cls = d.entry_point.partition(":")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        raise DriverError(f"driver entry point {d.entry_point!r} cannot be loaded: {e}") from None
    driver = factory(d, deployment, guard, on_response)
    if not isinstance(driver, Driver):
        missing = [m for m in dir(Driver) if not m.startswith("_") and not hasattr(driver, m)]
        raise DriverError(
            f"driver {d.entry_point!r} does not implement the driver protocol: lacks {', '.join(missing)}"
        )
    return driver


__all__ = [
    "Call",
    "Driver",
    "DriverError",
    "DriverSession",
    "HttpDriver",
    "OperationInfo",
    "RestDriverImpl",
    "SampleTimeout",
    "SigningInfo",
    "build_driver",
]
