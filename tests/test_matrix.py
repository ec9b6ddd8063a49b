"""The deployment matrix: the same checks in a local process, a container, and on every terminal
model of the hardware list; a model without a unit is a plan error; a model that fails to deploy
gets error verdicts while the others go on; the scope guard refuses anything not deployed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from harness.deploy.scope import OutOfScope, ScopeGuard
from harness.store import Verdict, session
from tests.conftest import ROOT, harness_cli
from tests.test_run_failures import variant

CHECKS = "5.txn.replay,10.masking.display,11.tls.protocol"  # a quick subset for the failure cases
# What the backends change is how the lab reaches the sample: its ports and certificate, its files
# and logs, its traffic, a browser's view, killing and restarting it. One item of each kind of
# probe compares the backends; the whole suite against each is the reference runs' job.
MATRIX = (
    "9.exposure,11.tls.protocol,11.tls.ciphers,11.tls.certificate,11.cleartext,11.tls.hsts,10.logs,"
    "10.storage.c3,10.masking.display,5.txn.replay,5.txn.concurrency,5.session.logout,7.dr.recovery,UC-01"
)


def _engine_up() -> bool:
    return (
        shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    )


def _standins_up() -> bool:
    return (
        subprocess.run(
            ["python3", str(ROOT / "lab_env/standin_terminals.py"), "status"], capture_output=True
        ).returncode
        == 0
    )


def _verdicts(stdout: str) -> list[Verdict]:
    m = re.search(r"run (R-[\w-]+):", stdout)
    assert m, stdout
    with session() as s:
        return list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))


def _outcomes(vs: list[Verdict]) -> dict[tuple[str, str], str]:
    return {(v.check_id, v.model): v.outcome for v in vs}


@pytest.fixture(scope="module")
def process_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # A container and each terminal model must pass exactly what a local process passes.
    r = harness_cli("run", str(variant(tmp_path_factory.mktemp("p"), "p", "")), "--only", MATRIX, "--no-report")
    return {c: o for (c, _), o in _outcomes(_verdicts(r.stdout)).items()}


@pytest.mark.docker
def test_container_passes_the_same_checks_as_a_local_process(tmp_path, process_outcomes):
    if not _engine_up():
        pytest.fail("the Docker engine is not running: lab_env/setup.sh --engine sets it up")
    r = harness_cli("run", str(variant(tmp_path, "c", "")), "--backend", "container", "--only", MATRIX)
    got = {c: o for (c, m), o in _outcomes(_verdicts(r.stdout)).items() if m == "container"}
    assert got == process_outcomes, r.stdout[-3000:] + r.stderr
    assert set(got.values()) <= {"pass", "not_applicable"} and "pass" in got.values()
    report = json.loads(Path(r.stdout.strip().splitlines()[-1]).read_text())
    dep = report["deployments"][0]
    assert dep["backend"] == "container" and dep["image_id"].startswith("sha256:")
    assert report["sample"]["images"], "the image ID is recorded with the media hashes"


@pytest.mark.terminal
def test_every_listed_terminal_model_is_tested_and_reported(tmp_path, process_outcomes):
    if not _standins_up():
        pytest.fail("stand-in terminals are down: python3 lab_env/standin_terminals.py up")
    r = harness_cli("run", str(variant(tmp_path, "t", "")), "--backend", "terminal", "--only", MATRIX)
    outcomes = _outcomes(_verdicts(r.stdout))
    models = {m for _, m in outcomes}
    assert models == {"LT-POS-A1", "LT-POS-B2"}
    for model in models:
        assert {c: o for (c, m), o in outcomes.items() if m == model} == process_outcomes
    report = json.loads(Path(r.stdout.strip().splitlines()[-1]).read_text())
    assert set(report["per_model"]) == models


def test_model_without_a_unit_is_a_plan_error_naming_it(tmp_path):
    spec = variant(
        tmp_path,
        "nounit",
        "hardware:\n  - {model: LT-NOPE-9, configuration: x, units: 1, os: y}\n",
    )
    r = harness_cli("run", str(spec), "--backend", "terminal")
    assert r.returncode == 2
    assert "LT-NOPE-9" in r.stdout + r.stderr and "no unit in the lab inventory" in r.stdout + r.stderr


@pytest.mark.terminal
def test_a_model_that_fails_to_deploy_errors_while_the_other_goes_on(tmp_path):
    if not _standins_up():
        pytest.fail("stand-in terminals are down: python3 lab_env/standin_terminals.py up")
    inv = yaml.safe_load((ROOT / "lab_env/inventory.yaml").read_text())
    inv["units"][1]["host"] = "10.213.250.2"  # an address of the lab's own range with no unit behind it
    inv_path = tmp_path / "inventory.yaml"
    inv_path.write_text(yaml.safe_dump(inv, allow_unicode=True))
    r = harness_cli(
        "run",
        str(variant(tmp_path, "broken", "")),
        "--backend",
        "terminal",
        "--only",
        CHECKS,
        "--no-report",
        env={"HARNESS_INVENTORY": str(inv_path)},
    )
    assert r.returncode == 3, r.stdout + r.stderr
    outcomes = _outcomes(_verdicts(r.stdout))
    assert {o for (_, m), o in outcomes.items() if m == "LT-POS-A1"} == {"pass"}
    broken = [v for v in _verdicts(r.stdout) if v.model == "LT-POS-B2"]
    assert broken and all(v.outcome == "error" and "10.213.250.2" in v.detail for v in broken)


def test_scope_guard_refuses_what_was_not_deployed():
    g = ScopeGuard()
    g.allow("127.0.0.1", [8443])
    g.check("127.0.0.1", 8443)
    g.check_url("https://127.0.0.1:8443/x")
    for host in ("10.0.0.1", "192.168.1.1", "8.8.8.8", "127.0.0.2"):
        with pytest.raises(OutOfScope, match=host):
            g.check(host, 8443)
    g.revoke("127.0.0.1", [8443])
    with pytest.raises(OutOfScope, match="nothing deployed"):
        g.check("127.0.0.1", 8443)


ROGUE_SUITE = """
import pytest
from harness.deploy import GUARD
from harness.probes import tls

@pytest.mark.clause("11.tls.protocol")
def test_probe_outside_scope(deployment, evidence):
    tls.scan("127.0.0.2", deployment.ports["https"], GUARD)
"""


def test_a_probe_outside_the_scope_is_an_error_naming_the_address(tmp_path):
    suite = tmp_path / "rogue" / "test_rogue.py"
    suite.parent.mkdir()
    suite.write_text(ROGUE_SUITE)
    r = harness_cli("run", str(variant(tmp_path, "rogue", "")), "--suite", str(suite), "--no-report")
    assert r.returncode == 3
    (v,) = _verdicts(r.stdout)
    assert v.outcome == "error" and "127.0.0.2" in v.detail and "outside this run's scope" in v.detail
