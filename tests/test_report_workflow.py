"""The report of a real reference run, through its whole life: draft, engineer records, waivers,
signing in order, the PDF as a reader sees it, verification and tampering, revision, submission,
deadlines, and judging it later as an earlier report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SPECS, harness_cli


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One reference run for the module, in a lab of its own: these tests are one story (draft,
    records, waivers, signatures, revision) and must not see other modules' reports or waivers."""
    base = tmp_path_factory.mktemp("report-lab")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_DATA_DIR", str(base / "data"))
        mp.setenv("HARNESS_REPORTS_DIR", str(base / "reports"))
        mp.delenv("HARNESS_DB_URL", raising=False)
        spec = _reference_spec(base)
        r = harness_cli("run", str(spec))
        run = re.search(r"run (R-[\w-]+):", r.stdout)
        number = re.search(r"report (FTL-\d{4}-\d{4})", r.stdout)
        assert run and number, r.stdout + r.stderr
        out_dir = base / "reports" / f"{number.group(1)}-r1"
        yield {"run": run.group(1), "number": number.group(1), "dir": out_dir, "base": base, "spec": spec}


def _reference_spec(base: Path) -> Path:
    """The reference spec, its media hash pinned to the sample as it is now: these tests are about
    the report, and must not depend on other work keeping the spec's declared hash current."""
    from harness.intake import tree_sha256

    data = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    media = [
        {**m, "path": str((SPECS / m["path"]).resolve()), "sha256": tree_sha256((SPECS / m["path"]).resolve())}
        for m in data["media"]
    ]
    spec = base / "refpay-report-test.yaml"
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(yaml.safe_dump({"extends": str(SPECS / "refpay.yaml"), "media": media}, allow_unicode=True))
    return spec


def _content(d: Path) -> dict[str, Any]:
    return json.loads((d / "report.json").read_text(encoding="utf-8"))


def _item(content: dict[str, Any], item_id: str) -> dict[str, Any]:
    return next(i for i in content["items"] + content["functional"] if i["item_id"] == item_id)


def test_1_run_writes_a_complete_draft(lab: dict[str, Any]) -> None:
    d = lab["dir"]
    for f in ("report.json", "report.html", "report.pdf", "manifest.json"):
        assert (d / f).is_file(), f
    c = _content(d)
    assert c["number"] == lab["number"] and c["revision"] == 1
    for key in (
        "title",
        "lab",
        "applicant",
        "producer",
        "basis",
        "sample",
        "dates",
        "environment",
        "items",
        "functional",
        "per_model",
        "deviations",
        "exclusions",
        "statement",
        "decision_rule",
        "conclusion",
        "signatures",
        "evidence_manifest",
    ):
        assert c[key] is not None, key
    assert c["lab"]["name"] and c["lab"]["address"]
    assert c["applicant"]["contact"]["name"]
    assert c["sample"]["media"][0]["sha256"] and c["sample"]["hardware"]
    assert c["dates"]["received"] and c["dates"]["tests_completed"] and c["dates"]["due"]
    assert c["dates"]["issued"] is None  # not issued before approval
    assert c["environment"]["tools"]
    assert "仅对所检样品有效" in c["statement"]
    assert len(c["evidence_manifest"]["sha256"]) == 64
    r = harness_cli("verify", str(d))
    assert r.returncode == 0, r.stdout + r.stderr


def test_2_prepare_refuses_and_names_what_is_missing(lab: dict[str, Any]) -> None:
    r = harness_cli("report", "sign", lab["number"], "--role", "prepared", "--name", "李四")
    assert r.returncode == 2
    assert "7.dr.plan" in r.stderr and "待判定" in r.stderr  # a document item nobody recorded yet
    r = harness_cli("report", "sign", lab["number"], "--role", "approved", "--name", "王五")
    assert r.returncode == 2 and "sign 'prepared' before 'approved'" in r.stderr


def test_3_record_rules_and_evidence(lab: dict[str, Any], tmp_path: Path) -> None:
    run = lab["run"]
    r = harness_cli("record", run, "5.txn.replay", "--verdict", "符合", "--note", "x", "--engineer", "李四")
    assert r.returncode == 2 and "automated checks" in r.stderr
    r = harness_cli("record", run, "7.dr.plan", "--verdict", "maybe", "--note", "", "--engineer", "李四")
    assert r.returncode == 2 and "verdict 'maybe'" in r.stderr and "needs a note" in r.stderr
    r = harness_cli("record", run, "no.such.item", "--verdict", "符合", "--note", "x", "--engineer", "李四")
    assert r.returncode == 2 and "not an item" in r.stderr
    ev = tmp_path / "预案审查.txt"
    ev.write_text("《应急预案》v2.1 第 3 章：演练记录齐全\n", encoding="utf-8")
    r = harness_cli(
        "record",
        run,
        "7.dr.plan",
        "--verdict",
        "符合",
        "--note",
        "审查《应急预案》v2.1，演练记录齐全",
        "--engineer",
        "李四",
        "--evidence",
        str(ev),
    )
    assert r.returncode == 0, r.stderr
    assert lab["number"] in r.stdout  # the draft is rebuilt
    item = _item(_content(lab["dir"]), "7.dr.plan")
    assert item["verdict"] == "符合" and item["recorded"]["engineer"] == "李四"
    (e,) = item["evidence"]
    copied = lab["dir"] / e["path"]
    assert copied.read_text(encoding="utf-8") == ev.read_text(encoding="utf-8")
    from harness.evidence import sha256_file

    assert sha256_file(copied) == e["sha256"]


def test_4_waivers_are_never_a_pass_and_expired_ones_do_not_apply(lab: dict[str, Any]) -> None:
    run = lab["run"]
    r = harness_cli(
        "waiver",
        "add",
        "6.disclosure",
        "--kind",
        "waiver",
        "--justification",
        "认证机构同意以书面承诺替代",
        "--approved-by",
        "王主任",
        "--approved-on",
        "2026-01-05",
        "--expires",
        "2099-12-31",
        "--run",
        run,
    )
    assert r.returncode == 0, r.stderr
    r = harness_cli(
        "waiver",
        "add",
        "12.governance",
        "--kind",
        "waiver",
        "--justification",
        "已过期",
        "--approved-by",
        "王主任",
        "--approved-on",
        "2020-01-01",
        "--expires",
        "2020-06-30",
        "--run",
        run,
    )
    assert r.returncode == 0, r.stderr
    r = harness_cli(
        "waiver",
        "add",
        "11.source",
        "--kind",
        "deviation",
        "--justification",
        "以人工抽查替代工具扫描",
        "--approved-by",
        "王主任",
        "--expires",
        "2099-12-31",
        "--run",
        run,
    )
    assert r.returncode == 0, r.stderr
    r = harness_cli(
        "waiver",
        "add",
        "6.disclosure",
        "--kind",
        "waiver",
        "--justification",
        "x",
        "--approved-by",
        "王主任",
        "--expires",
        "2099-12-31",
    )
    assert r.returncode == 2 and "scope" in r.stderr
    assert harness_cli("report", "refresh", lab["number"]).returncode == 0
    c = _content(lab["dir"])
    waived = _item(c, "6.disclosure")
    assert waived["verdict"] == "豁免" and waived["waiver"]["approved_by"] == "王主任"
    expired = _item(c, "12.governance")
    assert expired["verdict"] == "待判定" and expired["expired_waivers"]
    assert _item(c, "11.source")["deviation"]["justification"] == "以人工抽查替代工具扫描"
    states = {(d["clause_id"], d["active"]) for d in c["deviations"]}
    assert {("6.disclosure", True), ("12.governance", False), ("11.source", True)} <= states
    html = (lab["dir"] / "report.html").read_text(encoding="utf-8")
    assert "已过期，不适用" in html and "认证机构同意以书面承诺替代" in html


def test_5_sign_in_order_then_frozen(lab: dict[str, Any]) -> None:
    from harness.report import workflow

    run, number = lab["run"], lab["number"]
    for line in workflow.pending_items(run):
        item_id, state = line.split(" ", 1)
        if "检测异常" in state:
            pytest.fail(f"lab error in the reference run: {line}")
        workflow.record(run, item_id, "符合", "人工核查：按检测方法操作，结果满足要求", "李四")
    assert workflow.pending_items(run) == []
    assert harness_cli("report", "sign", number, "--role", "reviewed", "--name", "赵六").returncode == 2
    r = harness_cli("report", "sign", number, "--role", "prepared", "--name", "李四", "--at", "2026-11-27T09:00")
    assert r.returncode == 0, r.stderr
    r = harness_cli("report", "sign", number, "--role", "reviewed", "--name", "李四", "--at", "2026-11-27T09:30")
    assert r.returncode == 2 and "someone else" in r.stderr
    r = harness_cli("report", "sign", number, "--role", "reviewed", "--name", "赵六", "--at", "2026-11-27T08:00")
    assert r.returncode == 2 and "before the previous signature" in r.stderr
    assert (
        harness_cli(
            "report", "sign", number, "--role", "reviewed", "--name", "赵六", "--at", "2026-11-27T09:30"
        ).returncode
        == 0
    )
    assert (
        harness_cli(
            "report", "sign", number, "--role", "approved", "--name", "王五", "--at", "2026-11-27T10:00"
        ).returncode
        == 0
    )
    c = _content(lab["dir"])
    assert [c["signatures"][r]["name"] for r in ("prepared", "reviewed", "approved")] == ["李四", "赵六", "王五"]
    assert c["dates"]["issued"] == "2026-11-27"
    assert c["summary"]["豁免"] == 1 and "豁免" in c["conclusion"]
    before = (lab["dir"] / "report.json").read_bytes()
    for args in (
        ("report", "refresh", number),
        ("report", "sign", number, "--role", "approved", "--name", "王五"),
        ("report", "reopen", number),
    ):
        r = harness_cli(*args)
        assert r.returncode == 2 and "never changes" in r.stderr, args
    assert (lab["dir"] / "report.json").read_bytes() == before
    r = harness_cli("verify", str(lab["dir"]))
    assert r.returncode == 0 and "verified" in r.stdout, r.stdout + r.stderr


def test_6_pdf_reads_well(lab: dict[str, Any]) -> None:
    if not shutil.which("pdftotext"):
        if os.environ.get("CI"):  # setup installs poppler-utils: in CI its absence is a failure
            pytest.fail("pdftotext (poppler-utils) is not installed: lab_env/setup.sh installs it")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = subprocess.run(
        ["pdftotext", "-layout", str(lab["dir"] / "report.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    n = len(pages)
    assert n >= 5
    for k, page in enumerate(pages, start=1):
        assert lab["number"] in page, f"page {k} lacks the report number"
        assert f"第 {k} 页 共 {n} 页" in page, f"page {k} lacks its page x of y"
        assert "草稿" not in page  # approved: no draft marking
    assert "报告结束" in pages[-1]
    assert "型式试验报告" in pages[0] and "王五" in pages[0]


def test_7_verify_detects_changed_missing_and_added_files(lab: dict[str, Any], tmp_path: Path) -> None:
    copy = tmp_path / lab["dir"].name
    evidence = sorted(p for p in (lab["dir"] / "evidence").rglob("*") if p.is_file())
    assert evidence
    for change in ("changed", "missing", "added"):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(lab["dir"], copy)
        victim = copy / evidence[0].relative_to(lab["dir"])
        if change == "changed":
            victim.write_bytes(victim.read_bytes() + b" ")
        elif change == "missing":
            victim.unlink()
        else:
            (victim.parent / "extra.txt").write_text("x")
        r = harness_cli("verify", str(copy))
        assert r.returncode == 1, (change, r.stdout, r.stderr)
        assert f"{change}: evidence/" in r.stdout
    r = harness_cli("verify", str(tmp_path / "nowhere"))
    assert r.returncode == 2


def test_8_revision_names_what_it_replaces(lab: dict[str, Any]) -> None:
    number = lab["number"]
    r = harness_cli("report", "revise", number, "--reason", "更正委托方地址")
    assert r.returncode == 0, r.stderr
    r2 = _content(lab["dir"].with_name(f"{number}-r2"))
    assert r2["revision"] == 2 and r2["supersedes"] == {"number": number, "revision": 1, "reason": "更正委托方地址"}
    assert harness_cli("verify", str(lab["dir"])).returncode == 0  # revision 1 untouched


def test_9_deadlines_submit_and_english(lab: dict[str, Any]) -> None:
    number = lab["number"]
    r = harness_cli("deadlines", "--today", "2099-12-31")
    assert r.returncode == 0 and number in r.stdout
    # the fixture's run happens today; far in the future its due date has passed
    assert any(number in line and "OVERDUE" in line for line in r.stdout.splitlines()), r.stdout
    r = harness_cli("report", "submit", number, "--revision", "2")
    assert r.returncode == 2 and "only an approved report" in r.stderr  # revision 2 is a draft
    r = harness_cli("report", "submit", number)  # the latest approved: revision 1
    assert r.returncode == 0 and "revision 1 submitted" in r.stdout, r.stderr
    r = harness_cli("report", "submit", number, "--revision", "1")
    assert r.returncode == 2 and "already submitted" in r.stderr

    r = harness_cli("deadlines", "--today", "2099-12-31")
    assert number not in r.stdout
    r = harness_cli("report", "create", lab["run"], "--lang", "en", "--no-pdf")
    assert r.returncode == 0, r.stderr
    en_dir = Path(r.stdout.split(": ", 1)[1].splitlines()[0])
    c = _content(en_dir)
    assert c["language"] == "en" and c["title"] == "Type Test Report"
    html = (en_dir / "report.html").read_text(encoding="utf-8")
    assert "Page" in html and "Conforms" in html and "End of report" in html


def test_10_check_an_earlier_report(lab: dict[str, Any], tmp_path: Path) -> None:
    report_json = lab["dir"] / "report.json"
    spec = str(lab["spec"])
    r = harness_cli("report", "check", str(report_json), "--spec", spec, "--today", "2026-12-01")
    # everything conforms except the waived item, which must be tested
    assert r.returncode == 1, r.stdout + r.stderr
    retest = [ln.split(":")[0].strip() for ln in r.stdout.splitlines() if ln.startswith("  ")]
    assert retest == ["6.disclosure"], r.stdout
    r = harness_cli("report", "check", str(report_json), "--spec", spec, "--today", "2029-01-01")
    assert r.returncode == 1 and "older than 24 months" in r.stdout
    newer = tmp_path / "refpay-1.0.1.yaml"
    newer.write_text(
        f"extends: {lab['spec']}\nsample: {{version: 1.0.1}}\ncertification_unit: {{version: 1.0.1}}\n",
        encoding="utf-8",
    )
    r = harness_cli("report", "check", str(report_json), "--spec", str(newer), "--today", "2026-12-01")
    assert r.returncode == 1 and "sample version changed" in r.stdout, r.stdout + r.stderr
    assert "5.txn.replay" in r.stdout  # a new version: every applicable clause again
    r = harness_cli("report", "check", str(tmp_path / "none.json"), "--spec", spec)
    assert r.returncode == 2


def test_env_is_the_scratch_lab(lab: dict[str, Any]) -> None:
    assert os.environ["HARNESS_DATA_DIR"] == str(lab["base"] / "data")
