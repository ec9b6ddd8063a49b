"""Telling two kinds of answer apart by their time (user enumeration through login latency).

Samples are taken in interleaved pairs (one of each kind, alternating which goes first), so a busy
machine slows both alike; each side is summarised by its median. A difference counts only when it
is large (a ratio and an absolute gap) and consistent (most pairs agree with the medians' order),
and the check repeats the whole round before it fails a product. Thresholds are lab policy."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

PAIRS = 8  # interleaved pairs per round
# The slower median at least 1.5 times the faster: each sample also carries the connection's own cost
# (a fresh TLS handshake per login attempt), which dilutes the ratio of what the product itself spends.
MIN_RATIO = 1.5
MIN_GAP_S = 0.015  # and at least 15 ms apart
# and at least 7 of 8 pairs ordered the same way as the medians: the strongest sign on a busy machine
# (a product that merely writes its failure counter on a wrong password is slower by a little, but
# neither consistently by much nor by a large ratio)
MIN_AGREEMENT = 0.85


@dataclass(frozen=True)
class Comparison:
    """Unknown-user answers against wrong-password answers of one round."""

    unknown_s: float  # median
    wrong_s: float  # median
    agreement: float  # share of pairs ordered like the medians

    @property
    def ratio(self) -> float:
        low, high = sorted((self.unknown_s, self.wrong_s))
        return high / low if low > 0 else float("inf")

    @property
    def gap_s(self) -> float:
        return abs(self.wrong_s - self.unknown_s)

    def reveals(self) -> bool:
        return self.ratio >= MIN_RATIO and self.gap_s >= MIN_GAP_S and self.agreement >= MIN_AGREEMENT

    def zh(self) -> str:
        return (
            f"不存在的用户中位 {self.unknown_s * 1000:.0f} 毫秒，存在用户错误口令中位 {self.wrong_s * 1000:.0f} 毫秒"
            f"（相差 {self.gap_s * 1000:.0f} 毫秒，{self.ratio:.1f} 倍，{self.agreement:.0%} 的成对样本顺序一致）"
        )

    def en(self) -> str:
        return (
            f"unknown user median {self.unknown_s * 1000:.0f} ms, known user with a wrong password median "
            f"{self.wrong_s * 1000:.0f} ms ({self.gap_s * 1000:.0f} ms apart, {self.ratio:.1f}x, "
            f"{self.agreement:.0%} of the pairs in the same order)"
        )


def compare(unknown: list[float], wrong: list[float]) -> Comparison:
    """The comparison of paired samples (``unknown[i]`` was taken next to ``wrong[i]``)."""
    if not unknown or len(unknown) != len(wrong):
        raise ValueError("timing samples must come in pairs")
    mu, mw = statistics.median(unknown), statistics.median(wrong)
    slower_wrong = mw >= mu
    agree = sum(1 for u, w in zip(unknown, wrong, strict=True) if (w > u) == slower_wrong and w != u)
    return Comparison(mu, mw, agree / len(unknown))
