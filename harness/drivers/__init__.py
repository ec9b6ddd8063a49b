"""Drivers: the protocol checks talk to, and the factory that builds one from a spec."""

from __future__ import annotations

import importlib
from typing import Any

from harness.deploy.base import Deployment
from harness.deploy.scope import ScopeGuard
from harness.drivers.base import Call, Driver, DriverError, DriverSession
from harness.drivers.rest import ResponseHook, RestDriverImpl
from harness.spec.model import PythonDriver, RestDriver, SampleSpec


def build_driver(
    spec: SampleSpec, deployment: Deployment, guard: ScopeGuard, on_response: ResponseHook | None = None
) -> Any:
    d = spec.driver
    if isinstance(d, RestDriver):
        return RestDriverImpl(d, deployment, guard, on_response)
    assert isinstance(d, PythonDriver)
    module, _, cls = d.entry_point.partition(":")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as e:
        raise DriverError(f"driver entry point {d.entry_point!r} cannot be loaded: {e}") from None
    return factory(d, deployment, guard, on_response)


__all__ = ["Call", "Driver", "DriverError", "DriverSession", "RestDriverImpl", "build_driver"]
