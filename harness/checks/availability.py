"""Availability under crafted input (11.availability.input): the crafted values, the growth of the
pathological-regex strings, and the judgement of one crafted request against its control.

A crafted request that takes long is not yet a failure: a product may serve it slowly while it keeps
answering everyone else. What is judged is the control, a cheap declared read from another session
sent while the crafted request is still in flight: if it does not answer in time, one request
stopped the service (a product availability failure, once reproduced). If the control answers, the
slow crafted request alone is an observation. If the product never answers again, the check cannot
judge what follows and says so (an error with the cause).

The pathological-regex strings grow step by step, in smaller steps as answers slow down, so a
catastrophic pattern shows itself at a length where the product is busy for seconds, not hours.
Thresholds are lab policy, named here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUICK_S = 1.0  # a crafted request still unanswered after this (or 4x its operation's usual time) is "in flight"
CONTROL_S = 3.0  # the control must answer within this (or 10x its usual time) while a crafted request is in flight
RECOVERY_S = 90.0  # how long the product may take to answer the control again after a stall
LADDER_START = 12
LADDER_MAX = 48


@dataclass(frozen=True)
class Family:
    """Strings that make a regular expression with nested quantifiers backtrack: a run of what the
    pattern's inner part matches, then one character it cannot end with."""

    name: str
    name_en: str
    unit: str
    prefix: str = ""
    tail: str = "!"

    def value(self, n: int) -> str:
        return self.prefix + self.unit * n + self.tail


FAMILIES = (
    Family("数字串", "digit run", "1"),
    Family("字母串", "letter run", "a"),
    Family("邮箱域名尾部", "e-mail domain tail", "a", prefix="a@a."),
)


def next_length(n: int, excess_s: float) -> int:
    """The next length of a growing string: big steps while the answer shows no extra time, one
    character at a time once it does (each step at most doubles an exponential pattern's work)."""
    if excess_s < 0.02:
        return n + 6
    if excess_s < 0.1:
        return n + 3
    if excess_s < 0.4:
        return n + 2
    return n + 1


def nested(depth: int, obj: bool = False) -> Any:
    """A JSON value nested ``depth`` levels deep (arrays, or objects under the key "a")."""
    out: Any = 1
    for _ in range(depth):
        out = {"a": out} if obj else [out]
    return out


@dataclass(frozen=True)
class Crafted:
    """One crafted value sent once (the growing strings are the ``FAMILIES``)."""

    name: str
    name_en: str
    value: Any
    deep: bool = False  # the value nests deeper than the lab's JSON encoder goes by default


def one_shots() -> list[Crafted]:
    """Very long, deeply nested, huge-number and slow-query values. Objects and arrays only go to
    inputs whose JSON keeps their type; the text forms go everywhere."""
    return [
        Crafted("超长字符串（1 万字符）", "10,000-character string", "a" * 10_000 + "!"),
        Crafted("超长空白（1 万字符）", "10,000 blanks", " " * 10_000 + "!"),
        Crafted("超长数字（1 万位）", "10,000-digit number as text", "9" * 10_000),
        Crafted("超大指数", "huge exponent", "1e999999999"),
        Crafted("超大负指数", "huge negative exponent", "1e-999999999"),
        Crafted("超大整数", "4,000-digit integer", 10**3999),
        Crafted("深层嵌套数组（文本）", "deeply nested array as text", "[" * 5_000 + "]" * 5_000),
        Crafted("深层嵌套对象（文本）", "deeply nested object as text", '{"a":' * 3_000 + "1" + "}" * 3_000),
        Crafted("深层嵌套数组", "deeply nested array", nested(5_000), deep=True),
        Crafted("深层嵌套对象", "deeply nested object", nested(3_000, obj=True), deep=True),
        Crafted("通配符模式", "wildcard pattern", "%a" * 200 + "%!"),
        Crafted("病态正则模式", "pathological regular expression", "(.*){1,32000}[bc]"),
        Crafted("查询运算符：病态正则", "query operator: pathological regex", {"$regex": "(.*){1,32000}[bc]"}),
        Crafted("查询运算符：嵌套量词", "query operator: nested quantifiers", {"$regex": "^(a+)+$"}),
    ]


@dataclass
class Episode:
    """What one crafted request and its control did."""

    input: str  # "operation.input"
    crafted: str  # what was sent (its name and length)
    family: str  # the kind of crafted value (a growing string's family, or the one-shot's name)
    crafted_s: float  # how long the crafted request took (or was waited for)
    answered: bool  # the crafted request got an answer
    control_sent: bool = False  # a control was sent while it was in flight
    control_s: float | None = None  # the control's time, None when it did not answer in time
    recovered_s: float | None = None  # after a stall: seconds until the control answered again
    crafted_en: str = ""  # what was sent, in English (the English observation and error say it)

    @property
    def in_flight(self) -> bool:
        return self.control_sent

    @property
    def stalled(self) -> bool:
        """The control, sent while the crafted request was in flight, did not answer in time."""
        return self.control_sent and self.control_s is None

    def row(self) -> dict[str, Any]:
        return {
            "输入": self.input,
            "构造输入": self.crafted,
            "类别": self.family,
            "构造请求用时（秒）": round(self.crafted_s, 2),
            "构造请求得到应答": self.answered,
            "对照请求": (
                "未发送（构造请求已及时应答）"
                if not self.control_sent
                else ("未在时限内应答" if self.control_s is None else f"{self.control_s:.2f} 秒应答")
            ),
            "恢复用时（秒）": None if self.recovered_s is None else round(self.recovered_s, 1),
        }


def judge(episodes: list[Episode]) -> tuple[list[Episode], list[Episode]]:
    """(failures, observations): an input whose crafted value of one kind stalled the control and did
    so again when repeated (the same value, or a longer string of the same family) is a failure; a
    crafted request that was in flight past the quick time or got no answer while the control kept
    answering is an observation."""
    by_key: dict[tuple[str, str], list[Episode]] = {}
    for e in episodes:
        by_key.setdefault((e.input, e.family), []).append(e)
    failures = [eps[-1] for eps in by_key.values() if sum(e.stalled for e in eps) >= 2]
    slow = [e for e in episodes if (e.in_flight or not e.answered) and not e.stalled]
    return failures, slow
