"""Terminal unit reservations: a unit is driven by one job at a time, on any host.

A reservation is one row per unit, taken in one atomic statement (INSERT ... ON CONFLICT DO UPDATE
... WHERE the old lease ran out, on SQLite and PostgreSQL alike), so two workers asking for the
same unit at the same moment never both get it. The holder renews the lease with its heartbeat; a
holder that dies stops renewing it and the unit is free again once it runs out (or at once, when
the job's death is noticed: harness.results.jobs.recover_jobs releases it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from harness.results.db import rowcount, session
from harness.results.models import Reservation
from harness.results.records import ReservationRecord


def _record(r: Reservation) -> ReservationRecord:
    return ReservationRecord(r.unit_id, r.model, r.job_id, r.worker, r.acquired, r.lease_until)


def reserve_unit(unit_id: str, model: str, job_id: str, worker: str, now: datetime, lease: timedelta) -> bool:
    """Take the unit for this job unless another job holds it with a lease still running. A job
    that already holds it keeps it (and its lease is renewed)."""
    values = {
        "unit_id": unit_id,
        "model": model,
        "job_id": job_id,
        "worker": worker,
        "acquired": now,
        "lease_until": now + lease,
    }
    with session() as s:
        dialect = s.get_bind().dialect.name
        stmt: Insert
        if dialect == "postgresql":
            pg = postgresql.insert(Reservation).values(**values)
            stmt = pg.on_conflict_do_update(
                index_elements=[Reservation.unit_id],
                set_={k: pg.excluded[k] for k in values if k != "unit_id"},
                where=(Reservation.lease_until < now) | (Reservation.job_id == job_id),
            )
        elif dialect == "sqlite":
            lite = sqlite.insert(Reservation).values(**values)
            stmt = lite.on_conflict_do_update(
                index_elements=[Reservation.unit_id],
                set_={k: lite.excluded[k] for k in values if k != "unit_id"},
                where=(Reservation.lease_until < now) | (Reservation.job_id == job_id),
            )
        else:
            raise NotImplementedError(f"unit reservations on {dialect}")
        # RETURNING gives a row only when this statement inserted or took the unit over.
        return s.execute(stmt.returning(Reservation.job_id)).scalar() == job_id


def renew_reservation(unit_id: str, job_id: str, now: datetime, lease: timedelta) -> bool:
    """Extend the holder's lease; False when the job no longer holds the unit (its lease ran out
    and another job took it): the holder must stop driving it."""
    with session() as s:
        done = s.execute(
            update(Reservation)
            .where(Reservation.unit_id == unit_id, Reservation.job_id == job_id)
            .values(lease_until=now + lease)
        )
        return bool(rowcount(done))


def release_unit(unit_id: str, job_id: str) -> None:
    """Give the unit back (only the job holding it can)."""
    with session() as s:
        s.execute(delete(Reservation).where(Reservation.unit_id == unit_id, Reservation.job_id == job_id))


def release_job_units(job_id: str) -> list[str]:
    """Free every unit a (dead) job held; returns their IDs."""
    with session() as s:
        units = list(s.scalars(select(Reservation.unit_id).where(Reservation.job_id == job_id)))
        s.execute(delete(Reservation).where(Reservation.job_id == job_id))
    return units


def drop_expired_reservations(now: datetime) -> list[str]:
    """Remove reservations whose lease ran out (their holder is gone); returns the units freed."""
    with session() as s:
        units = list(s.scalars(select(Reservation.unit_id).where(Reservation.lease_until < now)))
        s.execute(delete(Reservation).where(Reservation.lease_until < now))
    return units


def reservations() -> list[ReservationRecord]:
    with session() as s:
        return [_record(r) for r in s.scalars(select(Reservation).order_by(Reservation.unit_id))]
