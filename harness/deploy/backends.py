"""Imports every backend module so each registers itself. A new backend is one file and one line."""

from harness.deploy import (
    container,  # noqa: F401
    process,  # noqa: F401
    terminal,  # noqa: F401
)
from harness.deploy.base import Deployer, registered


def deployer_for(backend: str) -> Deployer:
    # Backends import their heavy libraries (docker, paramiko) lazily, on first use.
    return registered(backend)
