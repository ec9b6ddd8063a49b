"""Judging failover (chapter 7, ``7.dr.failover``): what the load saw when one of several instances
behind the sample's entry point was killed. Pure functions over the load's samples; the suite
``test_suites/service/test_failover.py`` measures and then asks these.

The interruption is measured from the kill, as the load saw it: until the end of the last operation
that failed after it, or the longest stretch in which no operation succeeded, whichever is longer.
An entry point that never stops sending some clients to the dead instance keeps failing
operations to the end of the observation, so its interruption lasts the whole observation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from harness.checks.service import Figure, Source
from harness.policy import Setting
from harness.probes.load import OpSample


@dataclass(frozen=True)
class FailoverMethod:
    """How the lab drills a failover. Lab policy, stated in the evidence."""

    reach_s: float = 15.0  # the load must have reached the sample by then
    warm_up_s: float = 2.0  # at least this much load before the kill ...
    acks_before_kill: tuple[int, int] = (8, 20)  # ... and a random count of acknowledged transfers
    tail_s: float = 5.0  # observed this long past the declared bound: a longer interruption shows
    restore_s: float = 60.0  # the killed instance must accept connections again within this


LAB = FailoverMethod()


@dataclass
class Interruption:
    kill_at: float
    observed_until: float
    failed: list[OpSample] = field(default_factory=list)  # failed operations that ended after the kill
    succeeded: int = 0  # operations that succeeded after the kill
    longest_gap_s: float = 0.0  # the longest stretch after the kill with no operation succeeding
    gap_from_s: float = 0.0  # where it starts, seconds after the kill
    last_failure_s: float | None = None  # when the last failed operation ended, seconds after the kill

    @property
    def seconds(self) -> float:
        return max(self.longest_gap_s, self.last_failure_s or 0.0)

    @property
    def lasted_to_the_end(self) -> bool:
        """Whether it was still going on when the observation ended (not over, only cut off)."""
        return self.kill_at + self.seconds >= self.observed_until - 1.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "interruption_s": round(self.seconds, 3),
            "longest_gap_without_success_s": round(self.longest_gap_s, 3),
            "longest_gap_starts_s_after_kill": round(self.gap_from_s, 3),
            "last_failure_ends_s_after_kill": None if self.last_failure_s is None else round(self.last_failure_s, 3),
            "operations_failed_after_kill": len(self.failed),
            "operations_succeeded_after_kill": self.succeeded,
            "observed_s_after_kill": round(self.observed_until - self.kill_at, 3),
            "still_interrupted_when_observation_ended": self.lasted_to_the_end,
            "failures": [_failure(s, self.kill_at) for s in self.failed[:50]],
        }


def _failure(s: OpSample, kill_at: float) -> dict[str, Any]:
    return {
        "op": s.op,
        "account": s.account,
        "started_s_after_kill": round(s.start - kill_at, 3),
        "ended_s_after_kill": round(s.end - kill_at, 3),
        "status": s.status,
        "error": s.error,
    }


def interruption(samples: list[OpSample], kill_at: float, observed_until: float) -> Interruption:
    """What the load saw from ``kill_at`` to ``observed_until`` (``time.monotonic()`` seconds)."""
    after = [s for s in samples if kill_at < s.end <= observed_until]
    ok_ends = sorted(s.end for s in after if s.ok)
    failed = sorted((s for s in after if not s.ok), key=lambda s: s.end)
    marks = [kill_at, *ok_ends, observed_until]
    gap, start = 0.0, kill_at
    for a, b in pairwise(marks):
        if b - a > gap:
            gap, start = b - a, a
    return Interruption(
        kill_at=kill_at,
        observed_until=observed_until,
        failed=failed,
        succeeded=len(ok_ends),
        longest_gap_s=gap,
        gap_from_s=start - kill_at,
        last_failure_s=(failed[-1].end - kill_at) if failed else None,
    )


def failover_figure(measured_s: float, bound: Setting) -> Figure:
    source: Source = "declared" if bound.declared else "lab-default"
    return Figure("服务中断", measured_s, float(bound.value), source, "s", name_en="interruption")
