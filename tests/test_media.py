"""Hostile or careless media (issue #15): links are fingerprinted and copied as links, never
followed; special files are never opened; tree walks are bounded; malformed contents are intake
findings with a clear line, never a crash after `spec check` said ok."""

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from harness.deploy.base import DeployError
from harness.deploy.process import copy_media
from harness.files import FileRefused, walk
from harness.intake import IntakeError, check_intake, register
from harness.media import inspect, tree_sha256
from harness.spec import load_spec
from tests.conftest import ROOT, SPECS
from tests.inprocess import run_harness

LINE = re.compile(r".+\.yaml:\d+: [^ ]+: .+")  # FILE:LINE: field: what


def submission(tmp_path: Path, edit=None, extra: str = "") -> Path:
    """The reference sample's media copied next to a variant spec, edited, with its hash declared."""
    media = tmp_path / "media"
    shutil.copytree(ROOT / "samples/refpay", media, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if edit:
        edit(media)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"extends: {SPECS / 'refpay.yaml'}\nmedia:\n  - {{path: media, sha256: '{tree_sha256(media)}'}}\n" + extra,
        encoding="utf-8",
    )
    return spec


def findings(spec: Path) -> list[str]:
    lines = [str(p) for p in check_intake(load_spec(spec))]
    assert all(LINE.fullmatch(x) for x in lines), lines
    return lines


def test_links_are_fingerprinted_as_links(tmp_path):
    (tmp_path / "a.txt").write_text("content")
    before = tree_sha256(tmp_path)
    (tmp_path / "link").symlink_to("a.txt")
    with_link = tree_sha256(tmp_path)
    assert with_link != before
    (tmp_path / "link").unlink()
    (tmp_path / "link").symlink_to("b.txt")  # same name, other target: another medium
    assert tree_sha256(tmp_path) != with_link
    (tmp_path / "dir").symlink_to(tmp_path.parent)  # a directory link: named, not descended into
    assert "dir" in inspect(tmp_path).files and inspect(tmp_path).files["dir"].startswith("link:")


def test_a_link_out_of_the_media_is_an_intake_error_and_never_copied(tmp_path):
    host = tmp_path / "host-folder"
    host.mkdir()
    (host / "secret").write_text("host file")

    def plant(media: Path) -> None:
        (media / "host").symlink_to(host)  # a directory symlink to a host folder
        (media / "docs-link").symlink_to("docs")  # inside the medium: fine, kept as a link

    spec = submission(tmp_path, plant)
    lines = findings(spec)
    assert lines == [f"{spec}:3: media[0]: host is a link to {host}, outside the medium (links are kept as links,"
                     " never followed)"]  # fmt: skip
    with pytest.raises(IntakeError):
        register(load_spec(spec))
    with pytest.raises(DeployError, match=r"host is a link to .* outside the medium"):
        copy_media(load_spec(spec), tmp_path / "work")
    assert not (tmp_path / "work" / "media" / "host" / "secret").exists()


def test_links_inside_the_media_are_copied_as_links(tmp_path):
    spec = submission(tmp_path, lambda m: (m / "docs-link").symlink_to("docs"))
    copy_media(load_spec(spec), tmp_path / "work")
    copied = tmp_path / "work" / "media" / "docs-link"
    assert copied.is_symlink() and os.readlink(copied) == "docs"
    assert not (tmp_path / "work" / "media" / "__pycache__").exists()


def test_special_files_are_never_opened(tmp_path):
    spec = submission(tmp_path, lambda m: os.mkfifo(m / "pipe"))
    t = time.monotonic()
    assert findings(spec) == [f"{spec}:3: media[0]: pipe is a FIFO: media hold files, directories and links only"]
    with pytest.raises(DeployError, match="pipe is a FIFO"):
        copy_media(load_spec(spec), tmp_path / "work")
    assert time.monotonic() - t < 10


@pytest.mark.parametrize("path", ["/proc", "/sys", "/dev", "/proc/kmsg", "/dev/zero", "/"])
def test_kernel_interfaces_and_the_whole_disk_are_not_media(path):
    t = time.monotonic()
    with pytest.raises(FileRefused):
        tree_sha256(Path(path))
    assert time.monotonic() - t < 15
    assert inspect(Path(path)).problems  # the intake form of the same refusal: a line, not a raise


def test_tree_walk_is_bounded(tmp_path):
    for i in range(30):
        (tmp_path / f"f{i}").write_text("")
    with pytest.raises(FileRefused, match="holds more than 20 entries"):
        walk(tmp_path, max_entries=20)
    deep = tmp_path / "d"
    deep.mkdir()
    for _ in range(70):
        deep = deep / "d"
        deep.mkdir()
    with pytest.raises(FileRefused, match="nested deeper than 64 directories"):
        walk(tmp_path)


MALFORMED = {
    "package.json list": (
        lambda m: (m / "package.json").write_text('{"dependencies": ["a", "b"]}'),
        "media[0]: package.json: dependencies is a list, expected an object of package: version",
    ),
    "package.json not an object": (
        lambda m: (m / "package.json").write_text("[1, 2]"),
        "media[0]: package.json: is a list, expected a JSON object",
    ),
    "package.json broken": (
        lambda m: (m / "package.json").write_text('{\n"dependencies": {,}\n}'),
        "media[0]: package.json: not valid JSON (line 2): Expecting property name enclosed in double quotes",
    ),
    "package.json deep": (
        lambda m: (m / "package.json").write_text("[" * 100000 + "]" * 100000),
        "media[0]: package.json: nested too deeply to read",
    ),
    "pyproject numbers": (
        lambda m: (m / "pyproject.toml").write_text("[project]\ndependencies = [1]\n"),
        "media[0]: pyproject.toml: project.dependencies[0] is a number, expected a requirement",
    ),
    "pyproject not a list": (
        lambda m: (m / "pyproject.toml").write_text("[project]\ndependencies = 'requests'\n"),
        "media[0]: pyproject.toml: project.dependencies is text, expected a list of requirements",
    ),
    "pyproject broken": (
        lambda m: (m / "pyproject.toml").write_text("[project\n"),
        "media[0]: pyproject.toml: not valid TOML: Expected ']' at the end of a table declaration (at line 1, "
        "column 9)",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_media_contents_are_intake_findings(tmp_path, case):
    edit, expected = MALFORMED[case]
    spec = submission(tmp_path, edit)
    assert findings(spec) == [f"{spec}:3: {expected}"]
    with pytest.raises(IntakeError, match=re.escape(expected)):
        register(load_spec(spec))


def test_python_source_is_parsed_within_bounds(tmp_path):
    def plant(m: Path) -> None:
        # The parser gives up on these (recursion, its own stack); the imports are still found.
        (m / "long_expr.py").write_text("import requests\nx = " + "1+" * 100_000 + "1\n")
        (m / "deep_unary.py").write_text("from flask import Flask\nx = " + "-" * 200_000 + "1\n")
        (m / "nul.py").write_bytes(b"import yaml\nx = '\0'\n")  # not Python: imports nothing we trust

    spec = submission(tmp_path, plant)
    assert findings(spec) == []
    comps = inspect(tmp_path / "media").components
    assert {"requests", "flask"} <= set(comps)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- a\n- b\n", "documentation.openapi: openapi.yaml: is a list, expected an OpenAPI document"),
        ("paths: {/x: null}\n", "documentation.openapi: openapi.yaml: paths./x is empty, expected a mapping"),
        ("paths: [a]\n", "documentation.openapi: openapi.yaml: paths is a list, expected a mapping of path"),
        ("paths: {/x: {get: 1}\n", "documentation.openapi: openapi.yaml line 2: paths: not valid YAML"),
        ("", "documentation.openapi: media/openapi.yaml is empty"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(f"{c}: &{c} [" + f"*{p}," * 9 + f"*{p}]\n" for p, c in zip("abcdef", "bcdefg", strict=True))
            + "paths: {}\n",
            "documentation.openapi: openapi.yaml line 5: f[7]: expands to more than 1,000,000 values",
        ),
    ],
)
def test_malformed_openapi_is_an_intake_finding(tmp_path, text, expected):
    spec = submission(
        tmp_path, lambda m: (m / "openapi.yaml").write_text(text), "documentation: {openapi: media/openapi.yaml}\n"
    )
    (line,) = findings(spec)
    assert line.startswith(f"{spec}:4: {expected}"), line
    with pytest.raises(IntakeError):
        register(load_spec(spec))


def test_spec_check_reports_what_intake_would_refuse(tmp_path):
    """`spec check` runs the same intake checks: nothing it calls ok crashes `intake` afterwards."""
    spec = submission(tmp_path, lambda m: (m / "package.json").write_text('{"dependencies": ["a"]}'))
    result = run_harness("spec", "check", str(spec))
    assert result.code == 2, result
    assert f"error: {spec}:3: media[0]: package.json: dependencies is a list" in result.stderr
    result = run_harness("intake", str(spec))
    assert result.code == 2 and "dependencies is a list" in result.stderr


def test_spec_hash_refuses_what_is_not_media(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    for path, why in [("/proc", "reaches a proc filesystem"), (str(tmp_path / "pipe"), "is a FIFO")]:
        result = run_harness("spec", "hash", path)
        assert result.code == 2 and f"error: {path}: " in result.stderr and why in result.stderr


def test_deployers_refuse_paths_outside_again_at_use(tmp_path):
    """Defence in depth: a spec that reached a deployer without the loader's checks still reads
    nothing of the host."""
    from harness.deploy.base import Target
    from harness.deploy.process import ProcessDeployment
    from harness.spec import SpecError

    loaded = load_spec(SPECS / "refpay.yaml")
    for outside in ("/etc/shadow", "../../../etc", "../sample_specs/../../etc"):
        with pytest.raises(SpecError, match="outside the spec's folder"):
            loaded.resolve(outside)
    loaded.spec.media[0].path = "/etc"  # bypasses the model
    with pytest.raises(SpecError):
        copy_media(loaded, tmp_path / "work")

    sample = tmp_path / "work" / "sample"
    sample.mkdir(parents=True)
    (sample / "ok.log").write_text("sample log line\n")
    (sample / "escape.log").symlink_to("/etc/passwd")
    dep = ProcessDeployment(
        target=Target("t", "process"),
        host="127.0.0.1",
        ports={},
        workdir=tmp_path / "work",
        log_files=["/etc/passwd", "../../../../etc/passwd", "escape.log", "ok.log"],
    )
    logs = dep.logs()
    assert "sample log line" in logs and "root:" not in logs
    for rel in ("/etc/passwd", "escape.log"):
        with pytest.raises(PermissionError):
            dep.read_file(rel)
