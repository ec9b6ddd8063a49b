from pathlib import Path

import pytest

from harness.spec import SpecError, load_spec
from tests.conftest import SPECS, harness_cli


def test_reference_specs_load():
    for name in ("refpay.yaml", "refpay-defective.yaml"):
        loaded = load_spec(SPECS / name)
        assert loaded.spec.driver.kind == "rest"
        assert loaded.spec.parameters.lockout_threshold == 5


def test_variant_spec_merges_over_its_base():
    base = load_spec(SPECS / "refpay.yaml").spec
    variant = load_spec(SPECS / "refpay-defective.yaml").spec
    assert variant.sample.version == "1.0.0-defective"
    assert variant.sample.name == base.sample.name  # inherited
    assert "--defects" in variant.deployment.start.run
    assert variant.deployment.install == base.deployment.install


def _broken(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "broken.yaml"
    p.write_text(text, encoding="utf-8")
    return p


BROKEN = """\
extends: {base}
sample:
  name: 参考支付服务
  versoin: 2
deployment:
  ports:
    - {{name: https, port: 99999}}
parameters:
  lockout_threshold: 0
applicability:
  "12": {{applicable: false}}
"""


def test_every_problem_is_reported_with_file_field_and_line(tmp_path):
    p = _broken(tmp_path, BROKEN.format(base=SPECS / "refpay.yaml"))
    with pytest.raises(SpecError) as e:
        load_spec(p)
    lines = [str(x) for x in e.value.problems]
    text = "\n".join(lines)
    assert "sample.versoin: unknown field" in text
    assert "deployment.ports[0].port" in text
    assert "parameters.lockout_threshold" in text
    assert "applicability.12" in text and "needs a reason" in text
    assert all(line.startswith(str(p)) for line in lines)
    assert f"{p}:4: sample.versoin" in text  # the line of the offending key


def test_yaml_syntax_error_names_the_line(tmp_path):
    p = _broken(tmp_path, "applicant:\n  name: [unclosed\n")
    with pytest.raises(SpecError) as e:
        load_spec(p)
    assert "not valid YAML" in str(e.value)
    assert f"{p}:" in str(e.value)


def test_cli_exits_2_with_clear_lines_and_no_traceback(tmp_path):
    p = _broken(tmp_path, BROKEN.format(base=SPECS / "refpay.yaml"))
    r = harness_cli("intake", str(p))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout
    assert r.stderr.count("error: ") >= 4
    r = harness_cli("run", str(p))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr + r.stdout


def test_missing_spec_file(tmp_path):
    r = harness_cli("intake", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2
    assert "no such spec file" in r.stderr


def test_circular_extends(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(SpecError, match="circular"):
        load_spec(a)


def test_a_number_where_text_is_needed_says_to_quote_it(tmp_path):
    p = _broken(tmp_path, f"extends: {SPECS / 'refpay.yaml'}\nsample: {{version: 1.10}}\n")
    with pytest.raises(SpecError, match=r"sample.version: must be text; YAML read 1.1 as a number: quote it"):
        load_spec(p)


def test_use_case_without_scenario_carries_its_reason_into_the_plan(tmp_path):
    from harness.plan import Target, build_plan

    p = _broken(
        tmp_path,
        f"extends: {SPECS / 'refpay.yaml'}\n"
        "documentation:\n  use_cases:\n"
        "    - {id: UC-09, title: 打印回单, section: '5.9', no_scenario_reason: 需要专用打印机，由工程师现场核验}\n",
    )
    plan = build_plan(load_spec(p), [], [Target("process", "process")])
    uc = plan.item("UC-09")
    assert not uc.applicable and "需要专用打印机" in (uc.reason or "")
