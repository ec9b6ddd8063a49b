"""Two report writers at once, and a reports folder that cannot be written: report numbers are
allocated atomically, a folder appears whole or not at all, and a lab fault is one clear line (exit 3)."""

from __future__ import annotations

import errno
import multiprocessing
import os
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.conftest import harness_cli
from tests.report_lab import scratch_report_lab


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab of its own with one registered sample and a finished run that has a plan (nothing deployed)."""
    from harness.results import RunStatus, close_run

    close_run(scratch_report_lab(tmp_path, monkeypatch), RunStatus.FINISHED)
    return tmp_path


def _allocate(db_url: str, run_id: str, n: int) -> list[str]:
    """In another process: n reports, each under a number the lab record allocates."""
    os.environ["HARNESS_DB_URL"] = db_url
    from harness import results

    out = []
    for _ in range(n):
        number = results.allocate_report_number(year=2026)
        results.insert_report(
            results.NewReport(
                number=number,
                revision=1,
                run_id=run_id,
                kind="full",
                language="zh",
                languages=("zh",),
                tests_completed=date(2026, 12, 1),
                due=None,
                content={},
                content_sha256="0" * 64,
                out_dir=f"/reports/{number}-r1",
                created=datetime(2026, 12, 1, 9, 0),
            )
        )
        out.append(number)
    return out


def test_two_processes_allocate_distinct_numbers_on_one_database(lab: Path) -> None:
    from harness.config import lab_config

    run_id = (lab / "run_id").read_text()
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters: no shared connection pool
    with ctx.Pool(2) as pool:
        got = pool.starmap(_allocate, [(lab_config().db_url, run_id, 8), (lab_config().db_url, run_id, 8)])
    numbers = got[0] + got[1]
    assert len(numbers) == len(set(numbers)) == 16, numbers
    assert sorted(numbers) == [f"FTL-2026-{k:04d}" for k in range(1, 17)]


def test_a_full_disk_leaves_no_partial_folder(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import LabError
    from harness.report import folder
    from harness.report.workflow import create_report

    def full(content: dict, out_dir: Path) -> Path:
        (out_dir / "report.json").write_text("{")  # something was written before the disk filled up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(folder, "write_json", full)
    with pytest.raises(LabError, match="the disk is full"):
        create_report((lab / "run_id").read_text(), pdf=False)
    assert list((lab / "reports").iterdir()) == []  # no temporary folder, no half a report
    from harness import results

    run_id = (lab / "run_id").read_text()
    assert results.reports_of_run(run_id) == []  # no record of it either
    assert results.allocate_report_number().endswith("-0001")  # and its number went back


def test_a_loser_never_overwrites_a_winners_folder(lab: Path) -> None:
    from harness.errors import LabError
    from harness.report.build import build_content
    from harness.report.folder import write_folder

    run_id = (lab / "run_id").read_text()
    final = lab / "reports" / "FTL-2026-0001-r1"
    final.mkdir(parents=True)
    (final / "report.json").write_text("the winner's")
    content = build_content(run_id, "FTL-2026-0001").to_json()
    with pytest.raises(LabError, match="already exists"):
        write_folder(final, content, run_id, {}, {}, ["zh"], pdf=False)
    assert (final / "report.json").read_text() == "the winner's"
    assert [p.name for p in final.parent.iterdir()] == ["FTL-2026-0001-r1"]


def test_an_unwritable_reports_folder_is_one_lab_error_line(lab: Path) -> None:
    run_id = (lab / "run_id").read_text()
    r = harness_cli("report", "create", run_id, "--no-pdf", env={"HARNESS_REPORTS_DIR": "/sys/harness-reports"})
    assert r.returncode == 3, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "cannot write the report folder /sys/harness-reports" in lines[0], r.stderr


PLANTED = {"planted.html": "<p>符合</p>", "evidence/planted.txt": "not from the run"}


def _plant(folder: Path) -> None:
    for rel, text in PLANTED.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text, encoding="utf-8")


def _listed(folder: Path, number: str, revision: int) -> tuple[set[str], set[str]]:
    """The files the folder's own manifest lists, and those the lab database's manifest lists."""
    import json

    from harness import results
    from harness.report.folder import MANIFEST

    report = results.revision_of(number, revision)
    row = results.manifest_of(report.id) if report is not None else None
    assert row is not None
    return set(json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["files"]), set(row.files)


@pytest.mark.slow
def test_a_file_planted_in_a_draft_folder_never_enters_a_manifest(lab: Path) -> None:
    from harness.report import lifecycle, records
    from harness.report.folder import folder_files
    from harness.report.setup import init_lab_config
    from harness.report.verify import verify
    from harness.report.workflow import create_report, refresh

    run_id = (lab / "run_id").read_text()
    init_lab_config(lab / "lab.yaml")
    for line in records.pending_items(run_id):  # nothing deployed: every item recorded, so it can be approved
        records.record(
            run_id, line.split(" ", 1)[0], "符合", "审查委托方提交的文档，满足要求", "李四", reference="文档"
        )
    draft = create_report(run_id, pdf=False)
    folder = draft.out_dir
    _plant(folder)
    checked = verify(folder)  # the draft's folder no longer matches what the lab recorded
    assert not checked.ok and checked.added == sorted(PLANTED), checked

    refresh(draft.number, pdf=False)  # re-rendered: the folder is written whole, the planted files left out
    mine, the_labs = _listed(folder, draft.number, 1)
    assert not mine & PLANTED.keys() and not the_labs & PLANTED.keys()
    assert mine == the_labs == set(folder_files(folder))
    assert verify(folder).ok

    _plant(folder)  # again, while the draft goes through signing (each signature re-renders the folder)
    for role, who in (("prepared", "李四"), ("reviewed", "赵六"), ("approved", "王五")):
        lifecycle.sign(draft.number, role, who)
    mine, the_labs = _listed(folder, draft.number, 1)
    assert not mine & PLANTED.keys() and not the_labs & PLANTED.keys()
    assert mine == the_labs == set(folder_files(folder)) and "report.pdf" in mine
    assert verify(folder).ok

    _plant(folder)  # into the approved report's folder: verification names each file no manifest lists
    r = harness_cli("verify", str(folder))
    assert r.returncode == 1, r.stdout + r.stderr
    assert [ln for ln in r.stdout.splitlines() if ln.startswith("added: ")] == [f"added: {p}" for p in sorted(PLANTED)]
    assert f"FAILED: {draft.number} revision 1" in r.stdout
