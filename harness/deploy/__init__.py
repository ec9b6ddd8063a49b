"""Deployers: one interface, one module per backend, the lab inventory and the scope guard."""

from harness.deploy.backends import deployer_for
from harness.deploy.base import Deployer, DeployError, Deployment, SampleDied, Target, register
from harness.deploy.scope import GUARD, OutOfScope, ScopeGuard

__all__ = [
    "GUARD",
    "DeployError",
    "Deployer",
    "Deployment",
    "OutOfScope",
    "SampleDied",
    "ScopeGuard",
    "Target",
    "deployer_for",
    "register",
]
