"""JR/T 0199-2020 chapter 11 网络安全: SQL and command injection into every input the driver
declares, judged by behaviour: a login that succeeds without the password, rows of other accounts
that come back, answers delayed by a sleep payload (confirmed by a second try). Error strings alone
decide nothing here (11.errors looks at those). The payload list is short and the sleep 3 s, so a
compliant sample costs well under a second and a vulnerable one a few seconds per input."""

import time
import uuid
from decimal import Decimal

import pytest

from harness.checks import network as judge
from harness.drivers import DriverError
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

_SESSION_FIELDS = ("account_id", "from_account", "username")


def _logged_in(driver, resp):
    return driver.succeeded("login", resp)


def _login_findings(driver, spec, evidence):
    user = usable_accounts(driver)[0]
    wrong = f"Wrong-{uuid.uuid4().hex[:10]}"
    tried, found = 0, []
    for tpl in judge.LOGIN_SQL_PAYLOADS:
        payload = tpl.replace("{u}", user.username)
        resp = driver.send(
            driver.prepare("login", None, username=payload, password=wrong), note=f"登录注入：用户名 {payload}"
        )
        tried += 1
        if _logged_in(driver, resp):
            found.append(f"用户名 {payload!r} 配合错误口令登录成功")
    nobody = f"harness-nobody-{uuid.uuid4().hex[:8]}"
    for payload in judge.SQL_PAYLOADS:
        resp = driver.send(
            driver.prepare("login", None, username=nobody, password=payload), note=f"登录注入：口令 {payload}"
        )
        tried += 1
        if _logged_in(driver, resp):
            found.append(f"不存在的用户以口令 {payload!r} 登录成功")
    evidence.observe(
        f"登录接口：以 {tried} 个注入载荷尝试，{'登录成功 ' + str(len(found)) + ' 次' if found else '均未登录成功'}"
    )
    return found


def _defaults(own, others):
    vals = {"to_account": (others[0] if others else own).account_id, "amount": Decimal("0.01")}
    return vals


def _others_markers(others):
    marks = {}
    for a in others:
        marks[a.account_id] = a.name
        if a.username:
            marks[a.username] = a.name
        if a.card_number:
            marks[a.card_number[-4:] + '"'] = a.name  # the card's tail at the end of a JSON string
    return marks


def _timed(driver, name, session, fields, note):
    call = driver.prepare(name, session, **fields)
    t = time.monotonic()
    resp = driver.send(call, session, note=note)
    return resp, time.monotonic() - t


def _operation_findings(driver, spec, evidence):
    accts = usable_accounts(driver)
    own, others = accts[0], [a for a in driver.accounts() if a.name != accts[0].name]
    session = driver.session(own)
    markers = _others_markers(others)
    found, tried = [], 0
    for name, op in driver.operations().items():
        if op.unsafe:
            continue
        fields = list(op.inputs)
        if not fields:
            continue
        base_fields = {f: v for f, v in _defaults(own, others).items() if f in fields}
        base_fields.update({f: "1" for f in fields if f not in base_fields and f not in _SESSION_FIELDS})
        baseline, base_t = _timed(driver, name, session, base_fields, f"{name}：基线")
        slow_limit = max(base_t, 0.05) + judge.SLEEP_S * 0.8
        for field in fields:
            timed_out = False
            for payload in judge.SQL_PAYLOADS + judge.TIME_PAYLOADS:
                if timed_out and payload in judge.TIME_PAYLOADS:
                    continue
                values = {**base_fields, field: payload}
                resp, took = _timed(driver, name, session, values, f"{name}：{field}={payload}")
                tried += 1
                if driver.succeeded(name, resp):
                    leaked = {who for m, who in markers.items() if m in resp.text and m not in baseline.text}
                    if leaked:
                        found.append(
                            f"{name}.{field}={payload!r} 被接受并返回他人（{'、'.join(sorted(leaked))}）的数据"
                        )
                if payload in judge.TIME_PAYLOADS and took >= slow_limit:
                    _again, took2 = _timed(driver, name, session, values, f"{name}：{field}={payload}（复测）")
                    if took2 >= slow_limit:
                        found.append(
                            f"{name}.{field}={payload!r} 使应答延迟 {took:.1f}/{took2:.1f} 秒（基线 {base_t:.2f} 秒）"
                        )
                        timed_out = True
    evidence.observe(
        f"业务接口：对 {len(driver.operations())} 个操作的各输入发送 {tried} 个注入载荷，"
        + (f"发现 {len(found)} 处注入迹象" if found else "未见越权数据返回或注入导致的延迟")
    )
    return found


@pytest.mark.clause("11.injection")
def test_inputs_resist_sql_and_command_injection(driver, spec, evidence):
    if not driver.can_login():
        not_applicable("样品驱动未声明登录操作")
    if not usable_accounts(driver):
        not_applicable("样品未声明可用的普通测试账户")
    found = _login_findings(driver, spec, evidence)
    try:
        found += _operation_findings(driver, spec, evidence)
    except DriverError:
        if not found:
            raise
        # A login bypass is already proven; the operations could not be driven (e.g. lockout).
    evidence.attach_json(
        "注入判定",
        {
            "findings": found,
            "payloads": {"login": judge.LOGIN_SQL_PAYLOADS, "sql": judge.SQL_PAYLOADS, "time": judge.TIME_PAYLOADS},
        },
    )
    assert not found, "; ".join(found)
