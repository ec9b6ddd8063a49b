"""JR/T 0199-2020 chapter 10 数据安全 (with JR/T 0171 最少够用): answers carry only what the use case
needs. Every declared read (GET) operation, and the login answer, is called for each ordinary account;
an answer must not carry credential material (password hashes, salts, the password itself), other
users' records (another declared account's card, ID or phone, full or masked), or internal flags and
keys (failed-login counters, lock state, admin flags, database keys). Value detectors decide wherever
they can; field-name heuristics add the rest, except fields the spec declares as read (``returns``)."""

from __future__ import annotations

import pytest

from harness.checks.data import excess_in_answer
from harness.drivers import DriverError
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable


@pytest.mark.clause("10.minimisation")
def test_answers_carry_only_what_the_use_case_needs(spec, driver, evidence):
    ops = driver.operations()
    reads = {name: op for name, op in ops.items() if op.kind == "read" and op.auth and not op.unsafe}
    accts = usable_accounts(driver)
    if not reads or not accts:
        not_applicable("样品驱动未声明查询类（GET）操作或普通测试账户，无法检查应答数据最小化")
    login_declared = list(driver.info("login").returns) if driver.can_login() else []
    examined: list[str] = []
    skipped: list[str] = []
    findings: list[dict[str, str]] = []
    for acct in accts:
        s = driver.session(acct)
        answers = [("login", s.login_answer, login_declared)]
        for name, op in reads.items():
            try:
                resp = driver.call(name, s)
            except DriverError as e:
                skipped.append(f"{name}（{e}）")
                continue
            if not driver.succeeded(name, resp):
                skipped.append(f"{name}（{acct.name}：应答 {resp.status_code}）")
                continue
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
            answers.append((name, body, list(op.returns)))
        for name, body, declared in answers:
            examined.append(f"{acct.name}/{name}")
            for x in excess_in_answer(body, acct, driver.accounts(), declared):
                findings.append({"账户": acct.name, "操作": name, **x.as_dict()})
    if not examined:
        raise DriverError("no answer could be examined: " + "; ".join(skipped))
    evidence.attach_json("应答最小化检查结果", {"已检查": examined, "未检查": skipped, "发现": findings})
    evidence.observe(
        f"检查 {len(examined)} 个应答（{len(reads)} 个查询操作及登录应答，{len(accts)} 个账户）"
        + ("，未发现口令材料、他人信息或内部标志" if not findings else f"，发现 {len(findings)} 处超出用例所需的数据")
        + (f"；未能检查：{'、'.join(skipped)}" if skipped else "")
    )
    assert not findings, "; ".join(sorted({f"{f['操作']}.{f['字段']}: {f['说明']}" for f in findings})[:10])
