"""Verdicts and their evidence, recorded the moment a check ends, in a hash chain per run.

Each verdict row carries chain_sha256 = SHA-256(previous row's chain value, this row's content,
its evidence files' SHA-256). verify_run recomputes the chain from the rows and every evidence
file's SHA-256 from the disk, so a verdict edited in the database (fail -> pass), a row deleted from
the middle of a run, or an evidence file changed after the run is found.

What a chain cannot show: someone able to rewrite both the database and the files can recompute
it. A report carries the chain's head (report stream), which fixes the chain as it was when the
report was built.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from harness.config import lab_config
from harness.errors import InputError
from harness.results.db import session
from harness.results.models import Evidence, Run, Verdict
from harness.results.outcomes import Outcome
from harness.results.records import EvidenceRef, VerdictInput, VerdictRecord
from harness.results.runs import RECORD_FORMAT

GENESIS = "0" * 64


def _when(t: datetime) -> str:
    return t.isoformat(timespec="microseconds")


def chain_value(previous: str, run_id: str, v: VerdictInput) -> str:
    content: dict[str, Any] = {
        "run": run_id,
        "check": v.check_id,
        "clauses": list(v.clause_ids),
        "model": v.model,
        "outcome": str(v.outcome),
        "summary": v.summary,
        "summary_en": v.summary_en,
        "detail": v.detail,
        "started": _when(v.started),
        "finished": _when(v.finished),
        "evidence": [[e.kind, e.title, e.path, e.sha256, e.size] for e in v.evidence],
    }
    # Hints and a lab error's kind came later: chained only when present, so verdicts recorded
    # before them keep the chain values they were given.
    if v.hints:
        content["hints"] = [dict(h) for h in v.hints]
    if v.error:
        content["error"] = v.error
    body = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous}\n{body}".encode()).hexdigest()


def record_verdict(run_id: str, v: VerdictInput) -> VerdictRecord:
    """Store one check's verdict and its evidence, chained to the run's previous verdict."""
    # Microseconds are what every engine keeps; the chain covers exactly what is stored.
    with session() as s:
        # Lock the run row: verdicts of one run are chained one after another, whoever writes them.
        run = s.scalars(select(Run).where(Run.id == run_id).with_for_update()).first()
        if run is None:
            raise InputError(f"no run {run_id!r} in the lab database")
        last = s.scalars(
            select(Verdict.chain_sha256).where(Verdict.run_id == run_id).order_by(Verdict.id.desc()).limit(1)
        ).first()
        chain = chain_value(last or GENESIS, run_id, v)
        row = Verdict(
            run_id=run_id,
            check_id=v.check_id,
            clause_ids=list(v.clause_ids),
            model=v.model,
            outcome=str(v.outcome),
            summary=v.summary,
            summary_en=v.summary_en,
            detail=v.detail,
            hints=[dict(h) for h in v.hints] or None,
            error=v.error,
            started=v.started,
            finished=v.finished,
            chain_sha256=chain,
        )
        s.add(row)
        s.flush()
        for e in v.evidence:
            s.add(
                Evidence(
                    run_id=run_id,
                    verdict_id=row.id,
                    check_id=v.check_id,
                    model=v.model,
                    kind=e.kind,
                    title=e.title,
                    path=e.path,
                    sha256=e.sha256,
                    size=e.size,
                    created=v.finished,
                )
            )
        return _record(row, v.evidence)


def _record(row: Verdict, evidence: tuple[EvidenceRef, ...]) -> VerdictRecord:
    return VerdictRecord(
        check_id=row.check_id,
        clause_ids=tuple(row.clause_ids),
        model=row.model,
        outcome=Outcome(row.outcome),
        detail=row.detail,
        summary=row.summary,
        summary_en=row.summary_en,
        started=row.started,
        finished=row.finished,
        evidence=evidence,
        hints=tuple(row.hints or ()),
        error=row.error,
        id=row.id,
        run_id=row.run_id,
        chain_sha256=row.chain_sha256,
    )


def verdicts_of(run_id: str) -> list[VerdictRecord]:
    """A run's verdicts in the order they were recorded, each with its evidence."""
    with session() as s:
        rows = list(s.scalars(select(Verdict).where(Verdict.run_id == run_id).order_by(Verdict.id)))
        ev: dict[int, list[EvidenceRef]] = {}
        for e in s.scalars(select(Evidence).where(Evidence.run_id == run_id).order_by(Evidence.id)):
            if e.verdict_id is not None:
                ev.setdefault(e.verdict_id, []).append(EvidenceRef(e.kind, e.title, e.path, e.sha256, e.size))
        return [_record(r, tuple(ev.get(r.id, []))) for r in rows]


def evidence_kinds(run_id: str) -> dict[str, str]:
    """{path relative to the run folder: kind} of every evidence file the run recorded."""
    with session() as s:
        return {e.path: e.kind for e in s.scalars(select(Evidence).where(Evidence.run_id == run_id))}


@dataclass
class RunVerification:
    run_id: str
    verdicts: int  # rows checked
    evidence_files: int  # files hashed
    head: str  # the chain value of the last verdict (what a report fixes)
    problems: list[str] = field(default_factory=list)
    unchained: int = 0  # rows recorded before the chain existed (older lab databases)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_run(run_id: str, run_dir: Path | None = None) -> RunVerification:
    """Recompute a run's verdict chain and its evidence files' SHA-256; list every discrepancy."""
    with session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise InputError(f"no run {run_id!r} in the lab database")
        chained_run = (run.environment or {}).get("record") == RECORD_FORMAT
    records = verdicts_of(run_id)
    run_dir = run_dir or lab_config().run_dir(run_id)
    result = RunVerification(run_id, len(records), 0, GENESIS)
    previous = GENESIS
    for v in records:
        label = f"verdict {v.id} ({v.check_id} [{v.model}], {v.outcome})"
        if v.chain_sha256 is None:
            if chained_run:
                result.problems.append(f"{label}: its chain value was removed")
            result.unchained += 1
            continue
        expected = chain_value(previous, run_id, v)
        if v.chain_sha256 != expected:
            result.problems.append(
                f"{label}: the record does not match its hash chain (edited, or a row before it was removed)"
            )
        previous = v.chain_sha256
        for e in v.evidence:
            path = run_dir / e.path
            result.evidence_files += 1
            try:
                actual = _sha256(path)
            except OSError as err:
                result.problems.append(f"{label}: evidence {e.path} cannot be read: {err.strerror or err}")
                continue
            if actual != e.sha256:
                result.problems.append(f"{label}: evidence {e.path} changed after it was recorded")
    result.head = previous
    return result


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
