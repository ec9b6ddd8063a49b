"""What a check may say besides pass and fail. The plugin's hook is the only place that turns an
outcome into a verdict: an assertion is the product failing; anything else is the lab's fault.
The outcomes themselves (and their labels) are the results room's: harness.results.outcomes."""

from __future__ import annotations

import pytest

from harness.results.outcomes import NOT_APPLICABLE_PREFIX, OUTCOME_ZH, OUTCOMES, Outcome

__all__ = ["NOT_APPLICABLE_PREFIX", "OUTCOMES", "OUTCOME_ZH", "Outcome", "not_applicable"]


def not_applicable(reason: str) -> None:
    """End a check as not applicable to this sample (for instance, nothing declared to compare)."""
    pytest.skip(NOT_APPLICABLE_PREFIX + reason)
