"""A report revision's status and the only changes it may go through.

    draft -> prepared -> reviewed -> approved -> submitted
    prepared | reviewed -> draft            (reopened to correct it; signatures withdrawn)
    approved | submitted -> superseded      (a later revision was approved)

An approved, submitted or superseded revision never changes again (FROZEN).
"""

from __future__ import annotations

from enum import StrEnum

from harness.errors import InputError


class ReportStatus(StrEnum):
    DRAFT = "draft"
    PREPARED = "prepared"
    REVIEWED = "reviewed"
    APPROVED = "approved"
    SUBMITTED = "submitted"
    SUPERSEDED = "superseded"

    @property
    def frozen(self) -> bool:
        return self in FROZEN

    def can_become(self, new: ReportStatus) -> bool:
        return new in TRANSITIONS[self]


# The signing roles, in the order they must sign; each moves the report to the status of its name.
SIGNING_ORDER = (ReportStatus.PREPARED, ReportStatus.REVIEWED, ReportStatus.APPROVED)
FROZEN = frozenset({ReportStatus.APPROVED, ReportStatus.SUBMITTED, ReportStatus.SUPERSEDED})

TRANSITIONS: dict[ReportStatus, frozenset[ReportStatus]] = {
    ReportStatus.DRAFT: frozenset({ReportStatus.PREPARED}),
    ReportStatus.PREPARED: frozenset({ReportStatus.REVIEWED, ReportStatus.DRAFT}),
    ReportStatus.REVIEWED: frozenset({ReportStatus.APPROVED, ReportStatus.DRAFT}),
    ReportStatus.APPROVED: frozenset({ReportStatus.SUBMITTED, ReportStatus.SUPERSEDED}),
    ReportStatus.SUBMITTED: frozenset({ReportStatus.SUPERSEDED}),
    ReportStatus.SUPERSEDED: frozenset(),
}


class StatusChangeRefused(InputError):
    pass


def transition(old: str | ReportStatus, new: str | ReportStatus) -> ReportStatus:
    """The new status if `old` may become it; otherwise StatusChangeRefused naming both and what is allowed."""
    try:
        before, after = ReportStatus(old), ReportStatus(new)
    except ValueError as e:
        raise StatusChangeRefused(f"not a report status: {e}") from None
    if not before.can_become(after):
        allowed = ", ".join(sorted(TRANSITIONS[before])) or "nothing (it never changes again)"
        raise StatusChangeRefused(f"a report that is {before} cannot become {after}; it can become: {allowed}")
    return after
