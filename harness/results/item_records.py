"""Engineers' records of items no automated check decides (document review, semi-automated), and the
approved waivers and deviations of a run or a sample: what a report reads besides the verdicts."""

from __future__ import annotations

from sqlalchemy import or_, select

from harness.results.db import session
from harness.results.models import ItemRecord, Waiver
from harness.results.records import ItemRecordEntry, WaiverRecord


def _entry(r: ItemRecord) -> ItemRecordEntry:
    return ItemRecordEntry(
        run_id=r.run_id,
        item_id=r.item_id,
        verdict=r.verdict,
        note=r.note,
        engineer=r.engineer,
        recorded=r.recorded,
        evidence=tuple(r.evidence or ()),
        note_en=r.note_en,
        reference=r.reference,
        no_evidence_reason=r.no_evidence_reason,
        id=r.id,
    )


def add_item_record(entry: ItemRecordEntry) -> ItemRecordEntry:
    row = ItemRecord(
        run_id=entry.run_id,
        item_id=entry.item_id,
        verdict=entry.verdict,
        note=entry.note,
        engineer=entry.engineer,
        recorded=entry.recorded,
        evidence=[dict(e) for e in entry.evidence],
        note_en=entry.note_en,
        reference=entry.reference,
        no_evidence_reason=entry.no_evidence_reason,
    )
    with session() as s:
        s.add(row)
        s.flush()
        return _entry(row)


def item_records_of(run_id: str) -> list[ItemRecordEntry]:
    """A run's records in the order they were made (a later record of an item replaces an earlier one)."""
    with session() as s:
        rows = s.scalars(select(ItemRecord).where(ItemRecord.run_id == run_id).order_by(ItemRecord.id))
        return [_entry(r) for r in rows]


def _waiver(w: Waiver) -> WaiverRecord:
    return WaiverRecord(
        clause_id=w.clause_id,
        kind=w.kind,
        justification=w.justification,
        approved_by=w.approved_by,
        approved_on=w.approved_on,
        expires=w.expires,
        run_id=w.run_id,
        sample_id=w.sample_id,
        justification_en=w.justification_en,
        created=w.created,
        id=w.id,
    )


def add_waiver(w: WaiverRecord) -> WaiverRecord:
    row = Waiver(
        clause_id=w.clause_id,
        kind=w.kind,
        justification=w.justification,
        justification_en=w.justification_en,
        approved_by=w.approved_by,
        approved_on=w.approved_on,
        expires=w.expires,
        run_id=w.run_id,
        sample_id=w.sample_id,
        created=w.created,
    )
    with session() as s:
        s.add(row)
        s.flush()
        return _waiver(row)


def waivers_for(run_id: str, sample_id: str) -> list[WaiverRecord]:
    """The waivers and deviations scoped to this run or to its sample, in the order they were entered."""
    with session() as s:
        rows = s.scalars(
            select(Waiver).where(or_(Waiver.run_id == run_id, Waiver.sample_id == sample_id)).order_by(Waiver.id)
        )
        return [_waiver(w) for w in rows]


def list_waivers() -> list[WaiverRecord]:
    with session() as s:
        return [_waiver(w) for w in s.scalars(select(Waiver).order_by(Waiver.id))]
