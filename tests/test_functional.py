"""Functional suites: use-case scenarios (pytest-bdd, Chinese Gherkin) and API conformance
(Schemathesis). Fast tests check the step library, placeholder resolution and scenario validation;
slow ones run the real CLI against the reference sample (compliant, and one planted defect at a
time) and the second sample, which brings its own feature files and no Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from harness.functional.conformance import _path_roles
from harness.functional.scenarios import collect
from harness.functional.steps import STEPS
from harness.functional.values import UnresolvedPlaceholder, resolve
from harness.media import tree_sha256
from harness.spec import load_spec
from harness.store import Evidence, Verdict, session
from tests.conftest import ROOT, SPECS, harness_cli

FUNCTIONAL = ["UC-01", "UC-02", "UC-03", "UC-04", "UC-05", "UC-06", "API-CONFORMANCE"]
START = (
    "exec python3 -m refpay serve --data-dir {workdir}/data --host {bind} --port {ports.https} "
    "--session-idle-timeout 8 --lockout-threshold 5"
)


def variant(tmp: Path, name: str, defects: str | None = None, extra: str = "", base: str = "refpay") -> Path:
    """A variant of a sample spec in a temp dir: its media hash recomputed (the feature files are
    part of the media), optionally a defect planted, optionally more YAML appended."""
    sample = ROOT / "samples" / base
    h = tree_sha256(sample)
    label = '{product_name: 参考支付服务, version: 1.0.0, producer: 参考支付科技有限公司, contact: "010-88886667"}'
    text = f"extends: {SPECS / (base + '.yaml')}\n"
    if base == "refpay":
        text += f'media:\n  - path: {sample}\n    sha256: "{h}"\n    role: source\n    label: {label}\n'
        if defects:
            text += f'deployment:\n  start:\n    run: "{START} --defects {defects}"\n'
    else:
        media = load_spec(SPECS / (base + ".yaml")).spec.media[0]
        lab = media.label
        assert lab is not None
        text += (
            f'media:\n  - path: {sample}\n    sha256: "{h}"\n    role: {media.role}\n'
            f"    label: {{product_name: {lab.product_name}, version: {lab.version}, "
            f'producer: {lab.producer}, contact: "{lab.contact}"}}\n'
        )
    p = tmp / f"{name}.yaml"
    p.write_text(text + extra, encoding="utf-8")
    return p


def _run(spec: Path, *extra: str) -> tuple[list[Verdict], str, int]:
    r = harness_cli("run", str(spec), *extra)
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, r.stdout + r.stderr
    with session() as s:
        vs = list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
    return vs, r.stdout + r.stderr, r.returncode


def _evidence(v: Verdict) -> list[Evidence]:
    with session() as s:
        return list(s.scalars(select(Evidence).where(Evidence.verdict_id == v.id)))


# -- the step library and placeholders ------------------------------------------------------------
def test_step_library_phrases_are_unambiguous():
    assert len(STEPS) >= 25
    examples = {
        s.phrase: re.sub(r"‹[^›]*›", "x", s.phrase).replace("（表格：字段 | 值）", "").replace("（或多）", "")
        for s in STEPS
    }
    for phrase, text in examples.items():
        matching = [s.phrase for s in STEPS if s.match(text) is not None]
        assert matching == [phrase], (phrase, matching)


def test_placeholders_resolve_from_the_spec_and_kept_values():
    spec = load_spec(SPECS / "refpay.yaml").spec
    assert resolve("<单笔限额+0.01>", spec, {}) == "50000.01"
    assert resolve("<最小金额>", spec, {}) == "0.01"
    assert resolve("<alice.密码>", spec, {}) == spec.account("alice").password
    assert resolve("<bob.account_id>", spec, {}) == spec.account("bob").account_id
    assert resolve("<limits.daily>", spec, {}) == "200000.00"
    assert resolve("流水号 <流水号>", spec, {"流水号": "T1"}) == "流水号 T1"
    with pytest.raises(UnresolvedPlaceholder):
        resolve("<不存在>", spec, {})


def test_path_parameters_are_matched_by_position():
    assert _path_roles("/v2/wallets/{walletNo}/ledger", "/v2/wallets/{account_id}/ledger") == {"walletNo": "account_id"}


# -- scenario validation --------------------------------------------------------------------------
@pytest.mark.parametrize("spec_name", ["refpay.yaml", "walletx.yaml"])
def test_every_use_case_of_the_samples_has_a_valid_scenario(spec_name):
    loaded = load_spec(SPECS / spec_name)
    found, problems = collect(loaded)
    assert not problems, [str(p) for p in problems]
    assert {f.use_case.id for f in found} == {uc.id for uc in loaded.spec.documentation.use_cases}


BAD_FEATURE = """# language: zh-CN
功能: 坏场景
  场景: 未知步骤与未声明的操作
    假如 以测试账户“alice”登录
    当 跳一支舞
    而且 调用操作“refund”
    而且 以测试账户“mallory”登录
    那么 应答字段“x”为“<不存在的参数>”
    而且 应答字段“x”等于记下的“从未记下”
"""


def _bad_spec(tmp_path: Path, uc02: str = "") -> Path:
    (tmp_path / "bad.feature").write_text(BAD_FEATURE, encoding="utf-8")
    extra = (
        "documentation:\n  use_cases:\n"
        f'    - {{id: UC-01, title: 登录, section: "5.1", scenario: {tmp_path / "bad.feature"}}}\n'
        f'    - {{id: UC-02, title: 登录失败提示, section: "5.2"{uc02}}}\n'
    )
    return variant(tmp_path, "bad", extra=extra)


def test_broken_scenarios_are_reported_with_file_and_line(tmp_path):
    found, problems = collect(load_spec(_bad_spec(tmp_path)))
    text = "\n".join(str(p) for p in problems)
    feature = tmp_path / "bad.feature"
    assert f"{feature}:5: 未知步骤“跳一支舞”" in text
    assert f"{feature}:6: " in text and "“refund”未在规格中声明" in text
    assert f"{feature}:7: " in text and "“mallory”未在规格中声明" in text
    assert f"{feature}:8: " in text and "<不存在的参数>" in text
    assert f"{feature}:9: " in text and "没有被记下" in text
    assert "UC-02（登录失败提示）既没有场景文件" in text
    assert not found


def test_a_recorded_reason_stands_in_for_a_scenario(tmp_path):
    spec = variant(
        tmp_path,
        "reason",
        extra='documentation:\n  use_cases:\n    - {id: UC-01, title: 登录, section: "5.1", '
        "no_scenario_reason: 仅能在柜面终端上操作，由现场检查覆盖}\n",
    )
    found, problems = collect(load_spec(spec))
    assert not problems and not found


@pytest.mark.slow
def test_broken_scenario_stops_the_run_with_exit_2_before_deploying(tmp_path):
    r = harness_cli("run", str(_bad_spec(tmp_path)))
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert f"{tmp_path / 'bad.feature'}:5: 未知步骤" in out
    assert "UC-02" in out
    m = re.search(r"run (R-[\w-]+):", r.stdout)
    assert m, out
    with session() as s:
        assert not list(s.scalars(select(Verdict).where(Verdict.run_id == m.group(1))))
    from harness.config import lab_config

    assert not (lab_config().run_dir(m.group(1)) / "deploy").exists(), "something was deployed"


# -- real runs --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_compliant_reference_passes_every_scenario_and_conformance(tmp_path):
    verdicts, log, rc = _run(variant(tmp_path, "compliant"), "--only", ",".join(FUNCTIONAL))
    assert rc == 0, log
    decided = {c for v in verdicts for c in v.clause_ids}
    assert decided == set(FUNCTIONAL), log
    assert all(v.outcome == "pass" for v in verdicts), [(v.check_id, v.detail[:300]) for v in verdicts]
    for v in verdicts:
        kinds = {e.kind for e in _evidence(v)}
        assert kinds & {"transcript", "screenshot"}, v.check_id  # HTTP transcript, or the browser's pictures
        if "API-CONFORMANCE" not in v.clause_ids:
            assert any(e.title == "场景步骤记录" for e in _evidence(v)), v.check_id
    browser = [v for v in verdicts if v.check_id.endswith("test_UC_01_1")]
    assert browser and any(e.kind == "screenshot" for e in _evidence(browser[0]))


PLANTED = {
    "history-missing": "test_suites/functional/test_use_cases.py::test_UC_05",
    "server-error": "test_suites/functional/test_api_conformance.py::test_answers_match_the_interface_document",
}


@pytest.mark.slow
@pytest.mark.full_calibration  # one run per defect: the test command plants both at once (below)
@pytest.mark.parametrize(("defect", "check"), sorted(PLANTED.items()))
def test_each_planted_functional_defect_fails_exactly_its_check(tmp_path, defect, check):
    _fails_exactly(tmp_path, [defect])


@pytest.mark.slow
def test_the_planted_functional_defects_fail_exactly_their_checks(tmp_path):
    # Each defect touches its own use case or the conformance check: planted together, each fails
    # its check and every other scenario still passes.
    _fails_exactly(tmp_path, sorted(PLANTED))


def _fails_exactly(tmp_path: Path, defects: list[str]) -> None:
    name = "+".join(defects)
    verdicts, log, rc = _run(variant(tmp_path, name, defects=",".join(defects)), "--only", ",".join(FUNCTIONAL))
    assert rc == 1, log
    failing = [v for v in verdicts if v.outcome == "fail"]
    assert {v.check_id for v in failing} == {PLANTED[d] for d in defects}, log
    assert not [v for v in verdicts if v.outcome == "error"], log
    for bad in failing:
        ev = _evidence(bad)
        assert ev and bad.summary
        if bad.check_id == PLANTED["server-error"]:
            from harness.config import lab_config

            run_dir = lab_config().run_dir(bad.run_id)
            texts = [(run_dir / e.path).read_text(encoding="utf-8") for e in ev if e.path.endswith(".txt")]
            assert any("最小复现请求" in t and "0.001" in t and "curl" in t for t in texts)
            assert "500" in bad.detail


@pytest.mark.slow
def test_second_sample_runs_its_own_scenarios_without_new_python(tmp_path):
    loaded = load_spec(SPECS / "walletx.yaml")
    ids = [uc.id for uc in loaded.spec.documentation.use_cases if uc.scenario] + ["API-CONFORMANCE"]
    verdicts, log, rc = _run(variant(tmp_path, "walletx", base="walletx"), "--only", ",".join(ids))
    assert rc == 0, log
    assert {c for v in verdicts for c in v.clause_ids} == set(ids)
    assert all(v.outcome == "pass" for v in verdicts), [(v.check_id, v.detail[:300]) for v in verdicts]
