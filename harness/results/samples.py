"""Registered samples (送样): registration with an atomically allocated ID, and listing."""

from __future__ import annotations

from dataclasses import asdict, fields

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from harness.results.db import session
from harness.results.models import Sample
from harness.results.numbers import next_sample_id
from harness.results.records import NewSample, SampleRecord

_NEW = [f.name for f in fields(NewSample)]


def _record(row: Sample) -> SampleRecord:
    return SampleRecord(**{k: getattr(row, k) for k in _NEW}, id=row.id, status=row.status)


def _same(new: NewSample) -> Sample | None:
    with session() as s:
        return s.scalars(
            select(Sample).where(
                Sample.name == new.name, Sample.version == new.version, Sample.spec_sha256 == new.spec_sha256
            )
        ).first()


def register_sample(new: NewSample) -> tuple[SampleRecord, bool]:
    """(the registration, whether it is new). The same name, version and spec hash is the same
    sample: its existing registration is returned."""
    existing = _same(new)
    if existing is not None:
        return _record(existing), False
    sample_id = next_sample_id(new.received.year)
    try:
        with session() as s:
            row = Sample(id=sample_id, status="registered", **asdict(new))
            s.add(row)
        return _record(row), True
    except IntegrityError:
        # Another harness registered the same sample at the same moment: its row is the registration.
        winner = _same(new)
        if winner is None:
            raise
        return _record(winner), False


def get_sample(sample_id: str) -> SampleRecord | None:
    with session() as s:
        row = s.get(Sample, sample_id)
        return _record(row) if row else None


def list_samples() -> list[SampleRecord]:
    with session() as s:
        return [_record(r) for r in s.scalars(select(Sample).order_by(Sample.id))]
