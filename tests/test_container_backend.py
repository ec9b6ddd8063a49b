"""The container backend against the real local engine, with a tiny self-made sample.

Skipped only when no engine answers and CI is not set; in CI a missing engine fails loudly.
No test sends traffic anywhere but 127.0.0.1 and the containers the backend itself created.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.deploy import DeployError, Target, deployer_for
from harness.deploy.container import LABEL_DEPLOYMENT, LABEL_OWNER, ContainerDeployer, ContainerDeployment
from harness.spec import LoadedSpec, SampleSpec


def _engine_up() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


if not _engine_up():
    if os.environ.get("CI"):
        raise RuntimeError("CI is set but the docker engine does not answer: run lab_env/setup_docker.sh")
    pytest.skip("no docker engine (run lab_env/setup_docker.sh)", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

SERVER = textwrap.dedent(
    """
    import http.server, os, sys
    port = int(sys.argv[1])
    # Facts the tests read back through read_file: what the sample itself sees.
    with open("/proc/self/status") as f:
        caps = [ln for ln in f if ln.startswith("CapEff")][0].split()[1]
    with open("caps.txt", "w") as f:
        f.write(caps)
    with open("started.txt", "w") as f:
        f.write(os.environ.get("GREETING", "") + " " + open("../installed.txt").read())
    log = open("app.log", "a", buffering=1)

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            code = 200 if self.path == "/health" else 404
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"ok" if code == 200 else b"no")
            log.write(f"GET {self.path} {code}\\n")

        def log_message(self, *a):
            pass

    print("sample listening on", port, flush=True)
    http.server.ThreadingHTTPServer(("0.0.0.0", port), H).serve_forever()
    """
)


def make_spec(tmp: Path, **deployment: Any) -> LoadedSpec:
    media = tmp / "app"
    media.mkdir(exist_ok=True)
    (media / "server.py").write_text(SERVER)
    dep: dict[str, Any] = {
        "backend": "container",
        "install": [{"run": "echo 'port={ports.web} in {workdir}' > installed.txt"}],
        "start": {"run": "cd app && exec python3 server.py {ports.web}"},
        "ports": [{"name": "web", "port": 8080}],
        "health": {"url": "http://{host}:{ports.web}/health", "timeout_s": 20},
        "env": {"GREETING": "hello"},
        "log_files": ["app/app.log"],
        "data_files": ["app/started.txt"],
        "resources": {"cpus": 0.5, "memory_mb": 128},
    }
    dep.update(deployment)
    raw = {
        "applicant": {"name": "Test Applicant", "contact": {"name": "A"}},
        "producer": {"name": "Test Producer", "contact": {"name": "P"}},
        "certification_unit": {"product_name": "tiny", "model": "T1", "version": "1.0"},
        "sample": {"name": "tiny-http", "version": "1.0"},
        "media": [{"path": "app", "sha256": hashlib.sha256(SERVER.encode()).hexdigest()}],
        "deployment": dep,
        "documentation": {
            "environment_requirements": "env.md",
            "scope": "scope.md",
            "install_guide": "install.md",
            "operating_instructions": "ops.md",
            "use_cases_document": "uc.md",
            "use_cases": [{"id": "UC1", "title": "health", "section": "1"}],
        },
        "driver": {
            "kind": "rest",
            "base_url": "http://{host}:{ports.web}",
            "login": {"method": "POST", "path": "/login"},
            "accounts": [{"name": "a", "username": "u", "password": "p", "account_id": "1"}],
        },
        "parameters": {
            "session_idle_timeout_s": 600,
            "lockout_threshold": 5,
            "limits": {"per_transaction": 1000, "daily": 5000},
            "dr": {"level": 2, "rto_s": 3600, "rpo_s": 60},
            "latency_p95_ms": 500,
        },
    }
    return LoadedSpec(spec=SampleSpec.model_validate(raw), path=tmp / "spec.yaml")


TARGET = Target(model="container", backend="container")


@pytest.fixture(scope="module")
def deployer() -> ContainerDeployer:
    d = deployer_for("container")
    assert isinstance(d, ContainerDeployer)
    return d


@pytest.fixture(scope="module")
def healthy(deployer: ContainerDeployer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerDeployment]:
    tmp = tmp_path_factory.mktemp("healthy")
    dep = deployer.deploy(make_spec(tmp), TARGET, tmp / "work")
    assert isinstance(dep, ContainerDeployment)
    yield dep
    deployer.teardown(dep)


def _container(dep: ContainerDeployment) -> Any:
    c = dep._container()
    assert c is not None
    return c


def test_healthy_deploy_via_install_steps(healthy: ContainerDeployment) -> None:
    assert healthy.host == "127.0.0.1"
    r = requests.get(healthy.url("http://{host}:{ports.web}/health"), timeout=5)
    assert r.status_code == 200 and r.text == "ok"
    assert healthy.alive()
    info = healthy.info
    assert info["image_id"].startswith("sha256:") and info["base_image_id"].startswith("sha256:")
    assert info["image_source"] == "install"
    assert healthy.ports["web"] != 8080 or True  # a random published host port


def test_read_file_and_templates(healthy: ContainerDeployment) -> None:
    # The install step saw the DECLARED container port and the container's workdir.
    assert healthy.read_file("app/started.txt").decode().strip() == "hello port=8080 in /opt/sample"
    with pytest.raises(PermissionError):
        healthy.read_file("../../etc/passwd")
    with pytest.raises(FileNotFoundError):
        healthy.read_file("no-such-file")


def test_logs(healthy: ContainerDeployment) -> None:
    requests.get(healthy.url("http://{host}:{ports.web}/marker-path"), timeout=5)
    time.sleep(0.2)
    logs = healthy.logs()
    assert "sample listening on 8080" in logs  # container stdout
    assert "GET /marker-path 404" in logs  # the declared log file


def test_isolation(healthy: ContainerDeployment) -> None:
    c = _container(healthy)
    nets = c.attrs["NetworkSettings"]["Networks"]
    assert list(nets) == [healthy.info["network"]], "the sample is on its own network only"
    net = healthy.client.networks.get(healthy.network_id)
    assert net.attrs["Internal"] is True
    assert net.attrs["Labels"][LABEL_DEPLOYMENT] == "1" and net.attrs["Labels"][LABEL_OWNER] == str(os.getpid())
    # 10.255.255.1 is unroutable here and, the network being internal, the engine drops the
    # packet at the host's FORWARD chain: nothing leaves the machine.
    t = time.monotonic()
    rc, out = c.exec_run(
        ["python3", "-c", "import socket; socket.create_connection(('10.255.255.1', 9), 2)"], demux=False
    )
    assert rc != 0, out
    assert b"timed out" in out or b"unreachable" in out, out
    assert time.monotonic() - t < 5
    # The host itself is closed to the sample: a listener on the host's 0.0.0.0 is not reachable
    # through the network's gateway (traffic stays on this machine either way).
    assert healthy.info["host_firewall"] == "host closed to the sample"
    with socket.create_server(("0.0.0.0", 0)) as srv:
        gw = nets[healthy.info["network"]]["Gateway"]
        probe = f"import socket; socket.create_connection(('{gw}', {srv.getsockname()[1]}), 2)"
        rc, out = c.exec_run(["python3", "-c", probe])
        assert rc != 0, "the sample reached a host service"
    # No port of the sample is published: only the edge publishes, on 127.0.0.1.
    assert not any(c.attrs["NetworkSettings"]["Ports"].values())
    edge = healthy.client.containers.get(healthy.edge_id)
    for bindings in edge.attrs["NetworkSettings"]["Ports"].values():
        assert all(b["HostIp"] == "127.0.0.1" for b in bindings)


def test_caps_dropped_and_limits(healthy: ContainerDeployment) -> None:
    assert int(healthy.read_file("app/caps.txt"), 16) == 0, "the sample runs with no capabilities"
    hc = _container(healthy).attrs["HostConfig"]
    assert hc["CapDrop"] == ["ALL"] and "no-new-privileges" in hc["SecurityOpt"]
    assert hc["Memory"] == 128 * 1024 * 1024
    assert hc["NanoCpus"] == 500_000_000
    rc, out = _container(healthy).exec_run(["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"])
    if rc == 0:  # cgroup v1 (these machines); v2 has memory.max instead
        assert int(out) == 128 * 1024 * 1024


def test_second_deploy_reuses_image_and_teardown_twice(deployer: ContainerDeployer, tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    dep = deployer.deploy(spec, TARGET, tmp_path / "w1")
    try:
        assert dep.info["image_reused"] is True  # the module fixture built it
    finally:
        deployer.teardown(dep)
    deployer.teardown(dep)  # safe twice
    assert not dep.alive()
    assert "sample listening" in (tmp_path / "w1" / "output.log").read_text()
    # Declared data files stay readable after the container is gone.
    assert dep.read_file("app/started.txt").startswith(b"hello")
    assert dep.client.containers.list(all=True, filters={"id": dep.container_id}) == []


def test_exit_at_start(deployer: ContainerDeployer, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, start={"run": "echo about to fail; exit 3"})
    with pytest.raises(DeployError) as ei:
        deployer.deploy(spec, TARGET, tmp_path / "w")
    assert "exited with code 3" in str(ei.value)
    assert "about to fail" in ei.value.logs


def test_health_never_passes(deployer: ContainerDeployer, tmp_path: Path) -> None:
    spec = make_spec(tmp_path, health={"url": "http://{host}:{ports.web}/nope", "timeout_s": 2})
    t = time.monotonic()
    with pytest.raises(DeployError, match="health check never passed"):
        deployer.deploy(spec, TARGET, tmp_path / "w")
    assert time.monotonic() - t < 15


def test_corrupt_archive(deployer: ContainerDeployer, tmp_path: Path) -> None:
    (tmp_path / "broken.tar").write_bytes(b"this is not a tar archive" * 100)
    spec = make_spec(tmp_path, container={"image_archive": "broken.tar"})
    with pytest.raises(DeployError, match=r"cannot load image archive .*broken\.tar"):
        deployer.deploy(spec, TARGET, tmp_path / "w")


def test_image_archive(deployer: ContainerDeployer, healthy: ContainerDeployment, tmp_path: Path) -> None:
    archive = tmp_path / "sample-image.tar"
    image = healthy.client.images.get(healthy.info["image_id"])
    with archive.open("wb") as f:
        for chunk in image.save(named=True):
            f.write(chunk)
    spec = make_spec(tmp_path, install=[], container={"image_archive": "sample-image.tar"})
    dep = deployer.deploy(spec, TARGET, tmp_path / "w")
    try:
        assert dep.info["image_source"] == "archive"
        assert dep.info["image_id"] == healthy.info["image_id"]
        assert dep.info["base_image_id"] == healthy.info["base_image_id"]
        assert requests.get(dep.url("http://{host}:{ports.web}/health"), timeout=5).status_code == 200
    finally:
        deployer.teardown(dep)


def test_cleanup_stale_removes_dead_owners(deployer: ContainerDeployer, healthy: ContainerDeployment) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid now belongs to no process
    client = healthy.client
    labels = {LABEL_OWNER: str(dead.pid), LABEL_DEPLOYMENT: "1"}
    c = client.containers.create(healthy.info["base_image_id"], command=["sleep", "60"], labels=labels)
    n = client.networks.create(f"harness-lab-stale-{dead.pid}", internal=True, labels=labels)
    removed = deployer.cleanup_stale()
    assert any(c.name in line for line in removed)
    assert any(n.name in line for line in removed)
    assert client.containers.list(all=True, filters={"id": c.id}) == []
    assert healthy.alive(), "a live owner's deployment is kept"


def test_build_context(deployer: ContainerDeployer, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM harness-lab/base:bookworm\n"
        "WORKDIR /opt/sample\n"
        "COPY server.py app/server.py\n"
        "RUN echo 'port=8080 in /opt/sample' > installed.txt\n"
    )
    (ctx / "server.py").write_text(SERVER)
    spec = make_spec(tmp_path, install=[], container={"build_context": "ctx"})
    dep = deployer.deploy(spec, TARGET, tmp_path / "w")
    try:
        assert dep.info["image_source"] == "build"
        assert dep.info["base_image_id"], "built FROM the lab base image"
        assert dep.read_file("app/started.txt").decode().strip() == "hello port=8080 in /opt/sample"
    finally:
        deployer.teardown(dep)
    again = deployer.deploy(spec, TARGET, tmp_path / "w2")
    deployer.teardown(again)
    assert again.info["image_reused"] is True and again.info["image_id"] == dep.info["image_id"]


def test_engine_not_reachable(deployer: ContainerDeployer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    with pytest.raises(DeployError, match="docker engine not reachable"):
        deployer.deploy(make_spec(tmp_path), TARGET, tmp_path / "w")


CARD = "6222021234567890128"


def test_install_transcript_is_not_the_products_log(deployer: ContainerDeployer, tmp_path: Path) -> None:
    # A nonce makes the install steps new, so they run now (an image from the cache ran them before).
    nonce = os.urandom(4).hex()
    steps = [
        {"run": f"echo install-ok {CARD} {nonce}"},
        {"run": "echo 'port={ports.web} in {workdir}' > installed.txt"},
    ]
    dep = deployer.deploy(make_spec(tmp_path, install=steps), TARGET, tmp_path / "w")
    try:
        assert dep.info["image_reused"] is False
        assert f"install-ok {CARD} {nonce}" in dep.install_transcript()
        logs = dep.logs()
        assert "sample listening on 8080" in logs and CARD not in logs and "install-ok" not in logs
    finally:
        deployer.teardown(dep)
        dep.client.images.remove(dep.info["image_id"], force=True)
    assert CARD not in (tmp_path / "w" / "output.log").read_text()


def test_declared_services_run_beside_the_sample(deployer: ContainerDeployer, tmp_path: Path) -> None:
    import psycopg

    from harness.deploy.scope import ScopeGuard
    from harness.probes import ports, stores

    reach = (
        'python3 -c "import socket; [socket.create_connection((h, int(p)), 3) for h, p in '
        "[('{services.db.host}', '{services.db.port}'), ('{services.cache.host}', '{services.cache.port}')]]; "
        "open('reached.txt', 'w').write('{services.db.user}@{services.db.name}')\""
    )
    spec = make_spec(
        tmp_path,
        services=[{"name": "db", "kind": "postgresql", "database": "shop"}, {"name": "cache", "kind": "redis"}],
        env={"GREETING": "hello", "DATABASE_URL": "{services.db.url}"},
        start={"run": f"{reach} && cd app && exec python3 server.py {{ports.web}}"},
    )
    dep = deployer.deploy(spec, TARGET, tmp_path / "w")
    db = dep.services["db"]
    try:
        # The sample reached both services on the internal network, by the values its templates got.
        assert dep.read_file("reached.txt") == b"sample@shop"
        assert db.version.startswith("PostgreSQL") and dep.services["cache"].version.startswith("Redis")
        assert [s["name"] for s in dep.info["services"]] == ["db", "cache"]
        # What the sample writes there is what the storage check reads.
        with psycopg.connect(db.url, connect_timeout=5) as conn:
            conn.execute("CREATE TABLE users (name text, password text)")
            conn.execute("INSERT INTO users VALUES ('alice', 'Alice#2024pay')")
        read = {r.service: r for r in stores.read_services(dep)}
        assert read["db"].ok and [v.value for v in read["db"].values] == ["alice", "Alice#2024pay"]
        assert read["cache"].ok and read["cache"].objects == 0
        # The services are the lab's, not the sample's exposure.
        guard = ScopeGuard()
        guard.allow_deployment(dep)
        assert [s.local_port for s in ports.exposure(dep, {"web": 8080}, guard).listeners] == [8080]
    finally:
        deployer.teardown(dep)
    assert all(dep.client.containers.list(all=True, filters={"id": i}) == [] for i in dep.service_ids)
    assert (tmp_path / "w" / "services" / "db.log").exists()


def test_install_steps_cannot_use_a_service_in_a_container(deployer: ContainerDeployer, tmp_path: Path) -> None:
    spec = make_spec(
        tmp_path,
        services=[{"name": "db", "kind": "postgresql"}],
        install=[{"run": "echo migrate {services.db.url}"}],
    )
    with pytest.raises(DeployError, match=r"service db: .*without any network"):
        deployer.deploy(spec, TARGET, tmp_path / "w")
