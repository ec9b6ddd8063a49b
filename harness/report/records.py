"""What engineers add to a run's record besides the checks' verdicts: their verdict on an item no
check decides (document review, semi-automated, or one a check left to them), and approved waivers
and deviations. Each rebuilds the run's draft reports and says which it did not change; after
approval nothing moves silently: a record is refused, or opens the report's next revision."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from harness import clock, results
from harness.catalogue import load_catalogue
from harness.config import lab_config
from harness.evidence import sha256_file
from harness.plan import API_CONFORMANCE, Plan, PlannedItem
from harness.report.build import build_content
from harness.report.conclusion import unfinished
from harness.report.lifecycle import revise
from harness.report.rows import item_verdict
from harness.report.terms import CONFORM, NONCONFORM, NOT_APPLICABLE, PENDING, ReportError
from harness.report.workflow import Rebuilt, approved_reports_of, rebuild_drafts
from harness.results import ItemRecordEntry, Outcome, WaiverRecord

RECORD_VERDICTS = {
    "符合": CONFORM,
    "pass": CONFORM,
    "conform": CONFORM,
    "不符合": NONCONFORM,
    "fail": NONCONFORM,
    "nonconform": NONCONFORM,
    "不适用": NOT_APPLICABLE,
    "na": NOT_APPLICABLE,
    "not_applicable": NOT_APPLICABLE,
}


def _planned(plan: Plan, run_id: str, item_id: str) -> PlannedItem:
    for p in plan.all_items():
        if p.item_id == item_id:
            return p
    raise ReportError(f"{item_id!r} is not an item of run {run_id}'s plan")


def _recordable(run_id: str, p: PlannedItem) -> str | None:
    """Why an engineer may not record this item (None: they may)."""
    if not p.applicable:
        return f"{p.item_id} is not applicable to this sample ({p.reason or ''}): nothing to record"
    if not p.checks:
        return None
    outcomes = [str(v.outcome) for v in results.verdicts_of(run_id) if p.item_id in v.clause_ids]
    if Outcome.REVIEW in outcomes and item_verdict(outcomes) == PENDING:
        return None  # its checks observed and left the judgement to an engineer
    return (
        f"{p.item_id} is decided by its automated checks ({', '.join(p.checks)}); rerun them instead of "
        "recording a verdict"
    )


def _store_evidence(run_id: str, item_id: str, files: list[Path]) -> tuple[dict[str, Any], ...]:
    run_dir = lab_config().run_dir(run_id)
    dest = run_dir / "evidence" / "records" / item_id.replace("/", "_")
    dest.mkdir(parents=True, exist_ok=True)
    stored = []
    start = len(list(dest.iterdir()))
    for n, f in enumerate(files, start=start + 1):
        target = dest / f"{n:02d}-{f.name}"
        target.write_bytes(f.read_bytes())
        stored.append(
            {
                "title": f.name,
                "path": target.relative_to(run_dir).as_posix(),
                "sha256": sha256_file(target),
                "size": target.stat().st_size,
            }
        )
    return tuple(stored)


def record(
    run_id: str,
    item_id: str,
    verdict: str,
    note: str,
    engineer: str,
    evidence: list[Path] | None = None,
    at: datetime | None = None,
    *,
    reference: str | None = None,
    no_evidence: str | None = None,
    note_en: str | None = None,
    revise_reason: str | None = None,
) -> tuple[ItemRecordEntry, Rebuilt]:
    """An engineer's verdict on an item, backed by evidence files, a reference to the reviewed document
    section, or an explicit reason why there is none. On a run whose report is approved, it is refused
    unless `revise_reason` opens the report's next revision; drafts of the run are rebuilt, and the
    result says which."""
    problems = []
    v = RECORD_VERDICTS.get(verdict.strip().lower()) or RECORD_VERDICTS.get(verdict.strip())
    if v is None:
        problems.append(f"verdict {verdict!r}: one of 符合 / 不符合 / 不适用 (or pass / fail / na)")
    if not note.strip():
        problems.append("a record needs a note: what was reviewed or observed (--note)")
    if not engineer.strip():
        problems.append("a record needs the engineer's name (--engineer)")
    problems += [f"evidence {f}: no such file" for f in evidence or [] if not f.is_file()]
    reference = (reference or "").strip() or None
    no_evidence = (no_evidence or "").strip() or None
    if not (evidence or reference or no_evidence):
        problems.append(
            "a verdict needs what backs it: --evidence FILE, --reference 'the reviewed document and section', "
            "or --no-evidence 'why there is none'"
        )
    frozen = approved_reports_of(run_id)
    if frozen and not (revise_reason or "").strip():
        problems.append(
            "the run's report "
            + ", ".join(f"{r.label} is {r.status}" for r in frozen)
            + ": a record would change what was approved; it is refused. To correct the report, record with "
            "--revise 'reason': that opens its next revision, built with this record"
        )
    run = results.get_run(run_id)
    if run is None:
        raise ReportError(f"no run {run_id!r} in the lab database")
    if run.plan is None:
        raise ReportError(f"run {run_id} has no plan: it ended before its checks were collected")
    try:
        why_not = _recordable(run_id, _planned(run.plan, run_id, item_id))
    except ReportError as e:
        why_not = str(e)
    if why_not:
        problems.append(why_not)
    if problems:
        raise ReportError("\n".join(problems))
    assert v is not None
    rec = results.add_item_record(
        ItemRecordEntry(
            run_id=run_id,
            item_id=item_id,
            verdict=v,
            note=note.strip(),
            note_en=(note_en or "").strip() or None,
            reference=reference,
            no_evidence_reason=no_evidence,
            engineer=engineer.strip(),
            recorded=clock.to_lab(at).replace(microsecond=0) if at is not None else clock.stamp(),
            evidence=_store_evidence(run_id, item_id, evidence or []),
        )
    )
    result = Rebuilt()
    for r in frozen:
        w = revise(r.number, revise_reason or "", run_id)
        result.opened.append(f"{w.number} revision {w.revision} ({w.out_dir})")
    more = rebuild_drafts([run_id])
    result.rebuilt += [x for x in more.rebuilt if x not in " ".join(result.opened)]
    result.untouched += [x for x in more.untouched if not any(o.split(" (")[0] in x for o in result.opened)]
    return rec, result


def pending_items(run_id: str) -> list[str]:
    """What a run's report would still lack before it can be signed."""
    if results.get_run(run_id) is None:
        raise ReportError(f"no run {run_id!r} in the lab database")
    return unfinished(build_content(run_id, "PENDING", 1))


# --- waivers and deviations ------------------------------------------------------------------------


def _waiver_problems(kind: str, justification: str, approved_by: str, expires: date, approved_on: date) -> list[str]:
    today = clock.today()
    problems = []
    if kind not in ("waiver", "deviation"):
        problems.append(f"kind {kind!r}: waiver or deviation")
    if not justification.strip():
        problems.append("a waiver or deviation needs its justification (--justification)")
    if not approved_by.strip():
        problems.append("a waiver or deviation needs who approved it (--approved-by)")
    if expires < approved_on:
        problems.append(f"expiry {expires} is before the approval date {approved_on}")
    elif expires < today:
        problems.append(f"expiry {expires} has already passed (today is {today}): an expired {kind} is not entered")
    if approved_on > today:
        problems.append(f"approval date {approved_on} is in the future (today is {today})")
    return problems


def _scope(clause_id: str, run_id: str | None, sample_id: str | None) -> tuple[list[str], list[str]]:
    """(the runs the waiver touches, problems with its scope)."""
    if (run_id is None) == (sample_id is None):
        return [], ["give its scope: exactly one of --run RUN or --sample SAMPLE"]
    if run_id is not None:
        run = results.get_run(run_id)
        if run is None:
            return [], [f"no run {run_id!r} in the lab database"]
        ids = {p.item_id for p in run.plan.all_items()} if run.plan else set()
        if ids and clause_id not in ids:
            return [run_id], [f"{clause_id!r} is not an item of run {run_id}'s plan"]
        return [run_id], []
    assert sample_id is not None
    sample = results.get_sample(sample_id)
    if sample is None:
        return [], [f"no sample {sample_id!r} in the lab database"]
    cat = load_catalogue(sample.spec_snapshot["basis"][0])
    ucs = {uc["id"] for uc in sample.spec_snapshot["documentation"]["use_cases"]}
    if clause_id not in cat.ids() | ucs | {API_CONFORMANCE}:
        return [], [f"{clause_id!r} is neither a clause of {cat.standard.id} nor a use case of {sample_id}"]
    return results.runs_of_sample(sample_id), []


def add_waiver(
    clause_id: str,
    kind: str,
    justification: str,
    approved_by: str,
    expires: date,
    approved_on: date | None = None,
    run_id: str | None = None,
    sample_id: str | None = None,
    justification_en: str | None = None,
) -> tuple[WaiverRecord, Rebuilt]:
    """Record an approved waiver or deviation; rebuild the drafts it touches and say which were not.
    One already expired when entered is refused."""
    approved_on = approved_on or clock.today()
    problems = _waiver_problems(kind, justification, approved_by, expires, approved_on)
    runs, scope_problems = _scope(clause_id, run_id, sample_id)
    if problems + scope_problems:
        raise ReportError("\n".join(problems + scope_problems))
    w = results.add_waiver(
        WaiverRecord(
            clause_id=clause_id,
            kind=kind,
            justification=justification.strip(),
            justification_en=(justification_en or "").strip() or None,
            approved_by=approved_by.strip(),
            approved_on=approved_on,
            expires=expires,
            run_id=run_id,
            sample_id=sample_id,
        )
    )
    return w, rebuild_drafts(runs)


def list_waivers() -> list[WaiverRecord]:
    return results.list_waivers()
