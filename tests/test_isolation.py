"""Products that bind a fixed port on every interface, run side by side in lab network namespaces
(process backend, ``isolation: namespace``): reached from a non-loopback address, their sockets
attributed inside the namespace, their traffic captured on the namespace's link, and what a killed
run left removed by the next start. Needs root (network namespaces), as the lab bench has."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.deploy import DeployError, Target, deployer_for, leftovers, netns
from harness.deploy.local import free_port
from harness.deploy.process import ProcessDeployer, ProcessDeployment
from harness.deploy.scope import ScopeGuard
from harness.probes import capture, ports
from harness.spec import LoadedSpec, SampleSpec

if os.geteuid() != 0:
    pytest.skip("network namespaces need root (the lab bench runs as root)", allow_module_level=True)

# A product that cannot be told where to listen: 0.0.0.0 and a port fixed in its code (given here
# on the command line only so that the test picks one no other test holds).
SERVER = textwrap.dedent(
    """
    import http.server, sys
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = self.client_address[0].encode()  # who the product sees asking
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    print("fixed-port product up", flush=True)
    http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
    """
)


def make_spec(tmp: Path, port: int, **deployment: Any) -> LoadedSpec:
    media = tmp / "app"
    media.mkdir(exist_ok=True)
    (media / "server.py").write_text(SERVER)
    dep: dict[str, Any] = {
        "backend": "process",
        "isolation": "namespace",
        "start": {"run": f"exec {sys.executable} app/server.py {port}"},
        "ports": [{"name": "web", "port": port, "fixed": True}],
        "health": {"url": "http://{host}:{ports.web}/", "timeout_s": 20},
    }
    dep.update(deployment)
    raw = {
        "applicant": {"name": "A", "contact": {"name": "A"}},
        "producer": {"name": "P", "contact": {"name": "P"}},
        "certification_unit": {"product_name": "fixed", "model": "F1", "version": "1"},
        "sample": {"name": "fixed-port", "version": "1"},
        "media": [{"path": "app", "sha256": hashlib.sha256(SERVER.encode()).hexdigest()}],
        "deployment": dep,
        "documentation": {
            "environment_requirements": "e.md",
            "scope": "s.md",
            "install_guide": "i.md",
            "operating_instructions": "o.md",
            "use_cases_document": "u.md",
            "use_cases": [{"id": "UC1", "title": "t", "section": "1"}],
        },
        "driver": {"kind": "rest", "base_url": "http://{host}:{ports.web}", "accounts": [{"name": "a"}]},
    }
    return LoadedSpec(spec=SampleSpec.model_validate(raw), path=tmp / "spec.yaml")


TARGET = Target(model="process", backend="process")


@pytest.fixture
def deployer() -> ProcessDeployer:
    d = deployer_for("process")
    assert isinstance(d, ProcessDeployer)
    return d


def _get(dep: ProcessDeployment) -> requests.Response:
    s = requests.Session()
    s.trust_env = False
    return s.get(dep.url("http://{host}:{ports.web}/"), timeout=5)


def test_two_fixed_port_products_run_side_by_side(deployer: ProcessDeployer, tmp_path: Path) -> None:
    port = free_port()
    spec = make_spec(tmp_path, port)
    a = deployer.deploy(spec, TARGET, tmp_path / "a")
    try:
        b = deployer.deploy(spec, TARGET, tmp_path / "b")
        try:
            assert a.namespace is not None and b.namespace is not None
            assert a.host != b.host and a.ports == b.ports == {"web": port}
            for dep in (a, b):
                assert ipaddress.ip_address(dep.host) in netns.LAB_NET
                # The product sees the lab's side of its link, never loopback: a rule that exempts
                # 127.0.0.1 (a login rate limit) does not apply to the lab's traffic.
                assert dep.namespace is not None
                assert _get(dep).text == dep.namespace.lab_address
                assert dep.info["host_firewall"] == "host closed to the sample"
        finally:
            deployer.teardown(b)
        assert not Path(b.namespace.path).exists()
        assert _get(a).status_code == 200, "tearing one down leaves the other running"
    finally:
        deployer.teardown(a)
    deployer.teardown(a)  # safe twice
    assert not Path(a.namespace.path).exists()
    assert not Path(f"/sys/class/net/{a.namespace.host_if}").exists()


def test_fixed_port_without_a_namespace_gets_its_port_or_a_clear_error(
    deployer: ProcessDeployer, tmp_path: Path
) -> None:
    port = free_port()
    spec = make_spec(tmp_path, port, isolation="none")
    dep = deployer.deploy(spec, TARGET, tmp_path / "a")
    try:
        assert dep.host == "127.0.0.1" and dep.ports == {"web": port} and dep.namespace is None
        with pytest.raises(DeployError, match="isolation: namespace"):
            deployer.deploy(spec, TARGET, tmp_path / "b")
    finally:
        deployer.teardown(dep)


def test_exposure_and_capture_inside_the_namespace(deployer: ProcessDeployer, tmp_path: Path) -> None:
    port = free_port()
    # The product also opens a port nobody declared, from a daemon that left its session: still its own.
    stray = textwrap.dedent(
        """
        import os, socket, sys, time
        if os.fork() == 0:
            os.setsid()
            s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen()
            time.sleep(600)
        """
    )
    (tmp_path / "stray.py").write_text(stray)
    spec = make_spec(
        tmp_path,
        port,
        start={"run": f"{sys.executable} {tmp_path / 'stray.py'} 2999; exec {sys.executable} app/server.py {port}"},
    )
    dep = deployer.deploy(spec, TARGET, tmp_path / "w")
    guard = ScopeGuard()
    guard.allow_deployment(dep)
    try:
        exp = ports.exposure(dep, {"web": port}, guard)
        assert {s.local_port for s in exp.listeners} == {port, 2999}
        assert [s.local_port for s in exp.undeclared()] == [2999]
        assert "网络命名空间" in exp.method
        assert ports.sample_local_ports(dep) is None  # the capture attributes by the link
        with capture.capture(dep, guard) as cap:
            assert _get(dep).status_code == 200
        assert dep.namespace is not None
        assert cap.iface == dep.namespace.host_if
        flows = cap.flows()
        assert any(f"-> {dep.host}:{port}" in f for f in flows), flows
        assert all("127.0.0.1" not in f for f in flows)
    finally:
        deployer.teardown(dep)
    assert dep.info.get("killed_in_namespace"), "the escaped daemon was killed with the namespace"


KILLED_RUN = """
import os, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from harness.deploy import Target, deployer_for
from tests.test_isolation import make_spec
tmp = Path({tmp!r})
spec = make_spec(tmp, {port}, services={services})
dep = deployer_for("process").deploy(spec, Target("process", "process"), tmp / "w")
print(dep.namespace.name, dep.proc.pid, *(s.proc.pid for s in dep.services.values()), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("services", [[], [{"name": "cache", "kind": "redis"}]], ids=["sample", "with-service"])
def test_cleanup_after_sigkill(deployer: ProcessDeployer, tmp_path: Path, services: list[dict[str, str]]) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    code = KILLED_RUN.format(root=root, tmp=str(tmp_path), port=free_port(), services=services)
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=root)
    try:
        assert run.stdout is not None
        line = run.stdout.readline().split()
        assert line, "the deploying process printed nothing"
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    name, *pids = line
    assert Path(f"/run/netns/{name}").exists() and all(leftovers.pid_alive(int(p)) for p in pids)
    removed = deployer.cleanup_stale()
    assert any(name in r for r in removed), removed
    assert not Path(f"/run/netns/{name}").exists()
    deadline = time.monotonic() + 5
    while any(_running(int(p)) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(int(p)) for p in pids)
    assert not leftovers.orphans("process")


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for a reaper that may never come here)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
