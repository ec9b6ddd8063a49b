"""`harness retest`: rerun what a change touches on the changed sample, carry the rest from the
certified report, and write the supplementary report (补充检测报告) through the usual workflow."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import InputError
from harness.report.workflow import WrittenReport, create_report
from harness.retest.diff import Analysis, ChangeDescription, Version, analyse, version_from_registry, version_from_spec
from harness.run import RunResult, run_sample
from harness.spec import load_spec


class RetestError(InputError):
    pass


def baseline_snapshot(base: Version) -> dict[str, Any]:
    """The certified report's verdicts, frozen into the retest run: what it carries over."""
    report = base.report
    if report is None:
        raise RetestError(f"{base.label}: the baseline has no report; give the certified report's number")
    items = {
        i["item_id"]: {"verdict": i["verdict"], "observed": i["observed"]}
        for i in report["items"] + report.get("functional", [])
    }
    return {
        "number": report["number"],
        "revision": report["revision"],
        "issued": report["dates"].get("issued") or report["dates"]["tests_completed"],
        "tests_completed": report["dates"]["tests_completed"],
        "items": items,
    }


@dataclass
class RetestOutcome:
    analysis: Analysis
    result: RunResult
    report: WrittenReport | None


def retest(
    baseline_ref: str,
    changed_spec: Path,
    description: ChangeDescription | None = None,
    backend: str | None = None,
    full: bool = False,
    pdf: bool = True,
    make_report: bool = True,
) -> RetestOutcome:
    base = version_from_registry(baseline_ref)
    loaded = load_spec(changed_spec)
    analysis = analyse(base, version_from_spec(loaded), description)
    info = {"baseline": baseline_snapshot(base), "analysis": analysis.to_json()}
    only = None if (full or analysis.full_retest) else analysis.impacted
    result = run_sample(changed_spec, backend=backend, only=only, kind="retest", retest=info)
    report = create_report(result.run_id, pdf=pdf) if make_report and result.exit_code != 2 else None
    return RetestOutcome(analysis, result, report)
