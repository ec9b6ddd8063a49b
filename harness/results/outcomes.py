"""What a recorded check can end as, what a run can end as, and how the report names them. No pytest
here: the report reads these without knowing how a check was run."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """One check's verdict on one deployed model. Only an assertion inside a check is a FAIL; every
    lab fault is an ERROR (decided in one place: the pytest plugin's hook)."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    NOT_APPLICABLE = "not_applicable"
    REVIEW = "review"  # observed, but nothing to judge it against: an engineer decides (待判定)

    @property
    def zh(self) -> str:
        return OUTCOME_ZH[self.value]


OUTCOMES = tuple(o.value for o in Outcome)
OUTCOME_ZH = {"pass": "符合", "fail": "不符合", "error": "检测异常", "not_applicable": "不适用", "review": "待判定"}

# The reason a check (or the plan) gives when it ends as not applicable starts with this; any other
# skip means the check did not look at the sample, which is an error.
NOT_APPLICABLE_PREFIX = "不适用："
REVIEW_PREFIX = "待判定："  # a check that observed the sample and hands the judgement to an engineer
# A check's reason may carry its English after this mark; the verdict's detail is the Chinese alone.
EN_MARK = "\n[en] "


def split_reason(reason: str) -> tuple[str, str]:
    """(Chinese reason, its English or "") of a reason that may carry EN_MARK."""
    zh, _, en = reason.partition(EN_MARK)
    return zh, en


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"  # every check ran to its end (whatever the verdicts)
    ABORTED = "aborted"  # interrupted, its harness died, or the lab could not go on: partial


class JobStatus(StrEnum):
    """A job's place in a campaign. FINISHED: its run ended (its exit code says how it judged);
    ERROR: it could not run to its end (its worker died with no retry left, no worker serves it,
    the spec could not be loaded on the host): the cause says which."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    ERROR = "error"

    @property
    def ended(self) -> bool:
        return self in (JobStatus.FINISHED, JobStatus.ERROR)
