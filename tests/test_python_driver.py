"""A Python driver is a full citizen (issue 11): every check talks to the driver protocol, so RefPay
driven by hand-written Python code (tests/drivers/refpay_python.py, which knows nothing of the spec's
REST description) gets the verdicts the REST description gets.

The checks run here are the ones whose conduct is the driver protocol's (CHECKS says what each
exercises); the others talk to the sample's ports, files and source only, or call the driver as
these do, or are the slow ones (injection, login rate limiting, crafted input: a whole-suite run is
about five minutes on a busy two-core machine). Two in-process runs (``harness.run.run_sample``)
with the Python driver:

- the defective build (``--defects idor,weak-jwt``), every one of CHECKS: it fails exactly the
  checks the two defects are calibrated to, and every other check passes (none is not applicable);
- the compliant build, only the checks the defects are calibrated to: they pass.

The REST description's verdicts on the same builds are the calibration itself
(tests/test_report_workflow.py: the compliant build passes every check, a defect fails exactly
the checks it is mapped to), so neither run is repeated here through the REST driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from harness.media import tree_sha256
from harness.run import run_sample
from harness.spec import load_spec
from harness.spec.loader import _rebase
from harness.store import Verdict, session
from tests.conftest import ROOT, SPECS

DEFECTS = "idor,weak-jwt"
ENTRY_POINT = "tests.drivers.refpay_python:RefPayDriver"
MAPPED = {
    d["id"]: d["checks"] for d in yaml.safe_load((ROOT / "samples/refpay/defects.yaml").read_text(encoding="utf-8"))
}
EXPECTED_FAILING = {c for d in DEFECTS.split(",") for c in MAPPED[d]}

# check -> what of the driver protocol it exercises
CHECKS = {
    "test_suites/functional/test_api_conformance.py::test_answers_match_the_interface_document": (
        "operations' path templates and field roles, credentials, unsafe, stamp, wire_value"
    ),
    "test_suites/functional/test_use_cases.py::test_UC_02_1": "login_session: a refused login",
    "test_suites/functional/test_use_cases.py::test_UC_04_1": "login_session, call, returned: a transfer",
    "test_suites/service/test_load.py::test_service_level_holds_at_the_declared_concurrency": (
        "prepare and session_from: logins and transfers sent by the load generator's own client"
    ),
    "test_suites/transaction/test_authorization.py::test_other_accounts_things_are_off_limits": (
        "objects, info, payee_fields (the idor defect)"
    ),
    "test_suites/transaction/test_session.py::test_forged_session_tokens_are_refused": (
        "session, with_token: forged tokens in the session's place (the weak-jwt defect)"
    ),
    "test_suites/transaction/test_credentials.py::test_password_change_and_reset_require_the_owner": (
        "operations' password roles, fresh_account"
    ),
    "test_suites/transaction/test_mass_assignment.py::test_undeclared_privileged_fields_are_not_adopted": (
        "objects (the profile), info, fresh_account"
    ),
    "test_suites/transaction/test_transfers.py::test_tampered_signed_fields_are_rejected": (
        "signing, signing_key, prepare, with_signature"
    ),
    "test_suites/transaction/test_csrf.py::test_cookie_sessions_refuse_cross_site_state_changes": (
        "describe_auth, the cookie session and its anti-CSRF token: same_site, cross_site"
    ),
    "test_suites/data/test_minimisation.py::test_answers_carry_only_what_the_use_case_needs": (
        "objects, info, on_response"
    ),
}


def _spec(tmp: Path, name: str, *, python: bool, defects: str = "") -> Path:
    """refpay.yaml written out whole in ``tmp`` (paths made absolute, the media hashed as they are):
    with the Python driver in place of the REST description, and/or defects planted by its start
    step."""
    data: dict[str, Any] = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    _rebase(data, SPECS)
    for m in data["media"]:  # the sample as it is now (a defect being added elsewhere changes it)
        m["sha256"] = tree_sha256(Path(m["path"]))
    if python:
        rest = data["driver"]
        data["driver"] = {
            "kind": "python",
            "entry_point": ENTRY_POINT,
            "operations": list(rest["operations"]),
            "accounts": rest["accounts"],
        }
    if defects:
        data["deployment"]["start"]["run"] += f" --defects {defects}"
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    load_spec(path)  # a broken variant is this test's fault: say so before anything runs
    return path


def _verdicts(spec: Path, checks: set[str]) -> dict[str, tuple[str, str]]:
    """check ID -> (outcome, detail) of a run of these checks only."""
    result = run_sample(spec, suites=[ROOT / c for c in sorted(checks)])
    with session() as s:
        rows = list(s.scalars(select(Verdict).where(Verdict.run_id == result.run_id)))
    assert rows, f"run {result.run_id} recorded no verdict (exit {result.exit_code})"
    return {v.check_id: (v.outcome, v.detail[:300]) for v in rows}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    tmp = tmp_path_factory.mktemp("python-driver")
    return {
        "defective": _verdicts(_spec(tmp, "python-defective", python=True, defects=DEFECTS), set(CHECKS)),
        "compliant": _verdicts(_spec(tmp, "python-compliant", python=True), EXPECTED_FAILING),
    }


def test_the_checks_run_include_those_the_defects_are_calibrated_to():
    assert set(CHECKS) >= EXPECTED_FAILING
    assert all((ROOT / c.split("::")[0]).is_file() for c in CHECKS)


@pytest.mark.slow
def test_the_python_driver_fails_exactly_the_defects_checks_and_passes_the_rest(runs):
    py = runs["defective"]
    assert set(py) == set(CHECKS), sorted(set(py) ^ set(CHECKS))  # each check ran, once
    failing = {c for c, (o, _) in py.items() if o == "fail"}
    assert failing == EXPECTED_FAILING, {c: py[c] for c in failing ^ EXPECTED_FAILING}
    not_passing = {c: v for c, v in py.items() if c not in EXPECTED_FAILING and v[0] != "pass"}
    assert not not_passing, not_passing


@pytest.mark.slow
def test_the_defects_checks_pass_on_the_compliant_build_through_the_python_driver(runs):
    py = runs["compliant"]
    assert {c: v for c, v in py.items() if v[0] != "pass"} == {}
    assert set(py) == EXPECTED_FAILING
