"""How a check's ending becomes a verdict, in one place: an assertion is the product failing;
anything else is the lab's fault; a pass needs evidence; only a not-applicable skip is not
applicable; nothing passes on a sample that stopped running. The plugin's hook applies these rules;
the outcomes themselves (and their labels) are the results room's: harness.results.outcomes."""

from __future__ import annotations

import traceback

import pytest

from harness.deploy import DeployError, SampleDied
from harness.evidence import EvidenceRecorder
from harness.results.outcomes import NOT_APPLICABLE_PREFIX, OUTCOME_ZH, OUTCOMES, REVIEW_PREFIX, Outcome

__all__ = [
    "NOT_APPLICABLE_PREFIX",
    "OUTCOMES",
    "OUTCOME_ZH",
    "REVIEW_PREFIX",
    "Outcome",
    "decide",
    "describe",
    "needs_review",
    "not_applicable",
    "on_dead_sample",
]


def not_applicable(reason: str) -> None:
    """End a check as not applicable to this sample (for instance, nothing declared to compare)."""
    pytest.skip(NOT_APPLICABLE_PREFIX + reason)


def needs_review(reason: str) -> None:
    """End a check that observed the sample but has nothing to judge it against (the sample declared
    no value and the lab states no default): the item goes to an engineer with what was observed.
    The check's observations and evidence are kept; the reason says what the engineer must decide."""
    pytest.skip(REVIEW_PREFIX + reason)


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
    the check did not look at the sample, which is the lab's problem."""
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
