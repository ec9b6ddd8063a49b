"""Two report writers at once, and a reports folder that cannot be written: report numbers are
allocated atomically, a folder appears whole or not at all, and a lab fault is one clear line (exit 3)."""

from __future__ import annotations

import errno
import multiprocessing
import os
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from tests.conftest import SPECS, harness_cli


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A lab of its own with one registered sample and a run that has a plan (nothing deployed)."""
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HARNESS_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("HARNESS_LAB_CONFIG", str(tmp_path / "lab.yaml"))
    monkeypatch.delenv("HARNESS_DB_URL", raising=False)
    from harness.deploy.inventory import targets_for
    from harness.intake import tree_sha256
    from harness.plan import build_plan
    from harness.results import RunStatus, close_run, save_plan
    from harness.runs import open_run
    from harness.spec import load_spec

    data = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    media = [
        {**m, "path": str((SPECS / m["path"]).resolve()), "sha256": tree_sha256((SPECS / m["path"]).resolve())}
        for m in data["media"]
    ]
    spec = tmp_path / "refpay.yaml"
    spec.write_text(yaml.safe_dump({"extends": str(SPECS / "refpay.yaml"), "media": media}, allow_unicode=True))
    loaded = load_spec(spec)
    run = open_run(loaded)
    save_plan(run.id, build_plan(loaded, [], targets_for(loaded, "process")))
    close_run(run.id, RunStatus.FINISHED)
    (tmp_path / "run_id").write_text(run.id)
    return tmp_path


def _allocate(db_url: str, run_id: str, n: int) -> list[str]:
    """In another process: insert n reports under the next free numbers."""
    os.environ["HARNESS_DB_URL"] = db_url
    from harness.report.workflow import _insert_numbered
    from harness.store import Report

    def make(number: str) -> Report:
        return Report(
            number=number,
            revision=1,
            run_id=run_id,
            created=datetime(2026, 12, 1, 9, 0),
            tests_completed=date(2026, 12, 1),
            status="draft",
            content={},
            content_sha256="0" * 64,
            out_dir=f"/reports/{number}-r1",
        )

    return [_insert_numbered(make, 2026).number for _ in range(n)]


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
    from harness.store import Report, session

    with session() as s:  # and the number was not used up
        assert s.query(Report).count() == 0


def test_a_loser_never_overwrites_a_winners_folder(lab: Path) -> None:
    from harness.errors import LabError
    from harness.report.build import build_content
    from harness.report.folder import write_folder

    run_id = (lab / "run_id").read_text()
    final = lab / "reports" / "FTL-2026-0001-r1"
    final.mkdir(parents=True)
    (final / "report.json").write_text("the winner's")
    content = build_content(run_id, "FTL-2026-0001")
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
