"""Regression retests after a product change, a supplementary report, surveillance, and the example
GitLab pipeline run for real with gitlab-ci-local (shell executor)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.media import tree_sha256
from tests.conftest import ROOT, SPECS, harness_cli

pytestmark = pytest.mark.slow
TXN = {"5.txn.replay", "5.txn.tamper", "5.txn.idempotency", "5.txn.concurrency", "5.txn.amount"}
# The certified plan: the transaction items a signing change touches and items of other chapters it
# does not. A certificate's plan is whatever its run recorded; surveillance reruns exactly that, and
# the whole suite's verdicts on the reference build are the report tests' calibration.
CERTIFIED = ",".join(
    sorted(TXN | {"5.auth.lockout", "5.session.logout", "10.masking.display", "10.logs", "11.tls.protocol"})
)


def copy_sample(dest: Path, edit=None) -> Path:
    shutil.copytree(ROOT / "samples/refpay", dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if edit:
        edit(dest)
    return dest


def spec_for(path: Path, media: Path, version: str, extra: str = "") -> Path:
    # The media path is relative, as in a product repository: a CI job runs in a copy of it, and a
    # spec may name only files in its own folder (or the lab's reference folders).
    rel = os.path.relpath(media, path.parent)
    path.write_text(
        f"extends: {SPECS / 'refpay.yaml'}\n"
        f"certification_unit: {{version: '{version}'}}\n"
        f"sample: {{version: '{version}'}}\n"
        f"media:\n  - {{path: {rel}, sha256: '{tree_sha256(media)}', role: source}}\n" + extra,
        encoding="utf-8",
    )
    return path


# The changed release's documentation gives its own worked example of the new canonical string
# (the spec check proves the driver reproduces it before anything runs).
PIPE_SIGNING = (
    "driver:\n  signing:\n    separator: '|'\n    example:\n"
    "      values: {amount: '10.00', from_account: '6001', to_account: '6002', nonce: abc,\n"
    "               timestamp: '1700000000000'}\n"
    "      key: k3y-from-login\n"
    "      signature: d62c67d2294469973a3752d7c3db7743644a15542c62f2313f2d047ea6c75282\n"
)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def signing_edit(m: Path) -> None:
    replace_in(m / "refpay/signing.py", '"&".join', '"|".join')
    replace_in(m / "refpay/pages.py", ".join('&')", ".join('|')")


def replay_back(m: Path) -> None:
    # A change to the transfer handling that quietly brings the replay defect back.
    replace_in(m / "refpay/cli.py", "parse_defects(args.defects)", 'parse_defects(args.defects or "replay")')


def description(path: Path, kind: str, text: str, files: list[str]) -> Path:
    path.write_text(
        "product: 参考支付服务\nfrom_version: 1.0.0\nto_version: 1.0.1\nchanges:\n"
        f"  - kind: {kind}\n    description: {text}\n    files: {json.dumps(files)}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The certified version: a run of the certified plan and its report."""
    d = tmp_path_factory.mktemp("baseline")
    spec = spec_for(d / "baseline.yaml", copy_sample(d / "refpay"), "1.0.0")
    r = harness_cli("run", str(spec), "--only", CERTIFIED)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    return re.search(r"report (FTL-\d{4}-\d{4})", r.stdout).group(1)


def _report(stdout: str, out: Path | None = None) -> dict:
    if out is not None:
        return json.loads((out / "report" / "report.json").read_text())
    raise AssertionError(stdout)


def test_signing_change_reruns_the_transaction_checks_and_carries_the_rest(baseline, tmp_path):
    media = copy_sample(tmp_path / "refpay", signing_edit)
    spec = spec_for(tmp_path / "changed.yaml", media, "1.0.1", PIPE_SIGNING)
    desc = description(
        tmp_path / "changes.yaml", "signing", "签名分隔符改为 |", ["refpay/signing.py", "refpay/pages.py"]
    )
    out = tmp_path / "out"
    r = harness_cli("retest", baseline, str(spec), "--description", str(desc), "--ci", "--out", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    report = _report(r.stdout, out)
    assert report["kind"] == "supplementary" and report["title"]["zh"] == "补充检测报告"
    assert report["supplements"]["number"] == baseline
    rerun = {i["item_id"] for i in report["items"] if i["checks"]}
    carried = {i["item_id"] for i in report["items"] if i.get("carried")}
    assert rerun >= TXN
    assert not {i for i in rerun if not i.startswith("5.txn.")}
    assert {"10.masking.display", "11.tls.protocol", "5.auth.lockout"} <= carried
    assert all(i["carried"]["number"] == baseline for i in report["items"] if i.get("carried"))
    assert {c["kind"] for c in report["changes"]["changes"]} == {"version", "signing"}
    assert (out / "junit.xml").is_file() and (out / "summary.txt").read_text().startswith("retest of")


def test_a_retest_of_an_unchanged_sample_reproduces_the_baseline(baseline, tmp_path):
    spec = spec_for(tmp_path / "same.yaml", copy_sample(tmp_path / "refpay"), "1.0.0")
    out = tmp_path / "out"
    r = harness_cli("retest", baseline, str(spec), "--ci", "--out", str(out))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr
    report = _report(r.stdout, out)
    base = json.loads(next((Path(p) for p in _report_dirs(baseline)), None).joinpath("report.json").read_text())
    assert {i["item_id"]: i["verdict"] for i in report["items"]} == {i["item_id"]: i["verdict"] for i in base["items"]}


def _report_dirs(number: str) -> list[str]:
    from harness.config import lab_config

    return sorted(str(p) for p in lab_config().reports_dir.glob(f"{number}-r*"))


def test_surveillance_lists_what_regressed_on_a_newly_drawn_sample(baseline, tmp_path):
    spec = spec_for(tmp_path / "drawn.yaml", copy_sample(tmp_path / "refpay", replay_back), "1.0.0")
    r = harness_cli("surveil", baseline, str(spec))
    assert r.returncode == 1, r.stdout[-3000:] + r.stderr
    assert "REGRESSED: 5.txn.replay: certified 符合, now 不符合" in r.stdout
    assert "regressed: 5.txn.replay" in r.stderr


def _gitlab_repo(tmp_path: Path, edit, kind: str, files: list[str], extra: str = "") -> Path:
    repo = tmp_path / "product"
    repo.mkdir()
    media = copy_sample(repo / "refpay", edit)
    spec_for(repo / "sample-spec.yaml", media, "1.0.1", extra)
    description(repo / "changes.yaml", kind, "变更", files)
    shutil.copy(ROOT / "docs/ci/gitlab-ci.yml", repo / ".gitlab-ci.yml")
    git = ["git", "-c", "user.email=ci@lab.invalid", "-c", "user.name=ci"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "change"], cwd=repo, check=True)
    return repo


def _pipeline(repo: Path, baseline: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("gitlab-ci-local") is None:
        pytest.fail("gitlab-ci-local is not installed: lab_env/setup.sh --engine installs it")
    return subprocess.run(
        [
            "gitlab-ci-local", "--shell-isolation",
            "--variable", f"HARNESS_HOME={ROOT}",
            "--variable", f"BASELINE_REPORT={baseline}",
            "--variable", "CHANGED_SPEC=sample-spec.yaml",
            "--variable", "CHANGE_DESCRIPTION=changes.yaml",
        ],
        cwd=repo, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def test_gitlab_pipeline_exits_0_on_a_clean_change(baseline, tmp_path):
    repo = _gitlab_repo(
        tmp_path,
        signing_edit,
        "signing",
        ["refpay/signing.py", "refpay/pages.py"],
        PIPE_SIGNING,
    )
    r = _pipeline(repo, baseline)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "exit 0" in r.stdout
    kept = list(repo.rglob("retest-output/junit.xml"))
    assert kept, "the pipeline keeps the JUnit XML as an artifact"


def test_gitlab_pipeline_exits_1_when_a_change_brings_a_defect_back(baseline, tmp_path):
    repo = _gitlab_repo(tmp_path, replay_back, "transaction", ["refpay/cli.py"])
    r = _pipeline(repo, baseline)
    assert r.returncode == 1, r.stdout[-4000:] + r.stderr[-2000:]
    failing = re.search(r"failing clauses: ([\w., -]+?);", r.stdout)
    assert failing and "5.txn.replay" in failing.group(1).split(", "), r.stdout[-2000:]
    assert list(repo.rglob("retest-output/report/report.json")), "the report and evidence are kept"
