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
