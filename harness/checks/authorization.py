"""Judging horizontal privilege by what was addressed and what came back, never by a status code.

A request for another account's thing is a breach when its answer carries that account's data (the
values only that account's own answer shows, or an answer the same as the one that account itself
gets), or when that account's thing changed or disappeared afterwards. An operation whose request
names no identifier of an account's things is session-scoped ("my profile"): it is never judged as
reading someone else's data. Pure functions: the check in test_suites/transaction feeds them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import requests

from harness.checks.answers import fingerprint

_BORING = {"true", "false", "null", "none", "ok", "success", "0", "1", "-1", "", "cny", "zh", "en"}


def leaves(obj: Any) -> list[str]:
    """Every scalar value of a JSON answer, as text."""
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in leaves(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in leaves(v)]
    if obj is None or isinstance(obj, bool):
        return []
    return [str(obj)]


def answer_data(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text


def text_of(resp: requests.Response) -> str:
    data = answer_data(resp)
    return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)


def markers(theirs: requests.Response, mine: Iterable[requests.Response], known: dict[str, str]) -> set[str]:
    """What shows an answer is the other account's: the values the other account's own answer
    carries that none of my own answers does, and the other account's declared values (its card,
    phone, account number...), at least four characters long."""
    mine_text = " ".join(text_of(r) for r in mine)
    data = answer_data(theirs)
    found = set(leaves(data)) if not isinstance(data, str) else set(re.findall(r"[\w@.+-]{4,}", data))
    found |= {v for k, v in known.items() if k not in ("password", "sign_secret", "balance") and v}
    return {m for m in found if len(m) >= 4 and m.lower() not in _BORING and m not in mine_text}


@dataclass(frozen=True)
class Reading:
    """What a cross-account read returned, judged."""

    breach: bool
    shown: list[str]  # the other account's values seen in the answer (for evidence, masked later)
    same_as_theirs: bool

    def why_zh(self) -> str:
        if self.same_as_theirs:
            return "应答与对方本人查询所得相同"
        return f"应答含对方数据 {len(self.shown)} 项" if self.shown else "应答不含对方数据"


def judge_read(
    cross: requests.Response, succeeded: bool, theirs: requests.Response, their_markers: set[str], hide: list[str]
) -> Reading:
    if not succeeded:
        return Reading(False, [], False)
    text = text_of(cross)
    # What the request itself named (the other account's ID) may be echoed back: that is no data.
    shown = sorted(m for m in their_markers if m in text and not any(m in h or h in m for h in hide if h))
    same = fingerprint(cross, hide) == fingerprint(theirs, hide) and bool(their_markers)
    return Reading(bool(shown) or same, shown, same)
