"""Report deadlines across holidays and adjusted weekends, and the flags `harness deadlines` shows."""

from datetime import date

import pytest

from harness.dates import add_months
from harness.report.deadline import due_date
from harness.report.workflow import deadline_flag


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
