"""Number sequences: sample IDs (S-2026-0001) and report numbers (FTL-2026-0001).

Each number comes from one atomic upsert on the `counters` row of its sequence (INSERT ... ON CONFLICT
DO UPDATE ... RETURNING, on SQLite and PostgreSQL alike), so concurrent writers never get the same
number and never need to retry. `floor` lets a sequence start past numbers already used in a lab
database made before the counters existed.
"""

from __future__ import annotations

import os

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.dml import Insert

from harness import clock
from harness.results.db import session
from harness.results.models import Counter, Report, Sample


def _allocate(s: Session, sequence: str, floor: int) -> int:
    dialect = s.get_bind().dialect.name
    stmt: Insert
    if dialect == "postgresql":
        pg = postgresql.insert(Counter).values(name=sequence, value=floor + 1)
        stmt = pg.on_conflict_do_update(
            index_elements=[Counter.name], set_={"value": func.greatest(Counter.value, floor) + 1}
        )
    elif dialect == "sqlite":
        lite = sqlite.insert(Counter).values(name=sequence, value=floor + 1)
        stmt = lite.on_conflict_do_update(  # SQLite's two-argument max() is a scalar
            index_elements=[Counter.name], set_={"value": func.max(Counter.value, floor) + 1}
        )
    else:
        raise NotImplementedError(f"number sequences on {dialect}")
    return int(s.execute(stmt.returning(Counter.value)).scalar_one())


def allocate(sequence: str, floor: int = 0) -> int:
    """The next number of a sequence (1, 2, ...), at least floor + 1."""
    with session() as s:
        return _allocate(s, sequence, floor)


def _highest(s: Session, column: InstrumentedAttribute[str], prefix: str) -> int:
    values = s.scalars(select(column).where(column.like(f"{prefix}%")).distinct())
    numbers = [int(v.removeprefix(prefix)) for v in values if v.removeprefix(prefix).isdigit()]
    return max(numbers, default=0)


def next_sample_id(year: int) -> str:
    prefix = f"S-{year}-"
    with session() as s:
        n = _allocate(s, f"sample:{year}", _highest(s, Sample.id, prefix))
    return f"{prefix}{n:04d}"


def allocate_report_number(prefix: str | None = None, year: int | None = None) -> str:
    """A new report number (FTL-2026-0007), never handed out twice, whatever runs at the same time.
    The prefix defaults to HARNESS_REPORT_PREFIX (FTL), the year to this year."""
    prefix = prefix or os.environ.get("HARNESS_REPORT_PREFIX", "FTL")
    year = year or clock.today().year
    head = f"{prefix}-{year}-"
    with session() as s:
        n = _allocate(s, f"report:{prefix}-{year}", _highest(s, Report.number, head))
    return f"{head}{n:04d}"


def release_report_number(number: str) -> bool:
    """Give a report number back to its sequence (its report could not be written), when it is still
    the last one handed out and no report carries it: one compare-and-set, so a number another writer
    took meanwhile is never handed out twice. Returns whether it went back."""
    head, _, n = number.rpartition("-")
    if not n.isdigit() or head.count("-") < 1:
        return False
    with session() as s:
        if s.scalar(select(func.count()).select_from(Report).where(Report.number == number)):
            return False
        done = s.execute(
            update(Counter)
            .where(Counter.name == f"report:{head}", Counter.value == int(n))
            .values(value=Counter.value - 1)
        )
        return bool(getattr(done, "rowcount", 0))
