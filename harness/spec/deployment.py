"""How the lab deploys the sample: install and start steps, ports, health check, resources, the
container source and the services it needs.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from harness.spec.fields import EnvName, NonEmpty, PackageRequirement, SamplePath, Strict


class Step(Strict):
    run: NonEmpty  # a shell command; {placeholders} are filled by the deployer
    timeout_s: float = Field(default=120, gt=0, le=86400)


class PortDecl(Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    tls: bool = False
    # The product cannot be told this port: it always listens on `port`. A local process then gets
    # exactly that port (so two such products need `isolation: namespace` to run side by side).
    fixed: bool = False


class HealthCheck(Strict):
    url: NonEmpty  # template, e.g. https://{host}:{ports.https}/health
    expect_status: int = 200
    timeout_s: float = Field(default=30, gt=0, le=3600)
    interval_s: float = Field(default=0.2, gt=0, le=60)


class Resources(Strict):
    """The minimum configuration the sample declares; containers are limited to it."""

    cpus: float = Field(default=1.0, gt=0, le=1024)
    memory_mb: int = Field(default=512, ge=16, le=1 << 24)


class ContainerSource(Strict):
    """How the sample becomes a container image. At most one of archive / build context; with
    neither, the media are copied into a fresh container of the lab base image and the install
    steps of the user documentation run there."""

    image_archive: str | None = None  # `docker save` output, relative to the spec
    build_context: str | None = None  # a directory whose Dockerfile starts FROM the lab base image
    base_image: str = "harness-lab/base:bookworm"
    wheels: list[PackageRequirement] = []  # built wheels the host downloads into the build context

    @model_validator(mode="after")
    def _one_source(self) -> ContainerSource:
        if self.image_archive and self.build_context:
            raise ValueError("give either image_archive or build_context, not both")
        return self


class Service(Strict):
    """A service the product needs (its documentation says so), started privately for each
    deployment by the lab and torn down with it. Templates read its connection values as
    ``{services.<name>.url}``, ``.host``, ``.port``, ``.user``, ``.password`` and ``.name``; the
    password is generated per deployment, so nothing about it is invented in the spec."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    kind: Literal["postgresql", "redis"]
    # PostgreSQL: the database made for the product and the role it logs in as (owner of that
    # database, not a superuser). Give them only where the product's documentation fixes them.
    database: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "sample"
    user: Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]{0,62}$")] = "sample"


class Deployment(Strict):
    backend: Literal["process", "container", "terminal"] = "process"
    # namespace: a local process runs in a network namespace of its own, reached on an address of
    # the lab's range (not loopback), so a product that binds a fixed port or every interface runs
    # beside others, and is judged on what a client from the network gets. Containers and terminal
    # units are isolated by their nature; there this changes nothing.
    isolation: Literal["none", "namespace"] = "none"
    services: list[Service] = []
    container: ContainerSource = ContainerSource()
    install: list[Step] = []
    start: Step
    stop_signal: Literal["SIGTERM", "SIGINT"] = "SIGTERM"
    ports: list[PortDecl] = Field(min_length=1)
    health: HealthCheck
    env: dict[EnvName, str] = {}
    log_files: list[SamplePath] = []  # paths relative to the workdir, collected as evidence
    data_files: list[SamplePath] = []  # what the sample stores (db, files), readable by data checks
    resources: Resources = Resources()
    # Instances of the start step run side by side on the sample's shared data, as the install guide
    # says (each with its own ports; in the start step ``{instance}`` is its number, 0 first).
    instances: int = Field(default=1, ge=1, le=8)
    # The product's own entry point in front of the instances (its gateway or proxy mode), started
    # after them: it listens on the declared ports, which the lab and the driver use; its step names
    # the instances' addresses as ``{upstreams.<port name>}`` ("host:port,host:port").
    entry: Step | None = None

    @model_validator(mode="after")
    def _unique_ports(self) -> Deployment:
        names = [p.name for p in self.ports]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"port names must be unique, repeated: {', '.join(sorted(dup))}")
        if self.instances > 1 and self.entry is None:
            raise ValueError(
                "several instances need 'entry': the product's own entry point in front of them "
                "(the lab does not put a balancer of its own in front of a product)"
            )
        services = [s.name for s in self.services]
        dup = {n for n in services if services.count(n) > 1}
        if dup:
            raise ValueError(f"service names must be unique, repeated: {', '.join(sorted(dup))}")
        return self
