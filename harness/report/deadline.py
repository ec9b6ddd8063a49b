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

import chinese_calendar
import yaml

from harness.config import PROJECT_ROOT

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
