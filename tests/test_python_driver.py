"""A Python driver is a full citizen (issue 11): every check talks to the driver protocol, so RefPay
driven by hand-written Python code (tests/drivers/refpay_python.py, which knows nothing of the spec's
REST description) gets exactly the verdicts the REST description gets.

Three whole-suite runs, in-process (``harness.run.run_sample``), one each:

- the defective build (``--defects idor,weak-jwt``) through the REST description: the reference;
- the same build through the Python driver: check by check the same verdict, so it fails exactly
  the checks the REST driver fails (and those are the ones the two defects are calibrated to);
- the compliant build through the Python driver: the same checks, every one passes, and the ones
  not applicable are the ones not applicable through the REST description.

The compliant build through the REST description is tests/test_reference_sample.py's run (every
check passes); the defective REST run here gives the same not-applicable decisions, since the two
planted defects change no applicability.
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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]  # three whole-suite runs

DEFECTS = "idor,weak-jwt"
ENTRY_POINT = "tests.drivers.refpay_python:RefPayDriver"
MAPPED = {
    d["id"]: d["checks"] for d in yaml.safe_load((ROOT / "samples/refpay/defects.yaml").read_text(encoding="utf-8"))
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


def _verdicts(spec: Path) -> dict[str, tuple[str, str]]:
    """check ID -> (outcome, detail) of one whole-suite run."""
    result = run_sample(spec)
    with session() as s:
        rows = list(s.scalars(select(Verdict).where(Verdict.run_id == result.run_id)))
    assert rows, f"run {result.run_id} recorded no verdict (exit {result.exit_code})"
    return {v.check_id: (v.outcome, v.detail[:300]) for v in rows}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, tuple[str, str]]]:
    tmp = tmp_path_factory.mktemp("python-driver")
    return {
        "rest-defective": _verdicts(_spec(tmp, "rest-defective", python=False, defects=DEFECTS)),
        "python-defective": _verdicts(_spec(tmp, "python-defective", python=True, defects=DEFECTS)),
        "python-compliant": _verdicts(_spec(tmp, "python-compliant", python=True)),
    }


def _outcomes(vs: dict[str, tuple[str, str]], outcome: str) -> set[str]:
    return {c for c, (o, _) in vs.items() if o == outcome}


def test_the_python_driver_fails_exactly_the_checks_the_rest_description_fails(runs):
    rest, py = runs["rest-defective"], runs["python-defective"]
    expected = {c for d in DEFECTS.split(",") for c in MAPPED[d]}
    assert _outcomes(rest, "fail") == expected, rest  # the reference itself is calibrated
    assert set(py) == set(rest)
    differ = {c: (rest[c], py[c]) for c in rest if rest[c][0] != py[c][0]}
    assert not differ, differ


def test_the_python_driver_passes_the_whole_suite_on_the_compliant_build(runs):
    rest, py = runs["rest-defective"], runs["python-compliant"]
    assert set(py) == set(rest)
    not_passing = {c: v for c, v in py.items() if v[0] not in ("pass", "not_applicable")}
    assert not not_passing, not_passing
    assert _outcomes(py, "not_applicable") == _outcomes(rest, "not_applicable")
    assert "test_suites/functional/test_api_conformance.py::test_answers_match_the_interface_document" in _outcomes(
        py, "pass"
    )
