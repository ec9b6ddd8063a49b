"""Mass assignment (5.txn.mass-assignment): which fields to add to a create or update request, with
which values, and whether the product adopted them, judged by reading it back (never by status).

Candidates come from the product's own answers: every field the account's and the object's reads
show that the request does not send, when its value would matter if a client could set it (a number
such as a balance or a limit, a flag, an identifier that says whose the thing is, a role), plus a
short list of common privileged names the answers may not show. The values are chosen to be
unmistakable: another account's identifier, an amount no test account holds, a flag flipped, the
role "admin". Pure functions: test_suites/transaction/test_mass_assignment.py feeds them answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.checks.data import name_words, password_named, walk
from harness.checks.pii import id_number_valid, mobile_valid, plausible_card

HUGE = Decimal("88888888")
# Numbers a client would rather set low (what it pays) than high.
_COST_WORDS = frozenset({"fee", "fees", "price", "cost", "charge", "charges", "commission", "tax"})
_ROLE_WORDS = frozenset({"role", "roles", "group", "groups", "permission", "permissions", "scope", "scopes", "tier"})
_SECRET_WORDS = frozenset({"key", "secret", "token", "pin", "otp", "salt", "hash"})
# An answer's envelope and paging, not the thing's own data.
_ENVELOPE = frozenset({"code", "errcode", "error_code", "ret", "count", "total", "page", "size", "limit", "offset"})
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Common privileged names, tried even when no answer shows them (name -> value kind).
GENERIC = (("role", "admin"), ("is_admin", True), ("admin", True), ("balance", "huge"), ("owner", "other:username"))


@dataclass(frozen=True)
class Candidate:
    field: str  # the body field sent
    value: Any  # the value sent
    read: str | None  # the read whose answer shows the field (None: a common name no answer showed)
    path: str | None  # where that answer shows it
    before: Any  # what it showed before
    why: str  # Chinese: what kind of field it is

    def shown(self) -> str:
        return f"{self.field}={self.value!r}"


def identifier_names(names: Iterable[str]) -> set[str]:
    """Of the values that tell accounts apart, those that say whose something is (an account number,
    a user ID), not a credential (an API key) and not personal data (a card number)."""
    out = set()
    for n in names:
        words = set(name_words(n))
        if password_named(n) or words & _SECRET_WORDS or n in ("card_number", "id_number", "phone", "balance"):
            continue
        out.add(n)
    return out


def huge_like(value: Any) -> Any:
    """An amount no test account holds, written like ``value`` (an int, a float, decimal text)."""
    if isinstance(value, int):
        return int(HUGE)
    if isinstance(value, float):
        return float(HUGE)
    text = str(value)
    places = len(text.split(".", 1)[1]) if "." in text else 0
    return f"{HUGE:.{places}f}"


def zero_like(value: Any) -> Any:
    if isinstance(value, int):
        return 0
    if isinstance(value, float):
        return 0.0
    text = str(value)
    places = len(text.split(".", 1)[1]) if "." in text else 0
    return f"{Decimal(0):.{places}f}"


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and bool(_NUMBER.fullmatch(value.strip()))


def _personal(value: Any) -> bool:
    text = str(value).strip()
    return plausible_card(text) or id_number_valid(text) or mobile_valid(text)


def _date_like(key: str, value: Any) -> bool:
    words = set(name_words(key))
    if words & {"time", "date", "at", "ts", "timestamp", "created", "updated", "expires", "expiry", "version"}:
        return True
    text = str(value)
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", text)) or (text.isdigit() and len(text) in (10, 13))


def candidates(
    answers: Mapping[str, Any],
    sent: Iterable[str],
    own: Mapping[str, str],
    other: Mapping[str, str],
    identifiers: Iterable[str],
) -> list[Candidate]:
    """The fields to add to a request that sends ``sent``. ``answers``: read name -> the account's
    own parsed answer; ``own``/``other``: the two accounts' known values; ``identifiers``: the value
    names that say whose something is. Fields inside lists (history entries) are not candidates."""
    sent = set(sent)
    ids = set(identifiers)
    own_ids = {str(v): k for k, v in own.items() if k in ids and v}
    out: dict[str, Candidate] = {}
    for read, body in answers.items():
        for path, key, value in walk(body):
            if not key or key in sent or key in out or re.search(r"(^|\.)\d+(\.|$)", path):
                continue
            c = _candidate(read, path, key, value, own_ids, other)
            if c is not None:
                out[key] = c
    for name, kind in GENERIC:
        if name in sent or name in out:
            continue
        if kind == "huge":
            out[name] = Candidate(name, f"{HUGE:.2f}", None, None, None, "常见特权字段（余额）")
        elif isinstance(kind, str) and kind.startswith("other:"):
            ref = other.get(kind.split(":", 1)[1])
            if ref:
                out[name] = Candidate(name, ref, None, None, None, "常见归属字段（他人标识）")
        else:
            out[name] = Candidate(name, kind, None, None, None, "常见特权字段（角色或管理员标志）")
    return list(out.values())


def _candidate(
    read: str, path: str, key: str, value: Any, own_ids: Mapping[str, str], other: Mapping[str, str]
) -> Candidate | None:
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return Candidate(key, not value, read, path, value, "标志字段")
    name = own_ids.get(str(value))
    if name is not None:
        theirs = other.get(name)
        if theirs and str(theirs) != str(value):
            typed: Any = int(theirs) if isinstance(value, int) and str(theirs).isdigit() else theirs
            return Candidate(key, typed, read, path, value, f"归属标识（他人的 {name}）")
        return None
    words = set(name_words(key))
    if _personal(value):
        return None  # a card, ID or phone number is no amount to inflate (and stays out of the evidence)
    if _numeric(value) and not _date_like(key, value) and key.lower() not in _ENVELOPE:
        if words & _COST_WORDS:
            return Candidate(key, zero_like(value), read, path, value, "费用类数值字段")
        return Candidate(key, huge_like(value), read, path, value, "数值字段（余额、额度等）")
    if isinstance(value, str) and words & _ROLE_WORDS and value.lower() != "admin":
        return Candidate(key, "admin", read, path, value, "角色字段")
    return None


def same_value(a: Any, b: Any) -> bool:
    """Equal as the product would mean it: numbers by value (``"88888888.00"`` == 88888888)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if _numeric(a) and _numeric(b):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except InvalidOperation:
            return False
    return str(a) == str(b)


def made_up(value: str) -> Candidate:
    """The negative control for common names: a field no product knows, sent beside them. A product
    that keeps it too keeps whatever fields it is sent (a free-form settings document), so a common
    privileged name kept there shows nothing the product grants."""
    return Candidate(value, value, None, None, None, "对照：虚构字段")


def only_stored(
    took: Iterable[Candidate], control: Candidate, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[Candidate]:
    """Of the adopted candidates, the common names no answer showed before, when the made-up control
    field was kept as well: stored as sent, not adopted as a privilege."""
    if not adopted(control, before, after):
        return []
    return [c for c in took if c.read is None]


def adopted(c: Candidate, before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether the answers after the request show the value sent where they did not before."""
    if c.read is not None and c.path is not None:
        try:
            now = _dig(after.get(c.read), c.path)
        except KeyError:
            return False
        return same_value(now, c.value) and not same_value(c.before, c.value)
    return any(_holds(body, c.field, c.value) for body in after.values()) and not any(
        _holds(body, c.field, c.value) for body in before.values()
    )


def _holds(body: Any, field: str, value: Any) -> bool:
    return any(key == field and same_value(v, value) for _, key, v in walk(body))


def _dig(obj: Any, path: str) -> Any:
    cur = obj
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise KeyError(path)
    return cur
