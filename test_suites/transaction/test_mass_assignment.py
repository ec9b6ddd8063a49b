"""JR/T 0199-2020 chapter 5 交易安全: mass assignment (5.txn.mass-assignment).

Every declared create and update operation with a body is sent twice: as declared (the control: it
must succeed) and with added fields the request does not declare but the product's own answers show
(and a few common privileged names), each with a value that would matter: another account's
identifier, an amount no account holds, a flag flipped, the role "admin". The verdict is what the
product's reads show afterwards: a value adopted is a failure, whatever the status code said. A
request refused for its extra fields is retried with one extra field at a time, so one rejected value
does not hide another that would be adopted. Whatever was adopted is set back afterwards.

A fresh account made through the product's API is used where the product documents how; otherwise
the first ordinary account, restored as far as the product lets it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from harness.checks.mass_assignment import Candidate, adopted, candidates, identifier_names, made_up, only_stored
from harness.checks.readback import (
    account_reads,
    call_fields,
    marker,
    object_fields,
    object_of,
    reads_for,
    session_values,
)
from harness.checks.transaction import TRANSFER, brief, decimals_of, send_transfer, transfer_call, unit
from harness.drivers import Call, DriverError, DriverSession
from harness.spec.model import Account
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

MAX_CANDIDATES = 12


def _answers(driver: Any, s: DriverSession, reads: list[Any], note: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in reads:
        resp = driver.send(driver.prepare(r.operation, s, **r.fields), s, note=f"{note}：{r.label()}")
        if driver.succeeded(r.operation, resp):
            try:
                out[r.operation] = resp.json()
            except ValueError:
                continue
    return out


def _with_extra(call: Call, extra: dict[str, Any]) -> Call | None:
    new = call.copy()
    if new.form is not None:
        new.form.update({k: ("true" if v is True else "false" if v is False else str(v)) for k, v in extra.items()})
    elif isinstance(new.json, dict):
        new.json.update(extra)
    else:
        return None
    return new


class Target:
    """One create or update operation of the account under test, ready to send."""

    def __init__(self, driver: Any, name: str, s: DriverSession, payee: Account, params: Any) -> None:
        self.driver, self.name, self.s, self.payee, self.params = driver, name, s, payee, params
        self.owner = object_of(driver, name)
        self.made: list[Any] = []
        self.key: dict[str, Any] = {}

    def aim(self) -> None:
        """An update aims at a fresh object of its kind when the kind can be created, else at the
        account's own (the session's value of the kind's ID)."""
        if self.owner is None or self.driver.info(self.name).kind == "create":
            return
        obj = self.owner[1]
        if obj.create:
            fields, _ = object_fields(obj, self.s)
            resp = self.driver.call(obj.create, self.s, **fields)
            if not self.driver.succeeded(obj.create, resp):
                raise DriverError(f"{obj.create}: creating an object to update was refused ({resp.status_code})")
            oid = self.driver.returned(resp, obj.create, obj.id)
            self.made.append(oid)
        else:
            oid = session_values(self.s).get(obj.id)
        if oid not in (None, ""):
            self.key = {obj.id: oid}

    def prepare(self) -> Call:
        d = self.driver
        if self.name == TRANSFER:  # the smallest amount, booked in the suite's ledger
            return transfer_call(d, self.s, self.payee, unit(decimals_of(self.params)))
        fields, _ = call_fields(d, self.name, self.s)
        return d.prepare(self.name, self.s, **{**fields, **self.key})

    def send(self, call: Call, note: str) -> Any:
        d = self.driver
        if d.info(self.name).signed:
            call = d.resign(call, self.s)
        if self.name == TRANSFER:
            return send_transfer(d, call, self.s, note, self.s.account, call.body_values().get("amount"))
        resp = d.send(call, self.s, note=note)
        if self.owner is not None and self.owner[1].create == self.name and d.succeeded(self.name, resp):
            with contextlib.suppress(DriverError):
                self.made.append(d.returned(resp, self.name, self.owner[1].id))
        return resp

    def tidy(self) -> None:
        if self.owner is None or not self.owner[1].delete:
            return
        for oid in self.made:
            self.driver.call(self.owner[1].delete, self.s, **{self.owner[1].id: oid})


def _judge(
    driver: Any, t: Target, other: Account, rows: list[dict[str, Any]], notes: list[str]
) -> tuple[bool, list[tuple[Candidate, Any]]]:
    """(judged, what was adopted with the answer that adopted it)."""
    name, s = t.name, t.s
    info = driver.info(name)
    t.aim()
    reads = reads_for(driver, name, s, t.key.get(t.owner[1].id) if t.owner and t.key else None)
    if t.owner is not None:  # the account's own answers too (its balance, its identifiers)
        reads += [r for r in account_reads(driver, s) if r.operation not in {x.operation for x in reads}]
    if not reads:
        notes.append(f"{name}：无可用于回读的查询操作，未判定")
        return False, []
    before = _answers(driver, s, reads, "回读（基线）")
    ids = identifier_names({*driver.object_ids(), "username", "account_id"})
    found = candidates(before, {*info.inputs, *info.body_fields}, s.account.known(), other.known(), ids)
    found = found[:MAX_CANDIDATES]
    control_call = t.prepare()
    if _with_extra(control_call, {}) is None:
        notes.append(f"{name}：请求无 JSON 或表单请求体，无法附加字段")
        return False, []
    control = t.send(control_call, f"对照：按声明发送 {name}")
    if not driver.succeeded(name, control):
        notes.append(f"{name}：按声明发送未成功（{brief(control)}），无法判定")
        return False, []
    baseline = _answers(driver, s, reads, "回读（对照请求后）")
    extra = {c.field: c.value for c in found}
    made = made_up(marker())
    call = _with_extra(t.prepare(), {**extra, made.field: made.value})
    assert call is not None  # the control had a body
    resp = t.send(call, f"{name}：附加 {len(extra)} 个未声明字段及 1 个虚构字段（对照）")
    after = _answers(driver, s, reads, "回读（附加字段后）")
    took = [(c, resp) for c in found if adopted(c, baseline, after)]
    stored = only_stored([c for c, _ in took], made, baseline, after)
    if stored:
        took = [(c, r) for c, r in took if c not in stored]
        notes.append(
            f"{name}：虚构字段 {made.field} 同样被保存，该操作保存客户端发送的任意字段；"
            f"{'、'.join(c.field for c in stored)} 仅作为任意字段被保存，应答此前未显示这些字段，不判为特权字段被采纳"
        )
    tried = [{"字段": ", ".join([*(c.shown() for c in found), made.shown()]), "应答": brief(resp)}]
    if not driver.succeeded(name, resp) and len(found) > 1:
        # Refused as a whole: one value may have been refused where another would be adopted.
        for c in found:
            single = _with_extra(t.prepare(), {c.field: c.value})
            assert single is not None
            before_one = _answers(driver, s, reads, f"回读（{c.field} 前）")
            one = t.send(single, f"{name}：附加 {c.field}")
            after_one = _answers(driver, s, reads, f"回读（{c.field} 后）")
            tried.append({"字段": c.shown(), "应答": brief(one)})
            if adopted(c, before_one, after_one):
                took.append((c, one))
    rows.append(
        {
            "操作": name,
            "回读": [r.label() for r in reads],
            "附加的字段": [{"字段": c.field, "值": repr(c.value), "来源": c.why} for c in found],
            "发送": tried,
            "被采纳": [c.shown() for c, _ in took],
        }
    )
    for c, _ in took:
        _restore(driver, t, c, reads, notes)
    return True, took


def _restore(driver: Any, t: Target, c: Candidate, reads: list[Any], notes: list[str]) -> None:
    """Set an adopted field back to what it was, through the same operation."""
    if c.read is None or c.before is None:
        notes.append(f"{t.name}.{c.field} 已被采纳，原值未知，无法恢复")
        return
    call = _with_extra(t.prepare(), {c.field: c.before})
    if call is None:
        return
    t.send(call, f"恢复 {c.field} 的原值")
    now = _answers(driver, t.s, reads, f"回读（恢复 {c.field} 后）")
    back = Candidate(c.field, c.before, c.read, c.path, c.value, c.why)
    notes.append(f"{t.name}.{c.field} 已恢复为原值" if adopted(back, {}, now) else f"{t.name}.{c.field} 未能恢复原值")


@pytest.mark.clause("5.txn.mass-assignment")
def test_undeclared_privileged_fields_are_not_adopted(driver, params, evidence):
    ordinary = usable_accounts(driver)
    if not ordinary:
        not_applicable("样品未声明普通测试账户", en="the sample declares no ordinary test account")
    fresh = driver.fresh_account("mass-assignment")
    subject = fresh or ordinary[0]
    others = [a for a in ordinary if a.name != subject.name]
    if not others:
        not_applicable(
            "需要另一个测试账户作为他人标识的来源，样品仅声明一个",
            en="another test account is needed as the source of someone else's identifiers; "
            "the sample declares only one",
        )
    other = others[0]
    how = (
        f"经样品接口新开立的测试账户 {fresh.name}"
        if fresh
        else f"普通测试账户 {subject.name}（如有值被采纳，随后恢复原值）"
    )
    targets = [
        name
        for name, info in driver.operations().items()
        if info.kind in ("create", "update") and info.auth and not info.unsafe and not info.role
    ]
    if not targets:
        not_applicable(
            "样品未声明需认证的创建或修改操作",
            en="the sample declares no create or update operation that needs authentication",
        )
    s = driver.session(subject)
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    breaches: list[tuple[str, str]] = []
    judged = 0
    for name in targets:
        t = Target(driver, name, s, other, params)
        try:
            done, took = _judge(driver, t, other, rows, notes)
        except DriverError as e:
            notes.append(f"{name}：无法执行（{e}）")
            continue
        finally:
            t.tidy()
        judged += int(done)
        breaches += [(f"{name}.{c.field}={c.value!r}（{c.why}）", f"{name}.{c.field}={c.value!r}") for c, _ in took]
    evidence.attach_json("未声明字段赋值尝试", {"测试账户": how, "他人": other.name, "尝试": rows, "说明": notes})
    if judged == 0:
        raise DriverError("no create or update operation could be judged: " + "; ".join(notes))
    sent = sum(len(r["附加的字段"]) for r in rows)
    evidence.observe(
        f"以{how}对 {judged} 个创建或修改操作附加共 {sent} 个请求未声明、应答中出现或常见的特权字段"
        f"（对照：按声明发送均成功），回读判定："
        + (f"{len(breaches)} 个值被采纳：{'；'.join(z for z, _ in breaches[:6])}" if breaches else "均未被采纳")
        + (f"；{len(notes)} 项说明见证据" if notes else ""),
        en=f"{judged} create or update operations of {subject.name} sent with {sent} undeclared fields taken from "
        f"the product's answers or common privileged names (control: each declared request succeeded); read back: "
        + (f"{len(breaches)} values adopted ({'; '.join(e for _, e in breaches[:6])})" if breaches else "none adopted")
        + (f"; {len(notes)} notes in the evidence" if notes else ""),
    )
    assert not breaches, "; ".join(e for _, e in breaches)
