"""Report deadlines across holidays and adjusted weekends, and the flags `harness deadlines` shows."""

from datetime import date, datetime
from pathlib import Path

import pytest

from harness.dates import add_months
from harness.report.deadline import deadline_flag, due_date


@pytest.mark.parametrize(
    ("completed", "due"),
    [
        # Spring Festival 2025: Jan 28 - Feb 4 off; Sun Jan 26 and Sat Feb 8 worked.
        (date(2025, 1, 24), date(2025, 2, 7)),  # Sun 26, Mon 27, Wed 5, Thu 6, Fri 7
        (date(2025, 1, 27), date(2025, 2, 10)),  # Wed 5, Thu 6, Fri 7, Sat 8 (worked), Mon 10
        # National Day 2024: Oct 1-7 off; Sun Sep 29 and Sat Oct 12 worked.
        (date(2024, 9, 27), date(2024, 10, 10)),  # Sun 29, Mon 30, Tue 8, Wed 9, Thu 10
        (date(2024, 10, 8), date(2024, 10, 14)),  # 9, 10, 11, Sat 12 (worked), Mon 14
        # National Day 2026: Oct 1-7 off; Sat Oct 10 worked.
        (date(2026, 9, 30), date(2026, 10, 13)),  # 8, 9, Sat 10, 12, 13
        (date(2026, 10, 3), date(2026, 10, 13)),  # completed during the holiday: 8, 9, Sat 10, 12, 13
    ],
)
def test_due_dates_across_holidays(completed: date, due: date) -> None:
    assert due_date(completed) == due


@pytest.mark.parametrize(
    ("today", "due", "expected"),
    [
        (date(2026, 9, 30), date(2026, 10, 10), (3, "ok")),  # Oct 8, 9, 10: the holiday does not count
        (date(2026, 10, 3), date(2026, 10, 10), (3, "ok")),  # in the holiday: still 3 working days
        (date(2026, 10, 8), date(2026, 10, 10), (2, "due-soon")),
        (date(2026, 10, 10), date(2026, 10, 10), (0, "due-soon")),  # due today (a worked Saturday)
        (date(2026, 10, 12), date(2026, 10, 10), (-1, "overdue")),
        (date(2026, 2, 13), date(2026, 2, 26), (4, "ok")),  # Sat 14 worked, 15-23 off, 24, 25, 26
        (date(2026, 2, 24), date(2026, 2, 26), (2, "due-soon")),
    ],
)
def test_deadline_flags_count_working_days(today: date, due: date, expected: tuple[int, str]) -> None:
    assert deadline_flag(today, due, soon=2) == expected


def test_deadline_without_calendar_data_is_unknown_not_guessed() -> None:
    assert deadline_flag(date(2026, 1, 5), None) == (None, "unknown")


def test_validity_is_24_calendar_months() -> None:
    assert add_months(date(2026, 11, 27), 24) == date(2028, 11, 27)
    assert add_months(date(2024, 2, 29), 24) == date(2026, 2, 28)


@pytest.fixture
def scratch_db(tmp_path, monkeypatch):
    """A lab database of its own, holding one sample and run (through the results room)."""
    monkeypatch.setenv("HARNESS_DATA_DIR", str(tmp_path / "data"))  # a new lab: its database may be made
    monkeypatch.setenv("HARNESS_DB_URL", f"sqlite:///{tmp_path / 'data' / 'lab.db'}")
    monkeypatch.setenv("HARNESS_CALENDAR", str(tmp_path / "calendar.yaml"))
    (tmp_path / "calendar.yaml").write_text("years: {}\n")
    from harness import results

    sample, _ = results.register_sample(
        results.NewSample(
            name="样品",
            version="1",
            applicant="a",
            producer="p",
            spec_path="x",
            spec_sha256="0" * 64,
            spec_snapshot={},
            media=[],
            received=date(2026, 12, 1),
            retain_until=date(2028, 12, 1),
            observed={},
        )
    )
    run = results.open_run(sample.id, "full", {})
    (tmp_path / "run_id").write_text(run.id)
    return tmp_path


def _report(lab: Path, number: str, completed: date, due: date | None) -> None:
    from harness import results

    results.insert_report(
        results.NewReport(
            number=number,
            revision=1,
            run_id=(lab / "run_id").read_text(),
            kind="full",
            language="zh",
            languages=("zh",),
            tests_completed=completed,
            due=due,
            content={"sample": {"name": "样品", "version": "1"}},
            content_sha256="0" * 64,
            out_dir="/nowhere",
            created=datetime(2026, 12, 30, 9, 0),
        )
    )


def test_deadlines_name_what_the_calendar_cannot_give(scratch_db):
    """A due date in a year without calendar data is 'unknown: no calendar data for 2027', never '-'
    and never guessed; a known due date that has passed is overdue even when the days left cannot
    be counted."""
    from harness.report.deadline import deadlines

    _report(scratch_db, "FTL-2026-0001", date(2026, 12, 30), None)
    _report(scratch_db, "FTL-2026-0002", date(2026, 11, 27), date(2026, 12, 4))
    rows = {d.number: d for d in deadlines(today=date(2027, 1, 4))}
    unknown, passed = rows["FTL-2026-0001"], rows["FTL-2026-0002"]
    assert unknown.flag == "unknown" and unknown.due is None
    assert unknown.note == "no calendar data for 2027"
    assert passed.flag == "overdue" and passed.left is None and passed.note == "no calendar data for 2027"
