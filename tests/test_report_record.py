"""The report's records in the results room, on SQLite and PostgreSQL: a revision's status moves only
from the status its writer read and only along its transitions, approval supersedes the earlier
revision, a number whose report could not be written goes back; the typed content is the JSON truth
exactly; a report fixes its run's verdict chain, and `harness verify` finds a verdict changed since."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from harness import results
from harness.results import (
    ManifestRecord,
    NewReport,
    NewSample,
    ReportEventRecord,
    ReportRevisionTaken,
    ReportStatus,
    StatusChangeRefused,
)
from harness.results.content import ReportContent
from tests.lab_record import ENGINES, scratch_lab
from tests.report_lab import scratch_report_lab

AT = datetime(2026, 12, 1, 10, 0)
MANIFEST = ManifestRecord({"report.json": "a" * 64}, "b" * 64, "c" * 64, AT)


@pytest.fixture(params=ENGINES)
def run_id(request: pytest.FixtureRequest, tmp_path: Path):
    with scratch_lab(request.param, tmp_path):
        sample, _ = results.register_sample(
            NewSample(
                name="样品",
                version="1",
                applicant="申请方",
                producer="生产方",
                spec_path="/specs/x.yaml",
                spec_sha256="0" * 64,
                spec_snapshot={},
                media=[],
                received=date(2026, 11, 2),
                retain_until=date(2028, 11, 2),
                observed={},
            )
        )
        yield results.open_run(sample.id, "full", {}).id


def _new(run_id: str, number: str, revision: int = 1, status: ReportStatus = ReportStatus.DRAFT) -> NewReport:
    return NewReport(
        number=number,
        revision=revision,
        run_id=run_id,
        kind="full",
        language="zh",
        languages=("zh",),
        tests_completed=date(2026, 12, 1),
        due=None,
        content={"number": number, "revision": revision},
        content_sha256="0" * 64,
        out_dir=f"/reports/{number}-r{revision}",
        status=status,
    )


def test_a_revision_moves_only_from_what_its_writer_read(run_id: str) -> None:
    r = results.insert_report(_new(run_id, results.allocate_report_number("FTL", 2026)))
    assert r.status == ReportStatus.DRAFT and r.languages == ("zh",)
    signed = results.change_status(
        r.id,
        ReportStatus.PREPARED,
        expected=ReportStatus.DRAFT,
        event=ReportEventRecord("prepared", "李四", AT),
        written=({"signed": True}, "d" * 64, MANIFEST),
    )
    assert signed.status == ReportStatus.PREPARED and signed.content == {"signed": True}
    assert results.manifest_of(r.id) == MANIFEST and list(results.events_of(r.id)) == ["prepared"]
    # A second writer that read "draft" is refused, whether it signs or rewrites the folder.
    with pytest.raises(StatusChangeRefused, match="became prepared meanwhile"):
        results.change_status(r.id, ReportStatus.PREPARED, expected=ReportStatus.DRAFT)
    with pytest.raises(StatusChangeRefused, match="became prepared meanwhile"):
        results.store_written(r.id, {}, "e" * 64, MANIFEST, expected=ReportStatus.DRAFT)
    with pytest.raises(StatusChangeRefused, match="cannot become approved"):  # reviewed comes first
        results.change_status(r.id, ReportStatus.APPROVED, expected=ReportStatus.PREPARED)
    reopened = results.change_status(r.id, ReportStatus.DRAFT, expected=ReportStatus.PREPARED, clear_events=True)
    assert reopened.status == ReportStatus.DRAFT and results.events_of(r.id) == {}


def test_approval_supersedes_the_earlier_revision_and_a_revision_is_stored_once(run_id: str) -> None:
    number = results.allocate_report_number("FTL", 2026)
    results.insert_report(_new(run_id, number, 1, ReportStatus.SUBMITTED))
    r2 = results.insert_report(_new(run_id, number, 2, ReportStatus.REVIEWED))
    with pytest.raises(ReportRevisionTaken):
        results.insert_report(_new(run_id, number, 2))
    results.change_status(
        r2.id,
        ReportStatus.APPROVED,
        expected=ReportStatus.REVIEWED,
        event=ReportEventRecord("approved", "王五", AT),
        supersede_older=True,
    )
    assert [r.status for r in results.revisions(number)] == [ReportStatus.SUPERSEDED, ReportStatus.APPROVED]


def test_a_number_whose_report_was_not_written_goes_back(run_id: str) -> None:
    first = results.allocate_report_number("FTL", 2026)
    results.delete_report(results.insert_report(_new(run_id, first)).id)
    assert results.revisions(first) == []
    assert results.allocate_report_number("FTL", 2026) == first  # the last one handed out went back
    later = results.allocate_report_number("FTL", 2026)
    # `first` is used now, and a number handed out before the last one never goes back.
    assert not results.release_report_number(first)
    assert results.allocate_report_number("FTL", 2026) != later


def test_the_typed_content_is_the_json_truth() -> None:
    from benchmarks.bench_report_pdf import synthesize

    truth = synthesize(5)
    assert ReportContent.from_json(truth).to_json() == truth
    with pytest.raises(ValueError, match="schema"):
        ReportContent.from_json({**truth, "schema": "fintech-lab-harness/report/9"})
    with pytest.raises(ValidationError):
        ReportContent.from_json({**truth, "surprise": 1})


def _record_check(run_id: str, run_dir: Path) -> None:
    evidence = run_dir / "evidence" / "replay.txt"
    evidence.parent.mkdir(parents=True, exist_ok=True)
    evidence.write_text("原始转账应答 200；重放应答 409\n", encoding="utf-8")
    results.record_verdict(
        run_id,
        results.VerdictInput(
            check_id="test_suites/transaction/test_replay.py::test_replayed_transfer_is_refused",
            clause_ids=("5.txn.replay",),
            model="process",
            outcome=results.Outcome.PASS,
            summary="重放的转账被拒绝",
            summary_en="the replayed transfer was refused",
            evidence=(
                results.EvidenceRef(
                    "transcript",
                    "HTTP 交互记录",
                    "evidence/replay.txt",
                    hashlib.sha256(evidence.read_bytes()).hexdigest(),
                    evidence.stat().st_size,
                ),
            ),
        ),
    )


def test_a_report_seals_its_run_and_verify_finds_a_verdict_changed_since(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import update

    from harness.config import lab_config
    from harness.report import verify
    from harness.report.build import build_content
    from harness.report.terms import RecordBroken
    from harness.report.workflow import create_report
    from harness.results.db import session
    from harness.results.models import Verdict

    run_id = scratch_report_lab(tmp_path, monkeypatch, {"test_replay": "5.txn.replay"})
    _record_check(run_id, lab_config().run_dir(run_id))
    results.close_run(run_id, results.RunStatus.FINISHED)
    written = create_report(run_id, pdf=False)
    content = ReportContent.from_json(results.revisions(written.number)[0].content)
    assert content.run.chain_head == results.verify_run(run_id).head and content.run.chained_verdicts == 1
    row = next(i for i in content.items if i.item_id == "5.txn.replay")
    assert row.verdict == "符合" and row.observed[0].check and row.observed[0].text["en"]
    ok = verify.verify(written.out_dir)
    assert ok.ok and "the run's record verifies: 1 verdicts" in ok.record

    with session() as s:  # someone edits the lab record after the report was built
        s.execute(update(Verdict).where(Verdict.run_id == run_id).values(outcome="fail"))
    broken = verify.verify(written.out_dir)
    assert not broken.ok
    assert any("the run's record" in p and "does not match its hash chain" in p for p in broken.problems)
    with pytest.raises(RecordBroken, match="does not verify"):
        build_content(run_id, written.number)
