"""The product's logs are the product's: what the lab's install steps printed (a card number in a
package's output, a command line) is the lab's transcript of the deployment, never read by 10.logs;
what the sample prints while it runs is. The 10.logs check (test_suites/data/test_logs.py) is
called as the suite holds it, on a process deployment; the container and terminal backends keep the
same split (tests/test_container_backend.py, tests/test_terminal_backend.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.deploy import GUARD, deployer_for
from harness.drivers import build_driver
from harness.evidence import EvidenceRecorder
from tests.conftest import ROOT
from tests.test_services import TARGET, make_spec

CARD = "6222021234567890128"  # a valid UnionPay number (Luhn), as 10.logs detects them


def _logs_check() -> Any:
    path = ROOT / "test_suites/data/test_logs.py"
    mod_spec = importlib.util.spec_from_file_location("suite_test_logs", path)
    assert mod_spec is not None and mod_spec.loader is not None
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod.test_logs_hold_no_c3_and_no_unmasked_c2


def _run(tmp_path: Path, **deployment: Any) -> tuple[Any, EvidenceRecorder]:
    loaded = make_spec(tmp_path, "hardened", **deployment)
    deployer = deployer_for("process")
    dep = deployer.deploy(loaded, TARGET, tmp_path / "w")
    GUARD.allow_deployment(dep)
    evidence = EvidenceRecorder(run_dir=tmp_path / "run", check_id="10.logs", model="process")
    try:
        driver = build_driver(loaded.spec, dep, GUARD)
        _logs_check()(loaded.spec, loaded.spec.parameters, dep, driver, evidence)
    finally:
        GUARD.revoke(dep.host)
        deployer.teardown(dep)
    return dep, evidence


def test_a_card_number_in_the_install_output_is_not_the_products_log(tmp_path: Path) -> None:
    dep, evidence = _run(tmp_path, install=[{"run": f"echo 'fetched test fixture card {CARD}'"}])
    assert f"card {CARD}" in dep.install_transcript()
    assert CARD not in dep.logs() and "shop up" in dep.logs()
    assert "未发现 C3 信息及未屏蔽的 C2 信息" in "；".join(evidence.observations)


def test_the_same_card_number_printed_by_the_running_product_is_found(tmp_path: Path) -> None:
    # The negative control: the check tells a card number in the product's output.
    start = f"echo 'charging card {CARD}'; exec {sys.executable} shop/shop.py {{bind}} {{ports.web}}"
    with pytest.raises(AssertionError, match="银行卡号"):
        _run(tmp_path, start={"run": start})
