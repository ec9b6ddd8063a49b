"""Engine and sessions. SQLite by default; any SQLAlchemy URL (PostgreSQL) by HARNESS_DB_URL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from harness.config import lab_config
from harness.store.models import Base


@cache
def _engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            # WAL: a reader (a report being rendered) never blocks the run that is writing.
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")
    else:
        engine = create_engine(url, pool_pre_ping=True)
    _create_schema(engine)
    return engine


def _create_schema(engine: Engine) -> None:
    # Two harnesses opening a fresh database at once both try CREATE TABLE; the loser's
    # "already exists" means the schema is there: check again and go on.
    for attempt in range(5):
        try:
            Base.metadata.create_all(engine)
            _add_missing_columns(engine)
            return
        except OperationalError as e:
            if ("already exists" not in str(e) and "duplicate column" not in str(e)) or attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


def _add_missing_columns(engine: Engine) -> None:
    """Schema evolution by addition only (the store is extended, never renamed): a column a newer
    harness added to an existing table is added to an older lab database, empty."""
    insp = inspect(engine)
    with engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            have = {c["name"] for c in insp.get_columns(table.name)}
            for col in table.columns:
                if col.name not in have:
                    ddl = col.type.compile(dialect=engine.dialect)
                    conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}'))


_LOCK = threading.Lock()


def engine() -> Engine:
    with _LOCK:  # the first call creates the schema; threads wait for it
        return _engine(lab_config().db_url)


@contextmanager
def session() -> Iterator[Session]:
    """A unit of work: committed on success, rolled back on error."""
    with sessionmaker(engine(), expire_on_commit=False)() as s:
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
