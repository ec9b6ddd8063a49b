import os
import re
import time
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


# -- hostile or careless specs (issue #15): every problem one line FILE:LINE: field: what ------------
def _problems(p: Path) -> list[str]:
    with pytest.raises(SpecError) as e:
        load_spec(p)
    lines = [str(x) for x in e.value.problems]
    for line in lines:
        assert re.fullmatch(r".+\.yaml:\d+: .+?: .+", line), line  # FILE:LINE: field: what
    return lines


def _variant(tmp_path: Path, body: str, name: str = "v.yaml") -> Path:
    return _broken_named(tmp_path, name, f"extends: {SPECS / 'refpay.yaml'}\n{body}")


def _broken_named(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_sample_paths_stay_in_the_sample_directory(tmp_path):
    p = _variant(tmp_path, "deployment:\n  log_files: [/etc/shadow, ../../x, logs/ok.log]\n  data_files: [a/../../b]\n")
    lines = _problems(p)
    assert f"{p}:3: deployment.log_files[0]: /etc/shadow is absolute" in lines[0]
    assert any(f"{p}:3: deployment.log_files[1]: ../../x is not a file inside" in x for x in lines)
    assert any(f"{p}:4: deployment.data_files[0]" in x for x in lines)
    assert len(lines) == 3


def test_spec_paths_stay_in_the_spec_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inside.md").write_text("x")
    (tmp_path / "sub" / "hostlink").symlink_to("/etc")
    p = _variant(
        tmp_path,
        "media:\n  - {path: ../../../etc, sha256: '" + "a" * 64 + "'}\n"
        "documentation:\n  scope: /etc/passwd\n  install_guide: sub/hostlink/passwd\n  openapi: sub/inside.md\n"
        "deployment:\n  container: {image_archive: /dev/zero}\n",
    )
    lines = _problems(p)
    text = "\n".join(lines)
    assert f"{p}:3: media[0].path: ../../../etc leads outside the spec's folder" in text
    assert f"{p}:5: documentation.scope: /etc/passwd leads outside" in text
    assert f"{p}:6: documentation.install_guide: sub/hostlink/passwd leads outside" in text  # through a link
    assert f"{p}:9: deployment.container.image_archive: /dev/zero leads outside" in text
    assert "openapi" not in text
    assert len(lines) == 4
    p = _variant(tmp_path, "deployment:\n  container: {build_context: ../..}\n")
    assert _problems(p) == [
        f"{p}:3: deployment.container.build_context: ../.. leads outside the spec's folder ({tmp_path}): "
        "name a file of the submission"
    ]


def test_extends_stays_in_the_spec_folder_and_never_opens_special_files(tmp_path):
    for target in ("/proc/kmsg", "/dev/zero", "../../../../etc/passwd"):
        p = _broken_named(tmp_path, "v.yaml", f"extends: {target}\n")
        (line,) = _problems(p)
        assert line.startswith(f"{p}:1: extends: ") and "outside" in line


def test_a_spec_that_is_not_a_regular_file_is_one_line(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    (line,) = _problems(fifo)
    assert line == f"{fifo}:1: file: the spec file is a FIFO, not a regular file"
    big = _broken_named(tmp_path, "big.yaml", "a: " + "x" * (2 << 20) + "\n")
    (line,) = _problems(big)
    assert line.startswith(f"{big}:1: file: the spec file is larger than")


def test_wheels_are_package_requirements_only(tmp_path):
    p = _variant(
        tmp_path,
        "deployment:\n  container:\n    wheels:\n      - -r\n      - /etc/shadow\n"
        "      - 'evil @ https://example.invalid/evil.whl'\n      - 'cryptography>=42; python_version >= \"3.8\"'\n",
    )
    lines = _problems(p)
    assert f"{p}:5: deployment.container.wheels[0]: '-r' is a pip option, not a package" in lines[0]
    assert lines[1].startswith(f"{p}:6: deployment.container.wheels[1]: not a package requirement (PEP 508)")
    assert lines[2].startswith(f"{p}:7: deployment.container.wheels[2]: evil @ https://example.invalid/evil.whl: only")
    assert len(lines) == 3


def test_yaml_1_1_surprises_are_refused_or_read_correctly(tmp_path):
    p = _variant(
        tmp_path,
        "deployment:\n  ports: [{name: https, port: 1:20}]\n  health: {timeout_s: true, interval_s: .nan}\n"
        "  start: {run: x, timeout_s: .inf}\nparameters: {lockout_threshold: on}\n",
    )
    text = "\n".join(_problems(p))
    assert f"{p}:3: deployment.ports[0].port: Input should be a valid integer" in text and "'1:20' is text" in text
    assert f"{p}:4: deployment.health.timeout_s: input should be a valid number; YAML read true as true/false" in text
    assert f"{p}:4: deployment.health.interval_s: Input should be a finite number" in text
    assert f"{p}:5: deployment.start.timeout_s: Input should be a finite number" in text
    assert f"{p}:6: parameters.lockout_threshold" in text  # "on" is text in YAML 1.2, not true (= 1)


def test_yaml_1_2_scalars():
    from harness.safeyaml import load

    data, _ = load("a: 1:20\nb: yes\nc: 012\nd: 0o17\ne: 2024-01-01\nf: 0x1F\ng: ~\nh: true\n")
    assert data == {"a": "1:20", "b": "yes", "c": 12, "d": 15, "e": "2024-01-01", "f": 31, "g": None, "h": True}


def test_duplicate_keys_name_both_lines(tmp_path):
    p = _variant(tmp_path, "sample:\n  version: 1.0.0\n  version: '2'\n")
    assert _problems(p) == [f"{p}:4: sample.version: given twice, at lines 3 and 4: keep one"]


def test_an_alias_bomb_is_refused_while_read(tmp_path):
    levels = ["a: &l0 [" + ",".join(["x"] * 10) + "]"]
    levels += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    p = _variant(tmp_path, "\n".join(levels) + "\nsample: {condition: *l8}\n")
    t = time.monotonic()
    (line,) = _problems(p)
    assert time.monotonic() - t < 5  # refused, not expanded (10**9 values)
    assert "expands to more than 100,000 values" in line and line.startswith(f"{p}:")
    cyclic = _variant(tmp_path, "sample: &s {condition: *s}\n", "c.yaml")
    (line,) = _problems(cyclic)
    assert line == f"{cyclic}:2: sample.condition: the alias *s refers to a collection that contains it"


def test_encodings(tmp_path):
    text = f"extends: {SPECS / 'refpay.yaml'}\nsample: {{condition: 样品完好，可正常运行}}\n"
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes(text.encode("gbk"))
    assert load_spec(gbk).spec.sample.condition == "样品完好，可正常运行"  # a Chinese lab's editor default
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes(text.encode("utf-16"))
    assert _problems(utf16) == [f"{utf16}:1: encoding: the file is UTF-16 text: save it as UTF-8 (or GBK)"]
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(text.encode() + b"deployment: {start: {run: a\0b}}\n")
    (line,) = _problems(nul)
    assert line.startswith(f"{nul}:3: encoding: the file contains NUL bytes")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"sample: {condition: caf\xe9 ok}\n")
    (line,) = _problems(latin)
    assert line.startswith(f"{latin}:1: encoding: the file is neither UTF-8 nor GBK text (byte 0xe9)")


def test_deep_nesting_and_long_extends_chains_are_one_line(tmp_path):
    p = _variant(tmp_path, "sample: {condition: " + "[" * 20000 + "]" * 20000 + "}\n")
    (line,) = _problems(p)
    assert line.startswith(f"{p}:2: sample.condition[0][0]") and line.endswith("nested deeper than 64 levels")
    for i in range(20):
        _broken_named(tmp_path, f"c{i}.yaml", f"extends: c{i + 1}.yaml\n")
    _broken_named(tmp_path, "c20.yaml", f"extends: {SPECS / 'refpay.yaml'}\n")
    (line,) = _problems(tmp_path / "c0.yaml")
    assert line.endswith(":1: extends: more than 8 specs extend one another: shorten the chain")


def test_an_error_in_a_base_is_blamed_on_the_base(tmp_path):
    base = _variant(tmp_path, "deployment:\n  ports: [{name: https, port: 99999}]\n", "base.yaml")
    v = _broken_named(tmp_path, "v.yaml", "extends: base.yaml\nsample: {versoin: 1}\n")
    assert _problems(v) == [
        f"{v}:2: sample.versoin: unknown field (a typo?)",
        f"{base}:3: deployment.ports[0].port: Input should be less than or equal to 65535",
    ]
    # A list in the variant replaces the base's whole list: its items' problems are the variant's.
    lists = _broken_named(tmp_path, "lists.yaml", "extends: base.yaml\ndriver:\n  accounts: [{user: a}]\n")
    assert f"{lists}:3: driver.accounts[0].name: Field required" in _problems(lists)
    broken_yaml = _broken_named(tmp_path, "base.yaml", "sample: [unclosed\n")
    (line,) = _problems(v)
    assert line.startswith(f"{broken_yaml}:2: ") and "not valid YAML" in line


def test_names_too_long_and_nul_in_paths(tmp_path):
    p = _broken_named(tmp_path, "v.yaml", "extends: " + "a" * 300 + ".yaml\n")
    assert _problems(p) == [f"{p}:1: extends: the path has a name longer than 255 bytes ({'a' * 24}...)"]
    p = _variant(tmp_path, 'media:\n  - {path: "a\\0b", sha256: \'' + "a" * 64 + "'}\n")
    assert _problems(p) == [f"{p}:3: media[0].path: the path contains a NUL byte"]
    (line,) = _problems(tmp_path / ("b" * 300 + ".yaml"))
    assert line.endswith("file: the spec file has a name longer than 255 bytes (bbbbbbbbbbbbbbbbbbbbbbbb...)")


def test_template_placeholders_are_names_and_known(tmp_path):
    p = _variant(
        tmp_path,
        "deployment:\n"
        "  start: {run: 'serve {host.__class__} --port {ports.nope} --user {username}'}\n"
        "  env: {A: '{ports}', B: '{0}', C: '{bind!r}', D: '{workdir:>9}', E: 'x}'}\n"
        "  health: {url: 'https://{host}:{ports.https}/{workdir}'}\n"
        "driver:\n"
        "  operations:\n"
        "    account: {method: GET, path: '/a/{account_id[0]}', headers: {X: '{anything_goes}'}}\n",
    )
    lines = _problems(p)
    assert lines == [
        f"{p}:3: deployment.start.run: {{host.__class__}}: a placeholder is a name (letters, digits, _), or "
        "{ports.NAME} or {services.NAME.FIELD}",
        f"{p}:4: deployment.env.A: {{ports}}: write it as {{ports.NAME}}",
        f"{p}:4: deployment.env.B: {{0}}: a placeholder is a name (letters, digits, _), or {{ports.NAME}} or "
        "{services.NAME.FIELD}",
        f"{p}:4: deployment.env.C: {{bind!r}}: a placeholder is a name only, without ! or :",
        f"{p}:4: deployment.env.D: {{workdir:>9}}: a placeholder is a name only, without ! or :",
        f"{p}:4: deployment.env.E: Single '}}' encountered in format string; write a literal brace as {{{{ or }}}}",
        f"{p}:5: deployment.health.url: unknown placeholder {{workdir}}; available: {{host}}, {{ports.https}}",
        f"{p}:8: driver.operations.account.path: {{account_id[0]}}: a placeholder is a name (letters, digits, _),"
        " or {ports.NAME} or {services.NAME.FIELD}",
    ]
    p = _variant(tmp_path, "deployment:\n  start: {run: 'serve --port {ports.nope} --user {username}'}\n")
    assert _problems(p) == [
        f"{p}:3: deployment.start.run: unknown placeholder {{ports.nope}}; available: {{bind}}, {{host}}, "
        "{ports.https}, {workdir}",
        f"{p}:3: deployment.start.run: unknown placeholder {{username}}; available: {{bind}}, {{host}}, "
        "{ports.https}, {workdir}",
    ]


def test_templating_api():
    from types import SimpleNamespace

    from harness.templating import TemplateError, placeholders, render, render_obj, unknown

    assert placeholders("{host}:{ports.https}/{{literal}}/{x}") == ["host", "ports.https", "x"]
    assert unknown("{host}{ports.web}{y}", {"host", "ports.https"}) == ["ports.web", "y"]
    values = {"host": "127.0.0.1", "ports": SimpleNamespace(https=8443), "amount": 12}
    assert render("https://{host}:{ports.https}/{{x}}", values) == "https://127.0.0.1:8443/{x}"
    assert render_obj({"a": "{amount}", "b": ["{host}"]}, values) == {"a": 12, "b": ["127.0.0.1"]}
    for bad in ("{host.__class__}", "{ports.__dict__}", "{ports[0]}", "{host!r}", "{0}", "{}", "{_x}", "{a.b}"):
        with pytest.raises(TemplateError):
            render(bad, values)
    with pytest.raises(TemplateError, match=r"unknown placeholder \{ports.web\}; ports has: https"):
        render("{ports.web}", values)


def test_service_placeholders_are_known_by_the_declared_services(tmp_path):
    p = _variant(
        tmp_path,
        "deployment:\n  services: [{name: db, kind: postgresql}]\n"
        "  env: {DB: '{services.db.url}', C: '{services.cache.url}', P: '{services.db.__dict__}'}\n"
        "  health: {url: 'https://{host}:{ports.https}/{services.db.port}'}\n",
    )
    lines = _problems(p)
    assert [x.split(": ", 2)[1] for x in lines] == ["deployment.env.C", "deployment.env.P", "deployment.health.url"]
    assert "unknown placeholder {services.cache.url}" in lines[0]
    assert "{services.db.__dict__}: a placeholder is a name" in lines[1]
    assert "unknown placeholder {services.db.port}" in lines[2]
