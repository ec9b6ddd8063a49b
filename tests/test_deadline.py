"""Due dates on the Chinese working-day calendar, with dates whose answers are known."""

from datetime import date

import pytest

from harness.report.deadline import CalendarGap, add_working_days, due_date, is_workday, working_days_between


@pytest.mark.parametrize(
    ("completed", "due"),
    [
        # National Day 2026: Oct 1-7 off, Sat Oct 10 worked (调休). Sep 29, 30, Oct 8, 9, 10.
        (date(2026, 9, 28), date(2026, 10, 10)),
        # Spring Festival 2026: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 worked.
        (date(2026, 2, 12), date(2026, 2, 26)),
        (date(2026, 2, 13), date(2026, 2, 27)),
        # National Day 2025: Oct 1-8 off; Sun Sep 28 and Sat Oct 11 worked.
        (date(2025, 9, 26), date(2025, 10, 10)),
        # Plain weeks: Friday -> next Friday.
        (date(2026, 11, 27), date(2026, 12, 4)),
    ],
)
def test_due_date_counts_holidays_and_adjusted_weekends(completed, due):
    assert due_date(completed) == due


def test_adjusted_working_weekend_is_a_workday():
    assert is_workday(date(2026, 10, 10))  # a Saturday worked in lieu
    assert not is_workday(date(2026, 10, 5))  # a Monday in the National Day holiday


def test_year_without_data_is_refused(tmp_path):
    empty = tmp_path / "calendar.yaml"
    empty.write_text("years: {}\n")
    with pytest.raises(CalendarGap, match="2027"):
        due_date(date(2026, 12, 30), lab_calendar=empty)


def test_lab_calendar_file_covers_a_new_year(tmp_path):
    cal = tmp_path / "calendar.yaml"
    cal.write_text("years:\n  2027:\n    holidays: [2027-01-01]\n    workdays: [2027-01-02]\n")
    # Thu Dec 31 2026 done: Fri Jan 1 off (lab file), Sat Jan 2 worked (lab file), Mon 4 ... Thu 7.
    assert add_working_days(date(2026, 12, 31), 5, lab_calendar=cal) == date(2027, 1, 7)
    assert working_days_between(date(2026, 12, 31), date(2027, 1, 7), lab_calendar=cal) == 5


def test_lab_calendar_rejects_dates_of_the_wrong_year(tmp_path):
    cal = tmp_path / "calendar.yaml"
    cal.write_text("years:\n  2028:\n    holidays: [2027-01-01]\n")
    with pytest.raises(ValueError, match="another year"):
        is_workday(date(2028, 1, 3), lab_calendar=cal)


def test_lab_calendar_adds_to_a_year_the_library_covers(tmp_path):
    """A 2026 entry naming one extra day off changes that day only: every date the library knows
    for 2026 (Spring Festival, National Day, the worked Saturdays) stays as it was."""
    empty = tmp_path / "none.yaml"
    empty.write_text("years: {}\n")
    cal = tmp_path / "calendar.yaml"
    cal.write_text("years:\n  2026:\n    holidays: [2026-11-30]\n")  # a Monday made a day off
    for completed in (date(2026, 9, 28), date(2026, 2, 12), date(2026, 2, 13), date(2026, 10, 3), date(2026, 5, 6)):
        assert due_date(completed, lab_calendar=cal) == due_date(completed, lab_calendar=empty), completed
    assert is_workday(date(2026, 10, 10), lab_calendar=cal)  # the library's worked Saturday is kept
    assert not is_workday(date(2026, 10, 5), lab_calendar=cal)  # and its National Day holiday
    assert not is_workday(date(2026, 11, 30), lab_calendar=cal)  # the lab's own entry counts
    assert due_date(date(2026, 11, 27), lab_calendar=cal) == date(2026, 12, 7)  # Mon 30 off: Dec 1-4, 7


def test_calendar_gap_names_its_year(tmp_path):
    empty = tmp_path / "calendar.yaml"
    empty.write_text("years: {}\n")
    with pytest.raises(CalendarGap) as e:
        due_date(date(2026, 12, 30), lab_calendar=empty)
    assert e.value.year == 2027
