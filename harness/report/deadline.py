"""Chinese working days: the report reaches the certification body within 5 working days of the
end of testing (rule 001 §5.4.2). Public holidays and adjusted working weekends (调休) both count.

The data comes from `chinese_calendar` (the State Council's yearly notices). The lab's calendar file
adds to it: the dates it lists (a notice published after the library, a year the library does not
cover yet) count as the file says, every other date as the library says; a year the library covers
is never replaced by the file's entry. For a year with neither, we refuse: a guessed deadline is worse
than none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

from harness import clock, results
from harness.config import PROJECT_ROOT
from harness.report.labels import calendar_gap_text
from harness.results import ReportRecord, ReportStatus

SUBMISSION_WORKING_DAYS = 5


class CalendarGap(Exception):
    """No holiday data for a year the computation needs."""

    def __init__(self, message: str, year: int):
        super().__init__(message)
        self.year = year


@dataclass(frozen=True)
class LabYear:
    holidays: frozenset[date]  # weekdays off
    workdays: frozenset[date]  # weekend days worked (调休上班)


def calendar_file() -> Path:
    return Path(os.environ.get("HARNESS_CALENDAR", PROJECT_ROOT / "lab_env" / "calendar.yaml"))


@cache
def _lab_years(path: Path) -> dict[int, LabYear]:
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    years: dict[int, LabYear] = {}
    for year, entry in (data.get("years") or {}).items():
        hol = frozenset(date.fromisoformat(str(d)) for d in entry.get("holidays", []))
        work = frozenset(date.fromisoformat(str(d)) for d in entry.get("workdays", []))
        wrong = [d for d in hol | work if d.year != int(year)]
        if wrong:
            raise ValueError(f"{path}: year {year} lists dates of another year: {sorted(wrong)}")
        years[int(year)] = LabYear(hol, work)
    return years


def is_workday(d: date, lab_calendar: Path | None = None) -> bool:
    lab = _lab_years(lab_calendar or calendar_file()).get(d.year)
    if lab is not None:  # the lab's file decides the dates it lists, and only those
        if d in lab.workdays:
            return True
        if d in lab.holidays:
            return False
    try:
        return bool(chinese_calendar.is_workday(d))
    except NotImplementedError:
        if lab is not None:  # a year only the lab's file covers: its listed dates, else weekdays
            return d.weekday() < 5
        raise CalendarGap(
            f"no holiday data for {d.year}: chinese_calendar does not cover it and the lab calendar "
            f"({lab_calendar or calendar_file()}) has no entry for it; add the State Council's notice for {d.year}",
            d.year,
        ) from None


def add_working_days(start: date, n: int, lab_calendar: Path | None = None) -> date:
    """The n-th working day after `start` (start itself not counted)."""
    d, left = start, n
    while left > 0:
        d += timedelta(days=1)
        if is_workday(d, lab_calendar):
            left -= 1
    return d


def due_date(tests_completed: date, lab_calendar: Path | None = None) -> date:
    return add_working_days(tests_completed, SUBMISSION_WORKING_DAYS, lab_calendar)


def working_days_between(start: date, end: date, lab_calendar: Path | None = None) -> int:
    """Working days after `start` up to and including `end` (negative when end is earlier)."""
    sign, a, b = (1, start, end) if end >= start else (-1, end, start)
    n, d = 0, a
    while d < b:
        d += timedelta(days=1)
        n += is_workday(d, lab_calendar)
    return sign * n


# --- open reports and their deadlines -----------------------------------------------------


@dataclass
class Deadline:
    number: str
    revision: int
    status: str
    sample: str
    completed: date
    due: date | None
    left: int | None  # working days from today to the due date (negative: overdue)
    flag: str  # overdue | due-soon | ok | unknown
    note: str = ""  # what could not be computed, and why ("no calendar data for 2027")


def deadline_flag(today: date, due: date | None, soon: int = 2) -> tuple[int | None, str]:
    """(working days from today to the due date, flag): overdue once the due date has passed;
    due-soon when at most `soon` working days are left; unknown when the calendar has no data."""
    if due is None:
        return None, "unknown"
    try:
        left: int | None = working_days_between(today, due)
    except CalendarGap:
        left = None
    if today > due:
        return left, "overdue"
    if left is None:
        return None, "unknown"
    return left, "due-soon" if left <= soon else "ok"


def _gap(fn: Any) -> str:
    try:
        fn()
    except CalendarGap as e:
        return str(calendar_gap_text(e)["en"])
    return ""


def deadlines(today: date | None = None, soon: int = 2) -> list[Deadline]:
    """Open reports (no revision submitted) with their due dates, most urgent first; a date the
    calendar cannot give is named with the reason, never guessed."""
    today = today or clock.today()
    by_number: dict[str, list[ReportRecord]] = {}
    for r in results.all_reports():
        by_number.setdefault(r.number, []).append(r)
    rows = []
    for number, revs in by_number.items():
        if any(r.status == ReportStatus.SUBMITTED for r in revs):
            continue
        r = revs[-1]
        sample = r.content.get("sample", {})
        due = revs[0].due  # the original report's: a revision has no deadline of its own
        left, flag = deadline_flag(today, due, soon)
        completed = r.tests_completed or today
        if due is None:
            note = _gap(lambda completed=completed: due_date(completed)) or "no due date recorded"
        elif left is None:
            note = _gap(lambda due=due: working_days_between(today, due))
        else:
            note = ""
        rows.append(
            Deadline(
                number,
                r.revision,
                r.status,
                f"{sample.get('name', '')} {sample.get('version', '')}".strip(),
                completed,
                due,
                left,
                flag,
                note,
            )
        )
    order = {"overdue": 0, "due-soon": 1, "unknown": 2, "ok": 3}
    return sorted(rows, key=lambda d: (order[d.flag], d.due or date.max, d.number))
