"""The deployer interface: every backend (process, container, terminal) hands the suites the same
``Deployment``, so a check never knows where the sample runs."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import urllib3

from harness.deploy.guarded_http import LabSession
from harness.deploy.scope import GUARD, OutOfScope, ScopeGuard
from harness.errors import LabError
from harness.plan import Target  # the plan decides where deployments go; deployers take it from there
from harness.spec import LoadedSpec
from harness.templating import ports_ns, render

urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

# In every deployment's workdir: the lab's transcript of the install steps, and what the sample
# itself printed while it ran. Kept apart so that no check reads the lab's output as the product's.
INSTALL_LOG = "install.log"
OUTPUT_LOG = "output.log"


def lab_session(verify: bool = False, guard: ScopeGuard | None = None) -> requests.Session:
    """The requests session for test traffic: every connection passes the scope guard (the run's,
    unless another is given) at the address actually dialled, redirects are never followed, and
    nothing comes from the environment (proxy variables, a CA bundle overriding `verify`)."""
    return LabSession(GUARD if guard is None else guard, verify)


class SampleDied(LabError):
    """The deployed sample stopped running during the run: checks on it can no longer be judged."""


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


class NotServing(DeployError):
    """The sample did not pass its health check in time, or exited first. At deploy time a lab
    error like any other; after a restart the continuity checks judge it as the sample's."""


@dataclass
class Deployment(ABC):
    target: Target
    host: str  # the address suites talk to
    ports: dict[str, int]  # declared port name -> reachable port
    workdir: Path  # the lab-side directory of this deployment (logs, collected files)
    info: dict[str, Any] = field(default_factory=dict)  # for the report: image ID, unit, ...
    loaded: LoadedSpec | None = field(default=None, repr=False)  # what it was deployed from (restart)
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

    def exit_status(self) -> int | None:
        """How the sample ended, once it is no longer running (None when the backend cannot tell)."""
        return None

    def answering_socket_holder(self, port: int) -> str | None:
        """None when the sockets that accept connections on `port` of `host` are the sample's own;
        otherwise who holds them. Backends that cannot tell (a remote unit) answer None."""
        return None

    # Continuity (chapter 7): a crash and the sample's own recovery, on the data it kept.
    def kill(self) -> None:
        """Stop the sample at once, as a crash would: SIGKILL to its process group, ``docker kill``.
        Nothing it has not yet written where it keeps its data survives."""
        raise LabError(f"the {self.target.backend} backend cannot kill a sample")

    def restart(self, timeout_s: float) -> float:
        """Start the killed sample again by its declared start step, on the data it kept, at the same
        address and ports; wait until its health check passes (``NotServing`` past ``timeout_s``)
        and return the seconds that took."""
        raise LabError(f"the {self.target.backend} backend cannot restart a sample")


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


def registered(backend: str) -> Deployer:
    """A deployer of a registered backend (harness.deploy.deployer_for loads them all first)."""
    try:
        return _REGISTRY[backend]()
    except KeyError:
        raise DeployError(f"no deploy backend {backend!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def wait_healthy(
    loaded: LoadedSpec,
    deployment: Deployment,
    still_running: Callable[[], bool],
    logs: Callable[[], str],
    timeout_s: float | None = None,
) -> float:
    """Poll the spec's health check until it answers as declared; return seconds taken. The wait is
    the spec's health timeout unless the caller gives its own (a restart waits as long as the RTO
    check allows).

    It runs before the run's guard knows the deployment, so it is guarded by one holding this
    deployment's scope alone, and like all test traffic it never follows a redirect."""
    hc = loaded.spec.deployment.health
    limit = hc.timeout_s if timeout_s is None else timeout_s
    url = deployment.url(hc.url)
    http = lab_session(guard=ScopeGuard.for_deployment(deployment))
    start = time.monotonic()
    last = "no answer yet"
    while time.monotonic() - start < limit:
        if not still_running():
            raise NotServing(f"the sample exited before it became healthy ({last})", logs())
        try:
            r = http.get(url, timeout=min(5.0, hc.timeout_s), verify=False)
            if r.status_code == hc.expect_status:
                require_own_listener(deployment, url, logs)
                return time.monotonic() - start
            last = f"{url} answered {r.status_code}, expected {hc.expect_status}"
            if r.is_redirect:
                last += f" (a redirect to {r.headers.get('Location', '?')}, not followed)"
        except OutOfScope as e:
            raise DeployError(f"the health check was refused: {e}", logs()) from None
        except requests.RequestException as e:
            last = f"{url}: {type(e).__name__}"
        time.sleep(hc.interval_s)
    raise NotServing(f"health check never passed within {limit:g} s: {last}", logs())


def require_own_listener(deployment: Deployment, url: str, logs: Callable[[], str]) -> None:
    """A health check that passed proves something answered; this proves it was the sample. Another
    service holding the port (a spec with a fixed port) would otherwise be tested in its place."""
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    holder = deployment.answering_socket_holder(port)
    if holder is not None:
        raise DeployError(
            f"port {port} answered the health check, but it is held by {holder}, not by the deployed sample "
            "(is the port already in use?)",
            logs(),
        )
