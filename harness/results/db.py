"""Opening the lab database: SQLite by default, any SQLAlchemy URL (PostgreSQL) by HARNESS_DB_URL.

Opening checks what is there before anything is written:
- a lab database that has gone missing, is empty where a lab was, is not a database, is locked or
  cannot be reached is one LabDatabaseError line; it is never silently replaced by a new one;
- a new one is created only in a new data directory, or by an explicit `harness init`;
- an older one is migrated in place (Alembic, harness/results/migrations), one migrator at a time
  (a file lock on SQLite, an advisory lock on PostgreSQL), so two harnesses opening a fresh
  database together do not race.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from harness.config import lab_config
from harness.errors import LabError

HEAD = "0003"  # the newest migration; tests check it is Alembic's head
_SQLITE_MAGIC = b"SQLite format 3\x00"
# Entries a data directory can hold before it has a lab database: it is still new.
_BOOKKEEPING = {"logs", "active"}


class LabDatabaseError(LabError):
    """The lab database is missing, corrupted, locked, unreachable or unwritable."""


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse is shown as given
        return url


def describe_db_error(e: BaseException, url: str) -> str:
    """One line for a database failure: what is wrong with which database."""
    where = shown_url(url)
    msg = str(getattr(e, "orig", None) or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    low = msg.lower()
    if "locked" in low or "lock timeout" in low:
        return f"the lab database {where} is locked by another process and stayed locked: {msg}"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"the lab database {where} is corrupted (not a readable database): {msg}"
    if ("disk" in low and ("full" in low or "i/o" in low)) or "no space" in low:
        return f"the lab database {where} cannot be written: the disk is full ({msg})"
    if "readonly" in low or "read-only" in low or "permission" in low:
        return f"the lab database {where} cannot be written: {msg}"
    if "does not exist" in low and "database" in low:
        return f"the lab database {where} does not exist on its server: {msg}"
    if "connection" in low or "could not connect" in low or "timeout" in low:
        return f"cannot reach the lab database {where}: {msg}"
    return f"the lab database {where} failed: {msg}"


def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def data_dir_is_new(data_dir: Path) -> bool:
    """Nothing of a lab is there yet (only the harness's own log or an empty ledger folder)."""
    if not data_dir.exists():
        return True
    for entry in data_dir.iterdir():
        if entry.name not in _BOOKKEEPING:
            return False
        if entry.name == "active" and any(entry.iterdir()):
            return False
    return True


def _check_sqlite_file(path: Path, may_create: bool) -> None:
    if not path.exists() or path.stat().st_size == 0:
        if may_create:
            path.parent.mkdir(parents=True, exist_ok=True)
            return
        what = "is missing" if not path.exists() else "is an empty file"
        raise LabDatabaseError(
            f"the lab database {path} {what}, but its data directory {lab_config().data_dir} holds a lab; "
            "restore the database from its backup, or create a new, empty lab database with `harness init`"
        )
    try:
        with path.open("rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise LabDatabaseError(f"the lab database {path} cannot be read: {e.strerror or e}") from None
    if head != _SQLITE_MAGIC:
        raise LabDatabaseError(f"the lab database {path} is corrupted: it is not an SQLite database file")


def _new_engine(url: str) -> Engine:
    if _sqlite_path(url) is not None:
        # How long a writer waits for another's lock before "locked" (a lab error): a report being
        # rendered or another run writing takes well under this.
        wait_s = float(os.environ.get("HARNESS_DB_BUSY_TIMEOUT_S", "30"))
        engine = create_engine(url, connect_args={"timeout": wait_s})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL: a reader (a report being rendered) never blocks the run that is writing.
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _revision(conn: Connection) -> str | None:
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" not in tables:
        return "" if tables else None  # "": a lab made before migrations; None: an empty database
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def _advisory_lock(conn: Connection) -> Iterator[None]:
    """PostgreSQL: one migrator at a time across every host sharing the server."""
    if conn.dialect.name != "postgresql":
        yield
        return
    key = int.from_bytes(hashlib.sha256(b"harness-lab-migrate").digest()[:8], "big", signed=True)
    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    conn.commit()
    try:
        yield
    finally:
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()


def _upgrade(conn: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "harness.results:migrations")
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "head")
    conn.commit()


def _current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return _revision(conn) == HEAD


def _prepare(engine: Engine, url: str, may_create: bool) -> None:
    """Under the lock: look again (another harness may have created or migrated it meanwhile)."""
    with engine.connect() as conn, _advisory_lock(conn):
        rev = _revision(conn)
        if rev == HEAD:
            return
        if rev is None and not may_create:
            raise LabDatabaseError(
                f"the lab database {shown_url(url)} is empty, but the data directory {lab_config().data_dir} holds "
                "a lab; point HARNESS_DB_URL at the lab's database, or create a new lab database with `harness init`"
            )
        _upgrade(conn)


def _open(url: str, create: bool) -> Engine:
    new_dir = data_dir_is_new(lab_config().data_dir)  # judged before this opener writes anything
    may_create = create or new_dir
    path = _sqlite_path(url)
    engine = None
    if path is not None and path.is_file() and path.stat().st_size > 0:
        _check_sqlite_file(path, may_create)
        engine = _new_engine(url)
        if _current(engine):  # the usual case: no lock needed
            return engine
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock: contextlib.AbstractContextManager[None] = _file_lock(path.with_name(path.name + ".migrate-lock"))
    else:
        lock = contextlib.nullcontext()
    with lock:
        if path is not None:
            _check_sqlite_file(path, may_create)
        engine = engine or _new_engine(url)
        _prepare(engine, url, may_create)
    return engine


_LOCK = threading.Lock()
_ENGINES: dict[str, Engine] = {}


def open_lab(create: bool = False) -> Engine:
    """The lab database's engine, checked and migrated. `create`: make a new lab database where none
    is (the explicit `harness init`); otherwise only a new data directory gets one."""
    url = lab_config().db_url
    with _LOCK:  # the first opener checks and migrates; threads wait for it
        if url in _ENGINES:
            return _ENGINES[url]
        try:
            engine = _open(url, create)
        except SQLAlchemyError as e:
            raise LabDatabaseError(describe_db_error(e, url)) from e
        except OSError as e:
            raise LabDatabaseError(f"the lab database {shown_url(url)} cannot be opened: {e.strerror or e}") from e
        _ENGINES[url] = engine
        return engine


def engine() -> Engine:
    return open_lab()


def forget_engines() -> None:
    """Close every open engine (tests that switch lab, and forked workers)."""
    with _LOCK:
        for e in _ENGINES.values():
            e.dispose()
        _ENGINES.clear()


@contextlib.contextmanager
def session() -> Iterator[Session]:
    """A unit of work: committed on success, rolled back on error. A database failure (locked, full,
    gone) becomes one LabDatabaseError line; an IntegrityError is left to the caller, which decides."""
    eng = engine()
    with sessionmaker(eng, expire_on_commit=False)() as s:
        try:
            yield s
            s.commit()
        except IntegrityError:
            s.rollback()
            raise
        except (OperationalError, DatabaseError) as e:
            with contextlib.suppress(SQLAlchemyError):
                s.rollback()
            raise LabDatabaseError(describe_db_error(e, str(eng.url))) from e
        except BaseException:
            with contextlib.suppress(SQLAlchemyError):
                s.rollback()
            raise
