"""The deployer interface: every backend (process, container, terminal) hands the suites the same
``Deployment``, so a check never knows where the sample runs."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import requests
import urllib3

from harness.errors import LabError
from harness.spec import LoadedSpec
from harness.templating import ports_ns, render

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

# In every deployment's workdir: the lab's transcript of the install steps, and what the sample
# itself printed while it ran. Kept apart so that no check reads the lab's output as the product's.
INSTALL_LOG = "install.log"
OUTPUT_LOG = "output.log"


def lab_session(verify: bool = False) -> requests.Session:
    """A requests session that ignores the environment: no proxy variables (test traffic must go
    only where the scope guard allows) and no CA-bundle variable overriding `verify`."""
    s = requests.Session()
    s.trust_env = False
    s.verify = verify
    return s


class DeployError(LabError):
    """A lab-side failure to bring the sample up: every check on that target becomes an error."""

    def __init__(self, message: str, logs: str = ""):
        super().__init__(message)
        self.logs = logs

    def __str__(self) -> str:
        msg = self.args[0]
        if self.logs:
            tail = "\n".join(self.logs.strip().splitlines()[-30:])
            return f"{msg}\n--- sample output (last lines) ---\n{tail}"
        return str(msg)


@dataclass(frozen=True)
class Target:
    """Where one deployment goes: a terminal model from the hardware list, or a backend."""

    model: str  # the name verdicts and the report use
    backend: str
    unit: dict[str, Any] | None = None  # the inventory entry for a terminal unit


@dataclass
class Deployment(ABC):
    target: Target
    host: str  # the address suites talk to
    ports: dict[str, int]  # declared port name -> reachable port
    workdir: Path  # the lab-side directory of this deployment (logs, collected files)
    info: dict[str, Any] = field(default_factory=dict)  # for the report: image ID, unit, ...
    # The services the spec declared, started for this deployment (harness.deploy.services):
    # name -> ServiceInstance. Storage checks read them (harness.probes.stores).
    services: dict[str, Any] = field(default_factory=dict)

    def url_values(self) -> dict[str, Any]:
        return {"host": self.host, "ports": ports_ns(self.ports)}

    def url(self, template: str) -> str:
        return render(template, self.url_values())

    @abstractmethod
    def logs(self) -> str:
        """The product's logs: what the sample printed while it ran, plus its declared log files
        (10.logs reads these). Never the lab's install transcript: see ``install_transcript``."""

    def install_transcript(self) -> str:
        """The lab's record of the install steps (each command and its output): evidence of how
        the sample was deployed, shown with the deployment, never read as the product's log."""
        p = self.workdir / INSTALL_LOG
        return p.read_text(errors="replace") if p.exists() else ""

    @abstractmethod
    def read_file(self, relative: str) -> bytes:
        """A file the sample wrote, relative to its working directory (data checks read these)."""

    @abstractmethod
    def alive(self) -> bool:
        """Whether the sample's process or container is still running."""


class Deployer(ABC):
    backend: ClassVar[str]

    @abstractmethod
    def deploy(self, loaded: LoadedSpec, target: Target, workdir: Path) -> Deployment:
        """Install, start and wait for health. Raise DeployError with logs on any failure,
        having cleaned up what was started."""

    @abstractmethod
    def teardown(self, deployment: Deployment) -> None:
        """Stop and remove everything deploy made. Must be safe to call twice."""

    def cleanup_stale(self) -> list[str]:
        """Remove what a crashed harness left behind; return a line per thing removed."""
        return []


_REGISTRY: dict[str, Callable[[], Deployer]] = {}


def register(backend: str) -> Callable[[type[Deployer]], type[Deployer]]:
    def deco(cls: type[Deployer]) -> type[Deployer]:
        cls.backend = backend
        _REGISTRY[backend] = cls
        return cls

    return deco


def deployer_for(backend: str) -> Deployer:
    # Backends import their heavy libraries (docker, paramiko) lazily, on first use.
    from harness.deploy import backends  # noqa: F401

    try:
        return _REGISTRY[backend]()
    except KeyError:
        raise DeployError(f"no deploy backend {backend!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def wait_healthy(
    loaded: LoadedSpec,
    deployment: Deployment,
    still_running: Callable[[], bool],
    logs: Callable[[], str],
) -> float:
    """Poll the spec's health check until it answers as declared; return seconds taken."""
    hc = loaded.spec.deployment.health
    url = deployment.url(hc.url)
    http = lab_session()
    start = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - start < hc.timeout_s:
        if not still_running():
            raise DeployError(f"the sample exited before it became healthy ({last})", logs())
        try:
            r = http.get(url, timeout=min(5.0, hc.timeout_s), verify=False)
            if r.status_code == hc.expect_status:
                return time.monotonic() - start
            last = f"{url} answered {r.status_code}, expected {hc.expect_status}"
        except requests.RequestException as e:
            last = f"{url}: {type(e).__name__}"
        time.sleep(hc.interval_s)
    raise DeployError(f"health check never passed within {hc.timeout_s:g} s: {last}", logs())
