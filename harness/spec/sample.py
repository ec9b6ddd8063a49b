"""Who submitted the sample and what it is: the parties, the sample's identity, its media, the
terminal hardware models it runs on, and its documentation.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.spec.fields import NonEmpty, Sha256, Strict


class Contact(Strict):
    name: NonEmpty
    phone: str | None = None
    email: str | None = None


class Party(Strict):
    name: NonEmpty
    address: str | None = None
    contact: Contact


class CertificationUnit(Strict):
    """The unit named in the certification application (rule 001 §5.2.1)."""

    product_name: NonEmpty
    model: NonEmpty
    version: NonEmpty


class SampleIdentity(Strict):
    name: NonEmpty
    version: NonEmpty
    kind: Literal["software", "image", "package"] = "software"
    condition: str = "完好，可正常安装运行"


class MediaLabel(Strict):
    """What rule 001 §8.1.2 asks the media to be labelled with."""

    product_name: NonEmpty
    version: NonEmpty
    producer: NonEmpty
    contact: NonEmpty


class Media(Strict):
    path: NonEmpty  # relative to the spec file; a file or a directory (tree hash)
    sha256: Sha256
    role: Literal["source", "package", "image", "build-context", "document", "other"] = "source"
    label: MediaLabel | None = None


class HardwareModel(Strict):
    """One line of the hardware list (rule 001 §8.1.1-8.1.2)."""

    model: NonEmpty
    configuration: NonEmpty
    units: int = Field(ge=1)
    os: NonEmpty
    base_software: list[str] = []


class UseCase(Strict):
    id: NonEmpty
    title: NonEmpty
    section: NonEmpty  # where the documentation describes it
    scenario: str | None = None  # feature file, relative to the spec
    no_scenario_reason: str | None = None


class Documentation(Strict):
    """User documentation items rule 001 §8.1.2 asks for; each a path relative to the spec."""

    environment_requirements: NonEmpty
    scope: NonEmpty
    install_guide: NonEmpty
    operating_instructions: NonEmpty
    use_cases_document: NonEmpty
    use_cases: list[UseCase] = Field(min_length=1)
    openapi: str | None = None
