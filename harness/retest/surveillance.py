"""Surveillance (rule 000 §6.7, rule 001 §5.9): rerun a certified product's recorded plan on a newly
drawn sample and list what differs from the certified results, and what regressed."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.report.build import build_content
from harness.report.terms import CONFORM
from harness.results import get_run
from harness.retest.diff import version_from_registry
from harness.retest.supplementary import RetestError, baseline_snapshot
from harness.run import RunResult, run_sample


@dataclass
class Difference:
    item_id: str
    certified: str
    now: str
    regressed: bool  # conformed when certified, does not now


@dataclass
class SurveillanceOutcome:
    result: RunResult
    baseline: dict[str, Any]
    differences: list[Difference]

    @property
    def regressions(self) -> list[Difference]:
        return [d for d in self.differences if d.regressed]

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": {k: v for k, v in self.baseline.items() if k != "items"},
            "run": self.result.run_id,
            "differences": [asdict(d) for d in self.differences],
            "regressions": [d.item_id for d in self.regressions],
        }


def recorded_plan(run_id: str) -> list[str]:
    """The items the certified run decided by checks: what a surveillance sample is tested on."""
    run = get_run(run_id)
    if run is None or run.plan is None:
        raise RetestError(f"the certified run {run_id} has no recorded plan")
    decided = {i.item_id for i in run.plan.all_items() if i.applicable and i.checks}
    # A run of part of the plan (--only, a retest) decided that part alone.
    return sorted(decided if run.plan.only is None else decided & set(run.plan.only))


def surveil(baseline_ref: str, spec: Path, backend: str | None = None) -> SurveillanceOutcome:
    base = version_from_registry(baseline_ref)
    snapshot = baseline_snapshot(base)
    if base.run_id is None:
        raise RetestError(f"{baseline_ref}: no certified run to take the plan from")
    only = recorded_plan(base.run_id)
    result = run_sample(spec, backend=backend, only=only, kind="surveillance")
    content = build_content(result.run_id, number="(surveillance)")
    now = {i.item_id: i.verdict for i in content.all_rows()}
    diffs = []
    for item_id in only:
        was = snapshot["items"].get(item_id, {}).get("verdict", "")
        got = now.get(item_id, "")
        if was != got:
            diffs.append(Difference(item_id, was, got, regressed=was == CONFORM))
    return SurveillanceOutcome(result, snapshot, diffs)
