"""How a check's ending becomes a verdict, in one place: an assertion is the product failing;
anything else is the lab's fault; a pass needs evidence; only a not-applicable skip is not
applicable; nothing passes on a sample that stopped running. The plugin's hook applies these rules;
the outcomes themselves (and their labels) are the results room's: harness.results.outcomes."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from harness.deploy import DeployError, SampleDied
from harness.evidence import EvidenceRecorder
from harness.results.outcomes import EN_MARK, NOT_APPLICABLE_PREFIX, OUTCOME_ZH, OUTCOMES, REVIEW_PREFIX, Outcome

__all__ = [
    "NOT_APPLICABLE_PREFIX",
    "OUTCOMES",
    "OUTCOME_ZH",
    "REVIEW_PREFIX",
    "Outcome",
    "decide",
    "describe",
    "error_kind",
    "lab_error",
    "needs_review",
    "not_applicable",
    "on_dead_sample",
]


def _with_en(reason: str, en: str | None) -> str:
    return reason + (EN_MARK + en if en else "")


def not_applicable(reason: str, en: str | None = None) -> None:
    """End a check as not applicable to this sample (for instance, nothing declared to compare).
    `reason`: the Chinese sentence; `en`: the same in English, for the English report."""
    pytest.skip(NOT_APPLICABLE_PREFIX + _with_en(reason, en))


def needs_review(reason: str, en: str | None = None) -> None:
    """End a check that observed the sample but has nothing to judge it against (the sample declared
    no value and the lab states no default): the item goes to an engineer with what was observed.
    The check's observations and evidence are kept; the reason says what the engineer must decide
    (`en`: the same in English)."""
    pytest.skip(REVIEW_PREFIX + _with_en(reason, en))


def describe(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    if excinfo.errisinstance(AssertionError):
        return str(excinfo.value) or "assertion failed"
    if excinfo.errisinstance(DeployError):
        return f"部署失败 (deploy failed): {excinfo.value}"
    if excinfo.errisinstance(SampleDied):
        return str(excinfo.value)
    tb = "".join(traceback.format_exception_only(excinfo.type, excinfo.value)).strip()
    return f"{tb}\n{excinfo.getrepr(style='short')}"


def skipped(report: pytest.TestReport, otherwise: str) -> tuple[Outcome, str]:
    """A skip is "not applicable" only when the plan or the check said so; any other skip means
    the check did not look at the sample, which is the lab's problem. A check's reason keeps its
    English after EN_MARK (the plugin splits it off: split_reason)."""
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if reason.startswith(NOT_APPLICABLE_PREFIX):
        return Outcome.NOT_APPLICABLE, reason.removeprefix(NOT_APPLICABLE_PREFIX)
    if reason.startswith(REVIEW_PREFIX):
        return Outcome.REVIEW, reason.removeprefix(REVIEW_PREFIX)
    return Outcome.ERROR, f"{otherwise}: {reason}"


def decide(
    reports: dict[str, pytest.TestReport], excs: dict[str, tuple[bool, str]], rec: EvidenceRecorder | None
) -> tuple[Outcome, str]:
    """(outcome, detail) for one check: pass | fail | error | not_applicable | review. `reports`: pytest's
    report per phase; `excs`: per phase, (was it an assertion in the call, its description)."""
    setup = reports.get("setup")
    if setup is not None and setup.skipped:
        return skipped(setup, "check did not run")
    if setup is not None and setup.failed:
        return Outcome.ERROR, excs.get("setup", (False, "setup failed"))[1]
    call = reports.get("call")
    if call is not None and call.skipped:
        outcome, text = skipped(call, "check skipped itself")
        if outcome == Outcome.REVIEW and (rec is None or not (rec.items or rec.observations)):
            return Outcome.ERROR, "the check handed the item to an engineer without recording what it observed"
        return outcome, text
    if call is not None and call.failed:
        is_product, text = excs.get("call", (False, "failed"))
        outcome = Outcome.FAIL if is_product else Outcome.ERROR
    elif call is not None and call.passed:
        outcome, text = Outcome.PASS, ""
    else:
        return Outcome.ERROR, "check did not run"
    teardown = reports.get("teardown")
    if teardown is not None and teardown.failed and outcome == Outcome.PASS:
        outcome, text = Outcome.ERROR, excs.get("teardown", (False, "teardown failed"))[1]
    if outcome in (Outcome.PASS, Outcome.FAIL) and (rec is None or not (rec.items or rec.observations)):
        # A verdict on the sample must rest on something the check looked at.
        return Outcome.ERROR, "the check left no evidence, so its verdict cannot stand" + (f" ({text})" if text else "")
    return outcome, text


def on_dead_sample(outcome: Outcome, detail: str, cause: str) -> tuple[Outcome, str]:
    """A verdict on a sample that is no longer running: nothing passes on it, and an error names the
    death instead of whatever connection failure it caused. A product failure seen before it
    stands, with the death noted."""
    first = detail.strip().splitlines()[0] if detail.strip() else ""
    if outcome == Outcome.FAIL:
        return outcome, f"{detail}\n（{cause}）"
    if outcome == Outcome.PASS:
        return Outcome.ERROR, f"{cause}；检查本身未发现问题，但结论不能成立"
    if first and first != cause:
        return Outcome.ERROR, f"{cause}（{first}）"
    return Outcome.ERROR, cause


def error_kind(exc: BaseException) -> dict[str, Any]:
    """What the report needs to state a lab error in its own language: the exception's classes
    (most specific first) and the Chinese sentence a HarnessError may carry."""
    kinds = [c.__name__ for c in type(exc).__mro__ if c not in (BaseException, object)]
    return {"kinds": kinds, "zh": getattr(exc, "zh", None)}


# Lab errors that are no exception of the check (decide() names them by these first words).
_NO_EXCEPTION = {
    "check did not run": "NotRun",
    "check skipped itself": "NotRun",
    "the check left no evidence, so its verdict cannot stand": "NoEvidence",
    "the check handed the item to an engineer without recording what it observed": "NoEvidence",
    "setup failed": "LabFault",
    "teardown failed": "LabFault",
}


def lab_error(
    outcome: Outcome, detail: str, errs: dict[str, dict[str, Any]], cause: str | None = None
) -> dict[str, Any] | None:
    """An error verdict's kind ({"kinds", "zh"}), None for any other outcome. `errs`: per phase, the
    exception's error_kind; `cause`: the kind when the rules above (not an exception) made it an error."""
    if outcome != Outcome.ERROR:
        return None
    if cause:
        return {"kinds": [cause], "zh": None}
    plain = _NO_EXCEPTION.get(detail.split(":")[0].split(" (")[0])
    if plain:
        return {"kinds": [plain], "zh": None}
    raised = next((errs[w] for w in ("setup", "call", "teardown") if w in errs), None)
    return raised or {"kinds": ["LabFault"], "zh": None}
