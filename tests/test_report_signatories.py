"""Who may sign a report, on a scratch lab without a full run: the lab configuration names the
signatories, one person never signs one report twice even where the configuration lets them hold two
roles, and without a lab configuration nothing is signed and the error says how to create one."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import pytest
import yaml

from harness import results
from harness.config import LabConfigError
from harness.report import lifecycle
from harness.report.folder import write_revision
from harness.report.terms import ReportError
from harness.results import ReportStatus
from tests.conftest import SPECS
from tests.inprocess import run_harness
from tests.report_lab import scratch_report_lab

EXAMPLE = Path(__file__).resolve().parent.parent / "lab_env" / "lab.example.yaml"


def _finished_draft(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A draft report (HTML only) of a finished run in which every applicable item, of the standard
    and functional, has a passing check: nothing stops it being signed."""
    from harness.catalogue import load_catalogue
    from harness.config import lab_config
    from harness.plan import API_CONFORMANCE
    from harness.report.workflow import create_report

    spec = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    use_cases = [uc["id"] for uc in spec["documentation"]["use_cases"]]
    ids = [*(it.id for it in load_catalogue().items), *use_cases, API_CONFORMANCE]
    run_id = scratch_report_lab(tmp_path, monkeypatch, {f"test_{k}": item for k, item in enumerate(ids)})
    evidence = lab_config().run_dir(run_id) / "evidence" / "replay.txt"
    evidence.parent.mkdir(parents=True, exist_ok=True)
    evidence.write_text("原始转账应答 200；重放应答 409\n", encoding="utf-8")
    ref = results.EvidenceRef(
        "transcript",
        "HTTP 交互记录",
        "evidence/replay.txt",
        hashlib.sha256(evidence.read_bytes()).hexdigest(),
        evidence.stat().st_size,
    )
    plan = results.get_run(run_id).plan  # type: ignore[union-attr]
    assert plan is not None
    for p in [*plan.items, *plan.functional]:
        if p.applicable:
            results.record_verdict(
                run_id,
                results.VerdictInput(
                    check_id=p.checks[0],
                    clause_ids=(p.item_id,),
                    model="process",
                    outcome=results.Outcome.PASS,
                    summary="检查通过",
                    summary_en="the check passed",
                    evidence=(ref,),
                ),
            )
    results.close_run(run_id, results.RunStatus.FINISHED)
    # The signing rules are what is tested here, not the printing: the folders are written without PDF.
    monkeypatch.setattr(lifecycle, "write_revision", functools.partial(write_revision, pdf=False))
    return create_report(run_id, pdf=False).number


def _lab_config(path: Path, people: list[dict[str, object]]) -> None:
    """The example lab configuration with these people (the signing certificate is not needed before
    approval succeeds, so none is made)."""
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump({**data, "people": people}, allow_unicode=True), encoding="utf-8")


def test_one_person_never_signs_in_two_roles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    number = _finished_draft(tmp_path, monkeypatch)
    # The lab lets 李四 prepare, review and approve, as a small lab may: still never twice on one report.
    _lab_config(
        tmp_path / "lab.yaml",
        [
            {"name": "李四", "name_en": "Li Si", "roles": ["prepared", "reviewed", "approved"]},
            {"name": "赵六", "name_en": "Zhao Liu", "roles": ["reviewed"]},
        ],
    )
    lifecycle.sign(number, "prepared", "李四")
    r = run_harness("report", "sign", number, "--role", "reviewed", "--name", "李四")
    assert r.code == 2, r.stdout + r.stderr
    assert f"李四 already signed report {number} as prepared: one person may not also sign as reviewed" in r.stderr
    [report] = results.revisions(number)
    assert report.status == ReportStatus.PREPARED and list(results.events_of(report.id)) == ["prepared"]

    lifecycle.sign(number, "reviewed", "赵六")
    again = f"李四 already signed report {number} as prepared: one person may not also sign as approved"
    with pytest.raises(ReportError, match=again):
        lifecycle.sign(number, "approved", "李四")  # not only the next role: any role already signed
    [report] = results.revisions(number)
    assert report.status == ReportStatus.REVIEWED
    assert {k: e.name for k, e in results.events_of(report.id).items()} == {"prepared": "李四", "reviewed": "赵六"}


def test_no_signature_without_a_lab_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    number = _finished_draft(tmp_path, monkeypatch)  # HARNESS_LAB_CONFIG names a file not there
    missing = tmp_path / "lab.yaml"
    assert not missing.exists()
    for role, name in (("prepared", "李四"), ("approved", "王五")):
        r = run_harness("report", "sign", number, "--role", role, "--name", name)
        assert r.code == 2, (role, r.stdout + r.stderr)
        assert f"error: no lab configuration at {missing}" in r.stderr
        assert "harness lab init" in r.stderr and "HARNESS_LAB_CONFIG" in r.stderr
        assert [type(e) for e in r.ended_by] == [LabConfigError]
    [report] = results.revisions(number)
    assert report.status == ReportStatus.DRAFT and results.events_of(report.id) == {}
