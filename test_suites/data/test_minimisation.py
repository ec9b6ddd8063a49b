"""JR/T 0199-2020 chapter 10 数据安全 (with JR/T 0171 最少够用): answers carry only what the use case
needs, whatever the method. Every answer the check's own requests get is examined: each ordinary
account's login, every declared authenticated safe read, a minimal transfer, the declared object
kinds' create, read, update and delete on a fresh object (or the update of the account's own), every
other declared submission once, and the opening of a fresh account where the product documents one
(every step of a provisioning or a multi-step operation included). Unsafe and password operations
are never sent.

An answer must not carry something that reveals a person, a credential or another account: a
password (typed by the suite), a password hash, a reset or one-time code, a PIN, another account's
session credential, a full card or resident ID number the use case does not read, or another
account's card, ID or phone (full or masked). Value detectors decide first, field names second
(never at paths the spec declares as read). A plain flag (locked, admin, deleted) is not
over-exposure: it reveals no one.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from harness.checks.data import excess_in_answer
from harness.checks.readback import call_fields, object_fields, session_values
from harness.checks.transaction import TRANSFER, decimals_of, transfer, unit
from harness.drivers import DriverError, DriverSession
from harness.spec.model import Account
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable


class Recorder:
    """Every answer the driver gets while the check runs, with whose request and which operation it
    answered (the driver's own evidence hook still sees each one)."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.who: Account | None = None
        self.op = ""
        self.seen: list[tuple[requests.Response, str, Account | None, str]] = []
        self._hook = driver.on_response

    def __enter__(self) -> Recorder:
        def hook(resp: requests.Response, note: str) -> None:
            self.seen.append((resp, note, self.who, self.op))
            if self._hook is not None:
                self._hook(resp, note)

        self.driver.on_response = hook
        return self

    def __exit__(self, *exc: object) -> None:
        self.driver.on_response = self._hook

    def at(self, who: Account | None, op: str) -> Recorder:
        self.who, self.op = who, op
        return self


def _exercise(
    driver: Any, params: Any, rec: Recorder, accts: list[Account], done: list[tuple[str, str]], skipped: list[str]
) -> tuple[dict[str, DriverSession], Account | None]:
    ops = driver.operations()
    reads = [n for n, op in ops.items() if op.kind == "read" and op.auth and not op.unsafe]
    sessions: dict[str, DriverSession] = {}
    if driver.can_login() or reads:
        for acct in accts:
            rec.at(acct, "login")
            sessions[acct.name] = driver.session(acct)
            for name in reads:
                rec.at(acct, name)
                try:
                    driver.call(name, sessions[acct.name])
                except DriverError as e:
                    skipped.append(f"{acct.name}/{name}（{e}）")
        done.append(
            (f"{len(accts)} 个账户的登录与 {len(reads)} 个查询操作", f"{len(accts)} logins and {len(reads)} reads each")
        )
    first = accts[0]
    s = sessions.get(first.name) or driver.session(first)
    if driver.has(TRANSFER) and len(accts) > 1 and not ops[TRANSFER].unsafe:
        rec.at(first, TRANSFER)
        try:
            transfer(driver, s, accts[1], unit(decimals_of(params)), "最小金额转账（检查应答）")
            done.append(("一笔最小金额转账", "a minimal transfer"))
        except DriverError as e:
            skipped.append(f"{TRANSFER}（{e}）")
    for kind, obj in driver.objects().items():
        try:
            if obj.create and ops.get(obj.create) is not None and not ops[obj.create].unsafe:
                _lifecycle(driver, rec, first, s, obj)
                done.append((f"对象 {kind} 的创建、读取、修改与删除", f"create, read, update and delete of a {kind}"))
            elif obj.update and not ops[obj.update].unsafe and session_values(s).get(obj.id) not in (None, ""):
                # No way to make one: the account's own (its profile) is updated with the declared fields.
                rec.at(first, obj.update)
                driver.call(obj.update, s, **{**object_fields(obj, s)[0], obj.id: session_values(s)[obj.id]})
                done.append((f"对象 {kind} 的修改", f"an update of the account's {kind}"))
        except DriverError as e:
            skipped.append(f"对象 {kind}（{e}）")
    owned = {n for obj in driver.objects().values() for n in obj.operations()}
    for name, info in ops.items():
        # Other submissions the spec declares (an order, an application): sent once with their
        # declared object fields or fresh markers. Deletes are never sent outside a fresh object.
        if info.kind not in ("create", "update", "action") or name == TRANSFER or name in owned:
            continue
        if info.unsafe or info.role or not info.auth:
            continue
        rec.at(first, name)
        try:
            fields, _ = call_fields(driver, name, s)
            driver.call(name, s, **fields)
            done.append((f"提交 {name}", f"a {name} submission"))
        except DriverError as e:
            skipped.append(f"{name}（{e}）")
    rec.at(None, "provision")
    fresh = driver.fresh_account("minimisation")
    if fresh is not None:
        rec.seen = [(r, n, fresh if who is None and op == "provision" else who, op) for r, n, who, op in rec.seen]
        done.append((f"经样品接口开立账户 {fresh.name}", "opening an account"))
    return sessions, fresh


def _lifecycle(driver: Any, rec: Recorder, acct: Account, s: DriverSession, obj: Any) -> None:
    fields, _ = object_fields(obj, s)
    rec.at(acct, obj.create)
    made = driver.call(obj.create, s, **fields)
    if not driver.succeeded(obj.create, made):
        raise DriverError(f"{obj.create} was refused ({made.status_code})")
    oid = driver.returned(made, obj.create, obj.id)
    key = {obj.id: oid}
    for op in (obj.read, obj.update):
        if op:
            rec.at(acct, op)
            driver.call(op, s, **({**object_fields(obj, s)[0], **key} if op == obj.update else key))
    if obj.delete:
        rec.at(acct, obj.delete)
        driver.call(obj.delete, s, **key)


@pytest.mark.clause("10.minimisation")
def test_answers_carry_only_what_the_use_case_needs(spec, driver, params, evidence):
    accts = usable_accounts(driver)
    if not accts:
        not_applicable(
            "样品未声明普通测试账户，无法检查应答数据最小化",
            en="the sample declares no ordinary test account, so the minimisation of answered data cannot be checked",
        )
    done: list[tuple[str, str]] = []
    skipped: list[str] = []
    with Recorder(driver) as rec:
        sessions, fresh = _exercise(driver, params, rec, accts, done, skipped)
    everyone = [*driver.accounts(), *([fresh] if fresh else [])]
    credentials = {
        name: {f"账户 {name} 的会话凭证": s.token, f"账户 {name} 的签名密钥": s.sign_key or ""}
        for name, s in sessions.items()
    }
    all_declared = {p for info in [*driver.operations().values()] for p in info.returns}
    if driver.can_login():
        all_declared |= set(driver.info("login").returns)
    examined: list[str] = []
    findings: list[dict[str, str]] = []
    for resp, note, who, op in rec.seen:
        if who is None:
            continue
        try:
            declared = set(driver.info(op).returns) if op not in ("provision",) else all_declared
        except DriverError:
            declared = all_declared
        try:
            body: Any = resp.json()
        except ValueError:
            body = resp.text
        foreign = {k: v for name, creds in credentials.items() if name != who.name for k, v in creds.items()}
        examined.append(f"{who.name}/{note}（{resp.status_code}）")
        for x in excess_in_answer(body, who, everyone, declared, foreign):
            findings.append({"账户": who.name, "应答": note, **x.as_dict()})
    if not examined:
        raise DriverError("no answer could be examined: " + "; ".join(skipped))
    evidence.attach_json("应答最小化检查结果", {"已检查": examined, "未执行": skipped, "发现": findings})
    evidence.observe(
        f"执行{'、'.join(z for z, _ in done)}，检查其全部 {len(examined)} 个应答"
        + (
            "，未发现口令、口令哈希、验证码、PIN、他人凭证、完整卡号或证件号及他人信息"
            if not findings
            else f"，发现 {len(findings)} 处超出用例所需的数据"
        )
        + (f"；未能执行：{'、'.join(skipped)}" if skipped else ""),
        en=f"all {len(examined)} answers to {', '.join(e for _, e in done)} examined: "
        + (
            "no password, hash, code, PIN, other account's credential, full card or ID number or other account's data"
            if not findings
            else f"{len(findings)} items beyond what the use case needs"
        ),
    )
    assert not findings, "; ".join(sorted({f"{f['应答']}.{f['字段']}: {f['说明']}" for f in findings})[:10])
