"""Placeholders a scenario may use in any quoted step argument: ``<名称>``.

Resolved, in order, from:

* values kept by an earlier step of the same scenario (``记下应答字段“…”为“名称”``);
* the parameters the sample declared, by alias (``<单笔限额>``) or by path
  (``<limits.per_transaction>``, ``<parameters.lockout_threshold>``);
* a declared test account's fields: ``<alice.用户名>``, ``<alice.密码>``, ``<alice.账号>``, ... (or the
  spec's own names: ``<alice.username>``, ``<alice.account_id>``).

A numeric value may be shifted: ``<单笔限额+0.01>``, ``<alice.余额-1>``. Example-table columns of a
scenario outline are filled in by pytest-bdd before any of this (``<账户>``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.spec.model import SampleSpec

PLACEHOLDER = re.compile(r"<([^<>]+)>")
_SHIFT = re.compile(r"^(?P<name>.+?)\s*(?P<op>[+-])\s*(?P<num>\d+(?:\.\d+)?)$")

PARAM_ALIASES: dict[str, str] = {
    "单笔限额": "limits.per_transaction",
    "日累计限额": "limits.daily",
    "币种": "limits.currency",
    "金额小数位数": "limits.decimals",
    "会话空闲超时": "session_idle_timeout_s",
    "锁定阈值": "lockout_threshold",
    "口令最小长度": "password_min_length",
    "响应时间P95": "latency_p95_ms",
}
DERIVED = {"最小金额"}  # one unit of the declared precision (0.01 for two decimals)

ACCOUNT_ALIASES: dict[str, str] = {
    "名称": "name",
    "用户名": "username",
    "密码": "password",
    "账号": "account_id",
    "卡号": "card_number",
    "证件号": "id_number",
    "手机号": "phone",
    "余额": "balance",
}


class UnresolvedPlaceholder(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def _param(spec: SampleSpec, path: str) -> Any:
    cur: Any = spec.parameters
    for part in path.removeprefix("parameters.").split("."):
        if not hasattr(cur, part):
            raise UnresolvedPlaceholder(path)
        cur = getattr(cur, part)
    return cur


def _text(v: Any) -> str:
    return str(v)


def resolve_name(name: str, spec: SampleSpec, kept: Mapping[str, Any]) -> Any:
    """The value one placeholder name stands for; UnresolvedPlaceholder if nothing declares it."""
    name = name.strip()
    if name in kept:
        return kept[name]
    if name in PARAM_ALIASES:
        return _param(spec, PARAM_ALIASES[name])
    if name in DERIVED:
        lim = spec.parameters.limits
        return Decimal(1).scaleb(-(lim.decimals if lim is not None else 2))
    if "." in name:
        head, _, field = name.partition(".")
        for acct in spec.driver.accounts:
            if acct.name == head:
                attr = ACCOUNT_ALIASES.get(field, field)
                if attr in type(acct).model_fields and getattr(acct, attr) is not None:
                    return getattr(acct, attr)
                raise UnresolvedPlaceholder(f"测试账户 {head!r} 没有声明字段 {field!r}")
        try:
            return _param(spec, name)
        except UnresolvedPlaceholder:
            pass
    m = _SHIFT.match(name)
    if m:
        base = resolve_name(m["name"], spec, kept)
        try:
            value = Decimal(str(base))
        except InvalidOperation:
            raise UnresolvedPlaceholder(f"<{name}>: {base!r} 不是数值，不能加减") from None
        delta = Decimal(m["num"])
        return value + delta if m["op"] == "+" else value - delta
    known = "、".join([*PARAM_ALIASES, *DERIVED])
    raise UnresolvedPlaceholder(f"<{name}> 不是已记下的值、样品声明的参数（{known}）或测试账户字段（如 <账户名.密码>）")


def resolve(text: str, spec: SampleSpec, kept: Mapping[str, Any]) -> str:
    """Replace every placeholder in a step argument by its value."""
    return PLACEHOLDER.sub(lambda m: _text(resolve_name(m.group(1), spec, kept)), text)


def static_problems(text: str, spec: SampleSpec, kept_names: set[str]) -> list[str]:
    """Placeholders that cannot be resolved before the run (kept values count by name)."""
    problems = []
    fake = dict.fromkeys(kept_names, "0")
    for m in PLACEHOLDER.finditer(text):
        try:
            resolve_name(m.group(1), spec, fake)
        except UnresolvedPlaceholder as e:
            problems.append(str(e))
    return problems


def display(text: str, spec: SampleSpec, kept: Mapping[str, Any]) -> str:
    """A step argument as a reader should see it (titles, transcripts, the report): placeholders
    resolved where they can be, every declared password hidden and C2 data masked, so that neither
    a placeholder (<alice.用户名>) nor a secret reaches a title or a file name."""
    from harness.checks.pii import FIELD_KIND, redact

    def one(m: re.Match[str]) -> str:
        try:
            return _text(resolve_name(m.group(1), spec, kept))
        except UnresolvedPlaceholder:
            return m.group(0)

    shown = PLACEHOLDER.sub(one, text)
    accounts = spec.driver.accounts
    known = [(str(getattr(a, f)), kind) for a in accounts for f, kind in FIELD_KIND.items() if getattr(a, f, None)]
    return redact(shown, [a.password for a in accounts if a.password], known)
