"""The terminal backend against the real stand-in terminals (OpenSSH in network namespaces).

The session starts the stand-ins with ``lab_env/standin_terminals.py up`` if they are not up
(and stops them again afterwards). Without root they cannot exist: those tests skip, except
under CI, where a skip would hide a broken lab set-up.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.config import PROJECT_ROOT
from harness.deploy import deployer_for, leftovers
from harness.deploy.base import DeployError, Target
from harness.deploy.inventory import Inventory, InventoryError, Unit, load_inventory
from harness.deploy.terminal import TerminalDeployer, TerminalDeployment, _Remote
from harness.spec import LoadedSpec, SampleSpec

STANDINS = PROJECT_ROOT / "lab_env" / "standin_terminals.py"
MODELS = ["LT-POS-A1", "LT-POS-B2"]
SAMPLE_PORT = 18080
CARD = "6222021234567890128"

SERVER = textwrap.dedent(
    """\
    import argparse, os, pathlib
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--health-status", type=int, default=200)
    a = ap.parse_args()
    pathlib.Path("data").mkdir(exist_ok=True)
    pathlib.Path("data/state.txt").write_text(f"pid={os.getpid()} mode={os.environ.get('SAMPLE_MODE')}\\n")
    applog = open("app.log", "a", buffering=1)

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            code = a.health_status if self.path == "/health" else 404
            body = f"status {code}\\n".encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            applog.write("request " + fmt % args + "\\n")

    print(f"sample listening on {a.bind}:{a.port}", flush=True)
    ThreadingHTTPServer((a.bind, a.port), H).serve_forever()
    """
)


# --- fixtures -------------------------------------------------------------------------------


def _standins_status() -> bool:
    return subprocess.run([sys.executable, str(STANDINS), "status"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def standins() -> Iterator[Inventory]:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("the stand-in terminals need root (network namespaces, sshd, users)")
    started = False
    if not _standins_status():
        r = subprocess.run([sys.executable, str(STANDINS), "up"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"standin_terminals.py up failed:\n{r.stdout}\n{r.stderr}"
        started = True
    yield load_inventory()
    if started:
        subprocess.run([sys.executable, str(STANDINS), "down"], capture_output=True, timeout=60)


@pytest.fixture(autouse=True)
def _scratch_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each test its own leftovers ledger: cleanup_stale must never touch a real run's entries.
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "lab_data"))


def make_spec(tmp: Path, *, health_status: int = 200, install: list[dict[str, Any]] | None = None) -> LoadedSpec:
    server = tmp / "server.py"
    server.write_text(SERVER)
    party = {"name": "Test Co", "contact": {"name": "Tester"}}
    data = {
        "applicant": party,
        "producer": party,
        "certification_unit": {"product_name": "Tiny", "model": "T1", "version": "1.0"},
        "sample": {"name": "tiny-http", "version": "1.0"},
        "media": [{"path": "server.py", "sha256": hashlib.sha256(server.read_bytes()).hexdigest()}],
        "hardware": [
            {"model": m, "configuration": "stand-in", "units": 1, "os": "Debian 12", "base_software": ["Python 3.11"]}
            for m in MODELS
        ],
        "deployment": {
            "backend": "terminal",
            "install": install
            if install is not None
            # The install step prints a card number: the lab's transcript holds it, the product's log never.
            else [{"run": f"echo installed into {{workdir}} for {{host}} > install.txt && echo install-ok {CARD}"}],
            "start": {
                "run": f"python3 server.py --bind {{bind}} --port {{ports.http}} --health-status {health_status}"
            },
            "ports": [{"name": "http", "port": SAMPLE_PORT}],
            "health": {"url": "http://{host}:{ports.http}/health", "timeout_s": 3 if health_status != 200 else 15},
            "env": {"SAMPLE_MODE": "lab-{host}"},
            "log_files": ["app.log"],
            "data_files": ["data"],
        },
        "documentation": {
            "environment_requirements": "d.md",
            "scope": "d.md",
            "install_guide": "d.md",
            "operating_instructions": "d.md",
            "use_cases_document": "d.md",
            "use_cases": [{"id": "UC1", "title": "health", "section": "1"}],
        },
        "driver": {
            "kind": "rest",
            "base_url": "http://{host}:{ports.http}",
            "login": {"method": "POST", "path": "/login"},
            "accounts": [{"name": "a", "username": "u", "password": "p", "account_id": "1"}],
        },
        "parameters": {
            "session_idle_timeout_s": 300,
            "lockout_threshold": 5,
            "limits": {"per_transaction": "1000", "daily": "5000"},
            "dr": {"level": 3, "rto_s": 60, "rpo_s": 0},
            "latency_p95_ms": 500,
        },
    }
    return LoadedSpec(spec=SampleSpec.model_validate(data), path=tmp / "spec.yaml")


def target_for(inv: Inventory, model: str, **override: Any) -> Target:
    unit = inv.unit_for(model)
    assert unit is not None, f"inventory has no unit of {model}"
    return Target(model=model, backend="terminal", unit={**unit.model_dump(), **override})


def on_unit(unit: dict[str, Any] | Unit, command: str) -> tuple[int, str]:
    """Look at the unit the way an operator would: a fresh SSH session."""
    r = _Remote(unit if isinstance(unit, Unit) else Unit.model_validate(unit))
    r.connect()
    try:
        return r.run(command)
    finally:
        r.close()


def deploy_dirs(unit: dict[str, Any]) -> set[str]:
    _, out = on_unit(unit, "ls -1 ~/harness-deploy 2>/dev/null; true")
    return set(out.split())


# --- inventory ------------------------------------------------------------------------------


def test_inventory_units_by_model() -> None:
    inv = load_inventory()
    for m in MODELS:
        u = inv.unit_for(m)
        assert u is not None and u.model == m and u.standin
        assert Path(u.key_file).is_absolute()
    assert inv.unit_for("NO-SUCH-MODEL") is None
    assert inv.models == sorted(MODELS)


def test_inventory_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "inv.yaml"
    p.write_text("units:\n  - {model: X, id: x1, host: 127.0.0.1, user: u, key_file: k, os: linux}\n")
    monkeypatch.setenv("HARNESS_INVENTORY", str(p))
    u = load_inventory().unit_for("X")
    assert u is not None and u.key_file == str(tmp_path / "k") and u.port == 22


def test_inventory_errors_name_file_field_and_line(tmp_path: Path) -> None:
    p = tmp_path / "inv.yaml"
    p.write_text(
        "units:\n"
        "  - model: LT-POS-A1\n"
        "    id: u1\n"
        "    host: 10.213.1.2\n"
        "    port: 70000\n"
        "    user: lab\n"
        "    key_file: k\n"
        "    os: linux\n"
        "    colour: red\n"
        "  - {model: LT-POS-B2, id: u1, host: h, user: u, key_file: k, os: linux}\n"
    )
    with pytest.raises(InventoryError) as e:
        load_inventory(p)
    msg = str(e.value)
    assert isinstance(e.value, ValueError)
    assert f"{p}:5: units[0].port:" in msg
    assert f"{p}:9: units[0].colour: unknown field" in msg
    p.write_text(p.read_text().replace("70000", "22").replace("    colour: red\n", ""))
    with pytest.raises(InventoryError, match="unit ids must be unique, repeated: u1"):
        load_inventory(p)
    p.write_text("units: [\n")
    with pytest.raises(InventoryError, match="not valid YAML"):
        load_inventory(p)
    with pytest.raises(InventoryError, match="no such inventory file"):
        load_inventory(tmp_path / "missing.yaml")


# --- deploy on the stand-ins ----------------------------------------------------------------


@pytest.mark.terminal
@pytest.mark.parametrize("model", MODELS)
def test_deploy_health_files_logs_teardown(standins: Inventory, model: str, tmp_path: Path) -> None:
    loaded = make_spec(tmp_path)
    target = target_for(standins, model)
    unit = target.unit
    assert unit is not None
    deployer = deployer_for("terminal")
    assert isinstance(deployer, TerminalDeployer)

    t0 = time.monotonic()
    dep = deployer.deploy(loaded, target, tmp_path / "work")
    deploy_s = time.monotonic() - t0
    assert isinstance(dep, TerminalDeployment)
    try:
        assert dep.host == unit["host"] and dep.ports == {"http": SAMPLE_PORT}
        assert dep.info["unit"] == unit["id"] and dep.info["standin"] is True
        assert dep.info["host_key"].startswith("ssh-ed25519 SHA256:")
        r = requests.get(dep.url("http://{host}:{ports.http}/health"), timeout=5)
        assert r.status_code == 200
        assert dep.alive()
        # Files the sample wrote on the unit, read over SFTP; templates and env were rendered.
        state = dep.read_file("data/state.txt").decode()
        assert "pid=" in state and f"mode=lab-{unit['host']}" in state
        assert dep.read_file("install.txt").decode().strip() == (
            f"installed into {dep.remote_sample_dir} for {unit['host']}"
        )
        with pytest.raises(PermissionError):
            dep.read_file("../output.log")
        logs = dep.logs()
        assert f"sample listening on 0.0.0.0:{SAMPLE_PORT}" in logs
        assert "install-ok" not in logs and CARD not in logs, "the install transcript is not the product's log"
        assert f"install-ok {CARD}" in dep.install_transcript() == (tmp_path / "work/install.log").read_text()
        assert "--- app.log ---" in logs and "GET /health" in logs
        assert Path(dep.remote_dir).name in deploy_dirs(unit)
        assert len(leftovers.orphans("terminal")) == 0  # recorded, but its owner (us) is alive
    finally:
        deployer.teardown(dep)
    print(
        f"{model}: deploy {deploy_s:.2f} s, info {json.dumps({k: v for k, v in dep.info.items() if k.endswith('_s')})}"
    )

    # The unit is restored: no directory, no process; the lab kept the logs and data.
    assert dep.info["unit_restored"] is True
    assert Path(dep.remote_dir).name not in deploy_dirs(unit)
    rc, _ = on_unit(unit, f"kill -0 {dep.pid}")
    assert rc != 0
    assert not dep.alive()
    assert "sample listening" in (tmp_path / "work" / "output.log").read_text()
    assert "sample listening" in dep.logs() and "--- app.log ---" in dep.logs()
    assert dep.read_file("data/state.txt").startswith(b"pid=")
    deployer.teardown(dep)  # twice is safe
    assert list((tmp_path / "lab_data" / "active").glob("terminal-*.json")) == []


@pytest.mark.terminal
def test_unreachable_unit_is_a_clear_deploy_error(standins: Inventory, tmp_path: Path) -> None:
    # The stand-in's own address, a port nothing listens on: refused at once.
    target = target_for(standins, "LT-POS-A1", port=2222)
    with pytest.raises(DeployError) as e:
        deployer_for("terminal").deploy(make_spec(tmp_path), target, tmp_path / "work")
    msg = str(e.value)
    assert "cannot reach unit LT-POS-A1-U01 of LT-POS-A1" in msg
    assert "10.213.1.2:2222" in msg
    assert "Unable to connect" in msg or "refused" in msg.lower()


@pytest.mark.terminal
def test_stopped_standin_is_a_clear_deploy_error(standins: Inventory, tmp_path: Path) -> None:
    # No stand-in at 10.213.254.2; `up` routes 10.213.0.0/16 as unreachable, so nothing leaves the host.
    route = subprocess.run(["ip", "route", "get", "10.213.254.2"], capture_output=True, text=True)
    assert route.returncode != 0, f"10.213.254.2 would be routed off the host: {route.stdout}"
    target = target_for(standins, "LT-POS-B2", host="10.213.254.2")
    t0 = time.monotonic()
    with pytest.raises(DeployError, match=r"cannot reach unit LT-POS-B2-U01 of LT-POS-B2 .*10\.213\.254\.2:22"):
        deployer_for("terminal").deploy(make_spec(tmp_path), target, tmp_path / "work")
    assert time.monotonic() - t0 < 11  # the 10 s connect timeout at most


@pytest.mark.terminal
def test_unit_with_wrong_key_is_a_clear_deploy_error(standins: Inventory, tmp_path: Path) -> None:
    key = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    target = target_for(standins, "LT-POS-B2", key_file=str(key))
    with pytest.raises(DeployError, match=r"cannot reach unit LT-POS-B2-U01 .*AuthenticationException"):
        deployer_for("terminal").deploy(make_spec(tmp_path), target, tmp_path / "work")


@pytest.mark.terminal
def test_health_never_passing_raises_with_logs_and_restores_unit(standins: Inventory, tmp_path: Path) -> None:
    target = target_for(standins, "LT-POS-B2")
    assert target.unit is not None
    before = deploy_dirs(target.unit)
    with pytest.raises(DeployError) as e:
        deployer_for("terminal").deploy(make_spec(tmp_path, health_status=503), target, tmp_path / "work")
    msg = str(e.value)
    assert "health check never passed" in msg and "answered 503" in msg
    assert "sample listening" in e.value.logs and "install-ok" not in e.value.logs
    assert "install-ok" in (tmp_path / "work" / "install.log").read_text()
    assert deploy_dirs(target.unit) == before
    rc, _ = on_unit(target.unit, f"pgrep -u {target.unit['user']} -f '[s]erver.py --bind'")
    assert rc != 0, "the sample is still running on the unit"


@pytest.mark.terminal
def test_failing_and_hanging_install_steps(standins: Inventory, tmp_path: Path) -> None:
    target = target_for(standins, "LT-POS-A1")
    assert target.unit is not None
    before = deploy_dirs(target.unit)
    failing = make_spec(tmp_path, install=[{"run": "echo about to fail; exit 3"}])
    with pytest.raises(DeployError, match="install step exited 3") as e:
        deployer_for("terminal").deploy(failing, target, tmp_path / "w1")
    assert "about to fail" in e.value.logs

    hanging = make_spec(tmp_path, install=[{"run": "sleep 37", "timeout_s": 1}])
    t0 = time.monotonic()
    with pytest.raises(DeployError, match="install step timed out after 1 s"):
        deployer_for("terminal").deploy(hanging, target, tmp_path / "w2")
    assert time.monotonic() - t0 < 10
    rc, _ = on_unit(target.unit, f"pgrep -u {target.unit['user']} -f '[s]leep 37'")
    assert rc != 0, "the timed-out install step is still running on the unit"
    assert deploy_dirs(target.unit) == before


@pytest.mark.terminal
def test_cleanup_stale_kills_leftover_of_dead_harness(standins: Inventory, tmp_path: Path) -> None:
    deployer = deployer_for("terminal")
    target = target_for(standins, "LT-POS-A1")
    assert target.unit is not None
    dep = deployer.deploy(make_spec(tmp_path), target, tmp_path / "work")
    assert isinstance(dep, TerminalDeployment)
    # Simulate a harness that died: its connection is gone and its ledger entry names a dead pid.
    assert dep.remote is not None
    dep.remote.close()
    dead = subprocess.Popen(["true"])
    dead.wait()
    ledger = tmp_path / "lab_data" / "active" / f"{dep.ledger_key}.json"
    entry = json.loads(ledger.read_text())
    entry["owner_pid"] = dead.pid
    ledger.write_text(json.dumps(entry))
    assert on_unit(target.unit, f"kill -0 {dep.pid}")[0] == 0

    lines = deployer.cleanup_stale()
    assert len(lines) == 1 and "killed the leftover sample on unit LT-POS-A1-U01" in lines[0], lines
    assert on_unit(target.unit, f"kill -0 {dep.pid}")[0] != 0
    assert Path(dep.remote_dir).name not in deploy_dirs(target.unit)
    assert not ledger.exists()
    assert deployer.cleanup_stale() == []


@pytest.mark.terminal
def test_second_deployment_on_a_busy_unit_is_refused(standins: Inventory, tmp_path: Path) -> None:
    # A leftover holding the declared port would otherwise answer the new deployment's health check.
    deployer = deployer_for("terminal")
    target = target_for(standins, "LT-POS-B2")
    first = deployer.deploy(make_spec(tmp_path), target, tmp_path / "w1")
    try:
        with pytest.raises(DeployError, match=r"declared port\(s\) http \(18080\) already answer"):
            deployer.deploy(make_spec(tmp_path), target, tmp_path / "w2")
        assert first.alive()
    finally:
        deployer.teardown(first)
    assert target.unit is not None and deploy_dirs(target.unit) == set()


def test_target_without_unit_is_a_deploy_error(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match="target LT-POS-A1 has no inventory unit"):
        deployer_for("terminal").deploy(make_spec(tmp_path), Target("LT-POS-A1", "terminal"), tmp_path / "w")
