"""What a check may say besides pass and fail. The plugin's hook is the only place that turns an
outcome into a verdict: an assertion is the product failing; anything else is the lab's fault."""

from __future__ import annotations

import pytest

NOT_APPLICABLE_PREFIX = "不适用："
REVIEW_PREFIX = "待判定："

OUTCOMES = ("pass", "fail", "error", "not_applicable", "review")
OUTCOME_ZH = {"pass": "符合", "fail": "不符合", "error": "检测异常", "not_applicable": "不适用", "review": "待判定"}


def not_applicable(reason: str) -> None:
    """End a check as not applicable to this sample (for instance, nothing declared to compare)."""
    pytest.skip(NOT_APPLICABLE_PREFIX + reason)


def needs_review(reason: str) -> None:
    """End a check that observed the sample but has nothing to judge it against (the sample declared
    no value and the lab states no default): the item goes to an engineer with what was observed.
    The check's observations and evidence are kept; the reason says what the engineer must decide."""
    pytest.skip(REVIEW_PREFIX + reason)
