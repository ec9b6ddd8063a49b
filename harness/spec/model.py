"""The sample spec: what an applicant submitted and how the lab drives it.

One YAML file per submitted sample (``sample_specs/``). The field names here are the
format labs write: extend, never rename.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from harness.spec.auth import ACCOUNT_FIELDS, Account, AuthScheme, CsrfToken, Signing, SigningExample
from harness.spec.deployment import ContainerSource, Deployment, HealthCheck, PortDecl, Resources, Service, Step
from harness.spec.driver import FlowStep, ObjectKind, Provisioning, ProvisionStep, PythonDriver, RestDriver
from harness.spec.fields import (
    EnvName,
    NonEmpty,
    PackageRequirement,
    SamplePath,
    Sha256,
    Strict,
    TrueFalse,
    check_package_requirement,
)
from harness.spec.operations import (
    AmountEncoding,
    HttpMethod,
    LoginOperation,
    Operation,
    OperationKind,
    OperationRole,
    Success,
)
from harness.spec.parameters import Applicability, DisasterRecovery, Limits, Parameters, ServiceLevel
from harness.spec.sample import (
    CertificationUnit,
    Contact,
    Documentation,
    HardwareModel,
    Media,
    MediaLabel,
    Party,
    SampleIdentity,
    UseCase,
)

# The spec's parts live in the modules above; everything stays importable from here.
__all__ = [
    "ACCOUNT_FIELDS",
    "Account",
    "AmountEncoding",
    "Applicability",
    "AuthScheme",
    "CertificationUnit",
    "Contact",
    "ContainerSource",
    "CsrfToken",
    "Deployment",
    "DisasterRecovery",
    "Documentation",
    "EnvName",
    "FlowStep",
    "HardwareModel",
    "HealthCheck",
    "HttpMethod",
    "Limits",
    "LoginOperation",
    "Media",
    "MediaLabel",
    "NonEmpty",
    "ObjectKind",
    "Operation",
    "OperationKind",
    "OperationRole",
    "PackageRequirement",
    "Parameters",
    "Party",
    "PortDecl",
    "ProvisionStep",
    "Provisioning",
    "PythonDriver",
    "Resources",
    "RestDriver",
    "SampleIdentity",
    "SamplePath",
    "SampleSpec",
    "Service",
    "ServiceLevel",
    "Sha256",
    "Signing",
    "SigningExample",
    "Step",
    "Strict",
    "Success",
    "TrueFalse",
    "UseCase",
    "check_package_requirement",
]


class SampleSpec(Strict):
    spec_version: Literal[1] = 1
    applicant: Party
    producer: Party
    certification_unit: CertificationUnit
    sample: SampleIdentity
    basis: list[NonEmpty] = ["JR/T 0199-2020"]
    media: list[Media] = Field(min_length=1)
    hardware: list[HardwareModel] = []
    deployment: Deployment
    documentation: Documentation
    driver: Annotated[RestDriver | PythonDriver, Field(discriminator="kind")]
    parameters: Parameters = Parameters()
    # Clause or chapter ID -> applicability; a chapter entry covers its items.
    applicability: dict[str, Applicability] = {}

    @field_validator("hardware")
    @classmethod
    def _unique_models(cls, v: list[HardwareModel]) -> list[HardwareModel]:
        models = [h.model for h in v]
        if len(set(models)) != len(models):
            raise ValueError("each terminal model appears once in the hardware list")
        return v

    def account(self, name: str) -> Account:
        for a in self.driver.accounts:
            if a.name == name:
                return a
        raise KeyError(f"no test account named {name!r} in the spec")
