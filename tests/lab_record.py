"""Scratch lab records for the tests: a fresh SQLite data directory, or a fresh database on the
PostgreSQL cluster lab_env/setup.sh --postgres starts (HARNESS_TEST_PG_URL names its admin URL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harness.results.db import forget_engines

PG_ADMIN_URL = os.environ.get(
    "HARNESS_TEST_PG_URL", "postgresql+psycopg://harness_test:harness_test@127.0.0.1:5432/postgres"
)
ENGINES = ("sqlite", "postgresql")


@contextmanager
def pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"harness_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # noqa: BLE001 - say how to get the server the tests need
        admin.dispose()
        raise AssertionError(
            f"PostgreSQL for the tests is not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: {e}\n"
            "run: bash lab_env/setup.sh --postgres"
        ) from None
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        forget_engines()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_lab(engine: str, root: Path) -> Iterator[str]:
    """Point the harness at a new lab (data directory under root; database by engine); restore after."""
    keys = ("HARNESS_DATA_DIR", "HARNESS_DB_URL", "HARNESS_REPORTS_DIR")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ["HARNESS_DATA_DIR"] = str(root / "data")
    os.environ["HARNESS_REPORTS_DIR"] = str(root / "reports")
    forget_engines()
    try:
        if engine == "postgresql":
            with pg_database() as url:
                os.environ["HARNESS_DB_URL"] = url
                yield url
        else:
            os.environ.pop("HARNESS_DB_URL", None)
            yield f"sqlite:///{root / 'data' / 'lab.db'}"
    finally:
        forget_engines()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
