"""Judging service quality (chapter 6) and business continuity (chapter 7 and the annex) from what
the load and the crash drill observed. Pure functions over samples and declarations: no network,
no clock; the suites in ``test_suites/service/`` measure and then ask these.

Every bound a figure is judged against carries its source: the sample's declaration, the lab's
stated default (when the sample declared nothing), or the DR level's bound from the data file
``harness/catalogue/dr-levels.yaml``; a figure with no bound at all is reported, not judged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from harness.probes.load import TRANSFER, OpSample
from harness.spec.model import DisasterRecovery, ServiceLevel

Source = Literal["declared", "lab-default", "dr-level", "not-declared"]
SOURCE_ZH = {"declared": "样品声明", "lab-default": "实验室默认值", "dr-level": "容灾等级", "not-declared": "未声明"}
SOURCE_EN = {
    "declared": "declared",
    "lab-default": "lab default",
    "dr-level": "DR level",
    "not-declared": "not declared",
}


@dataclass(frozen=True)
class LabMethod:
    """How the lab loads a sample and drills a crash, and its defaults where a sample declares
    nothing. Lab policy, stated in every observation that uses it."""

    default_concurrency: int = 4
    default_error_rate: float = 0.01  # at most 1 % of operations may fail at the nominal load
    duration_s: float = 12.0  # steady load per SLA measurement, warm-up included
    warm_up_s: float = 2.0  # the first logins and connections: recorded, not judged
    drill_transfers: tuple[int, int] = (15, 45)  # acknowledged transfers before the kill: a random count
    drill_reach_s: float = 15.0  # the load must have reached the sample by then
    drill_window_min_s: float = 60.0  # the drill waits this long for the sample to serve again,
    drill_window_factor: float = 3.0  # or this many declared RTOs,
    drill_window_max_s: float = 180.0  # but never longer (a longer RTO goes to an engineer)


LAB = LabMethod()


# --- the DR levels (data) ------------------------------------------------------------------------
class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrIndicator(_Frozen):
    text: str  # the level table's own wording
    text_en: str
    max_s: float | None  # the largest value the level allows; None: the table gives no number


class DrLevel(_Frozen):
    level: int
    name: str
    name_en: str
    rto: DrIndicator
    rpo: DrIndicator
    verified: bool = False


class DrLevels(_Frozen):
    source: str
    source_en: str
    verified: bool
    levels: tuple[DrLevel, ...]


DR_LEVELS_FILE = Path(__file__).resolve().parent.parent / "catalogue" / "dr-levels.yaml"


@cache
def dr_levels(path: Path = DR_LEVELS_FILE) -> DrLevels:
    return DrLevels.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def dr_level(level: int) -> DrLevel:
    for lv in dr_levels().levels:
        if lv.level == level:
            return lv
    raise KeyError(f"DR level {level} is not in {DR_LEVELS_FILE.name}")


# --- figures -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One measured figure and the bound it is judged against (None: reported only)."""

    name: str
    measured: float
    bound: float | None
    source: Source
    unit: str  # "ms", "s", "%", "rps"
    at_least: bool = False  # throughput: the bound is a minimum
    name_en: str = ""  # when it differs from the Chinese name

    @property
    def ok(self) -> bool | None:
        if self.bound is None:
            return None
        return self.measured >= self.bound if self.at_least else self.measured <= self.bound

    def describe(self, lang: str = "zh") -> str:
        """ "P95 182.5 ms（样品声明 ≤ 500 ms）" or "P99 955.9 ms (not declared: reported only)"."""
        name = self.name if lang == "zh" else (self.name_en or self.name)
        m = f"{name} {_num(self.measured)}{_unit(self.unit, lang)}"
        src = (SOURCE_ZH if lang == "zh" else SOURCE_EN)[self.source]
        if self.bound is None:
            return f"{m}（{src}，仅记录）" if lang == "zh" else f"{m} ({src}: reported only)"
        rel = "≥" if self.at_least else "≤"
        b = f"{_num(self.bound)}{_unit(self.unit, lang)}"
        return f"{m}（{src} {rel} {b}）" if lang == "zh" else f"{m} ({src} {rel} {b})"


def _num(x: float) -> str:
    if math.isinf(x):
        return "∞"
    if 0 < abs(x) < 0.1:  # a tiny declared bound keeps its digits (0.01 ms, not 0.0)
        return f"{x:.2g}"
    return f"{x:.1f}" if abs(x) < 1000 else f"{x:.0f}"


def _unit(u: str, lang: str) -> str:
    if u == "%":
        return "%"
    if u == "rps":
        return " 次/秒" if lang == "zh" else " ops/s"
    return f" {u}"


def failed(figures: Iterable[Figure]) -> list[Figure]:
    return [f for f in figures if f.ok is False]


# --- service quality under load ---------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), interpolating between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    if lo == hi:
        return xs[lo]
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


@dataclass(frozen=True)
class OpStats:
    count: int
    failed: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def op_stats(samples: list[OpSample]) -> OpStats:
    lat = [s.latency_ms for s in samples if s.ok] or [math.inf]
    return OpStats(
        count=len(samples),
        failed=sum(not s.ok for s in samples),
        p50_ms=percentile(lat, 50),
        p95_ms=percentile(lat, 95),
        p99_ms=percentile(lat, 99),
        max_ms=max(lat),
    )


@dataclass
class SlaJudgement:
    window_s: float
    judged: list[OpSample]
    overall: OpStats
    by_op: dict[str, OpStats]
    figures: list[Figure] = field(default_factory=list)
    throughput_rps: float = 0.0
    error_rate: float = 0.0


def concurrency(declared: ServiceLevel) -> tuple[int, Source]:
    if declared.concurrency is not None:
        return declared.concurrency, "declared"
    return LAB.default_concurrency, "lab-default"


def judge_sla(
    samples: list[OpSample],
    t0: float,
    t_end: float,
    p95_ms: float,
    declared: ServiceLevel,
    warm_up_s: float,
    p95_source: Source = "declared",
) -> SlaJudgement:
    """Latency percentiles of the operations answered as declared, throughput of those and the share
    that failed, over the operations sent after the warm-up, against the declaration (P95 always
    declared; the rest declared, the lab's default, or reported only)."""
    start = t0 + warm_up_s
    judged = [s for s in samples if s.start >= start]
    window = max(t_end - start, 1e-9)
    ok = [s for s in judged if s.ok]
    overall = op_stats(judged)
    by_op = {op: op_stats([s for s in judged if s.op == op]) for op in sorted({s.op for s in judged})}
    rps = len(ok) / window
    err = (len(judged) - len(ok)) / len(judged) if judged else 1.0
    err_src: Source = "declared" if declared.error_rate is not None else "lab-default"
    err_bound = declared.error_rate if declared.error_rate is not None else LAB.default_error_rate
    figures = [
        Figure("P95", overall.p95_ms, p95_ms, p95_source, "ms"),
        Figure("P99", overall.p99_ms, declared.p99_ms, "declared" if declared.p99_ms else "not-declared", "ms"),
        Figure(
            "吞吐量",
            rps,
            declared.throughput_rps,
            "declared" if declared.throughput_rps else "not-declared",
            "rps",
            at_least=True,
            name_en="throughput",
        ),
        Figure("错误率", err * 100, err_bound * 100, err_src, "%", name_en="error rate"),
    ]
    return SlaJudgement(window, judged, overall, by_op, figures, rps, err)


# --- the crash drill -----------------------------------------------------------------------------
def reached(samples: list[OpSample]) -> bool:
    """Whether any operation got an answer at all (any status): the sample was reachable."""
    return any(s.answered for s in samples)


def acknowledged(samples: list[OpSample], before: float) -> list[OpSample]:
    """Transfers the sample accepted, with their ID, whose answer arrived before ``before``."""
    return [s for s in samples if s.op == TRANSFER and s.ok and s.ref and s.end <= before]


def leaf_values(obj: Any) -> set[str]:
    """Every scalar in a JSON answer, as text: where an acknowledged ID is looked for."""
    out: set[str] = set()
    stack = [obj]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
        elif cur is not None and not isinstance(cur, bool):
            out.add(str(cur))
    return out


def lost(acks: list[OpSample], found: set[str]) -> list[OpSample]:
    return [a for a in acks if a.ref not in found]


def loss_window_s(lost_ops: list[OpSample], kill_at: float) -> float:
    """How far back before the kill the oldest lost acknowledgement goes: the data loss, in time."""
    return max((kill_at - s.end for s in lost_ops), default=0.0)


def rto_figures(rto_s: float, declared: DisasterRecovery | None) -> list[Figure]:
    if declared is None:
        return [Figure("RTO", rto_s, None, "not-declared", "s")]
    lv = dr_level(declared.level)
    return [
        Figure("RTO", rto_s, declared.rto_s, "declared", "s"),
        Figure(
            f"RTO（等级 {lv.level}：{lv.rto.text}）",
            rto_s,
            lv.rto.max_s,
            "dr-level",
            "s",
            name_en=f"RTO (level {lv.level}: {lv.rto.text_en})",
        ),
    ]


def rpo_figures(window_s: float, declared: DisasterRecovery | None) -> list[Figure]:
    if declared is None:
        return [Figure("RPO", window_s, None, "not-declared", "s")]
    lv = dr_level(declared.level)
    return [
        Figure("RPO", window_s, declared.rpo_s, "declared", "s"),
        Figure(
            f"RPO（等级 {lv.level}：{lv.rpo.text}）",
            window_s,
            lv.rpo.max_s,
            "dr-level",
            "s",
            name_en=f"RPO (level {lv.level}: {lv.rpo.text_en})",
        ),
    ]


def drill_window_s(declared: DisasterRecovery | None) -> float:
    """How long the drill waits for the sample to serve again: enough to see a declared RTO missed by
    a wide margin, bounded so a check never hangs (a longer RTO is for an engineer's drill)."""
    if declared is None:
        return LAB.drill_window_max_s
    return min(max(LAB.drill_window_factor * declared.rto_s, LAB.drill_window_min_s), LAB.drill_window_max_s)
