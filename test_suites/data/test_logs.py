"""JR/T 0199-2020 chapter 10 数据安全 (with JR/T 0171): the sample's logs hold no C3 information (the
passwords the suite typed, right or wrong) and no unmasked C2 information, after the suite went through
the ordinary use cases (failed and successful login, account view, history, a transfer, logout)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from harness.checks.data import known_values, scan_text, typed_passwords
from harness.checks.pii import masking_rules
from harness.checks.transaction import decimals_of, transfer_call
from harness.drivers import DriverError
from harness.policy import setting
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable


@pytest.mark.clause("10.logs")
def test_logs_hold_no_c3_and_no_unmasked_c2(spec, params, deployment, driver, evidence):
    accts = usable_accounts(driver)
    if not accts:
        not_applicable("样品未声明普通测试账户", en="the sample declares no ordinary test account")
    done: list[tuple[str, str]] = []  # what was done: (Chinese, English)
    not_sent = ""
    # A wrong password is typed C3 too; one failure stays far below any lockout threshold >= 3.
    wrong = (accts[0].password or "pw")[::-1] + "#9x"
    threshold = setting(params, "lockout_threshold").value
    if driver.can_login() and accts[0].password and (threshold is None or threshold >= 3):
        driver.login(accts[0], password=wrong)
        done.append(("错误口令登录", "a login with a wrong password"))
    sessions = [driver.session(a) for a in accts]
    done.append((f"{len(sessions)} 个账户登录", f"logins of {len(sessions)} accounts"))
    for name, label in (("account", ("账户查询", "account views")), ("history", ("交易记录查询", "history views"))):
        if driver.has(name):
            for s in sessions:
                driver.call(name, s)
            done.append(label)
    if driver.has("transfer") and len(sessions) >= 2:
        amount = Decimal(1).scaleb(-decimals_of(params))
        try:
            r = driver.send(transfer_call(driver, sessions[0], accts[1], str(amount)), sessions[0])
            done.append((f"转账 {amount}（应答 {r.status_code}）", f"a transfer of {amount} (answer {r.status_code})"))
        except DriverError as e:
            not_sent = str(e)  # kept in the evidence file; the observation says only that it was not sent
            done.append(("转账未执行", "no transfer (the driver could not send it)"))
    if driver.can_logout():
        for s in sessions:
            driver.logout(s)
        done.append(("退出登录", "logouts"))
    text = deployment.logs()
    if not text.strip():
        not_applicable(
            "样品运行期间未产生可采集的日志（标准输出及 deployment.log_files 均为空）",
            en="the sample produced no log that could be collected while it ran (its standard output and "
            "deployment.log_files are empty)",
        )
    passwords = typed_passwords(driver.accounts(), {"测试输入的错误口令": wrong})
    leaks = scan_text(text, "日志", passwords, known_values(driver.accounts()), masking_rules(params.masking))
    evidence.attach_json(
        "日志检查结果（已脱敏）",
        {
            "执行的操作": [zh for zh, _ in done],
            **({"转账未执行的原因": not_sent} if not_sent else {}),
            "日志字符数": len(text),
            "发现": [x.as_dict() for x in leaks],
        },
    )
    c3 = [x for x in leaks if x.cls == "C3"]
    c2 = [x for x in leaks if x.cls == "C2"]
    evidence.observe(
        f"执行{'、'.join(zh for zh, _ in done)}后检索日志（{len(text)} 字符）："
        + (
            "未发现 C3 信息及未屏蔽的 C2 信息"
            if not leaks
            else f"发现 C3 信息 {len(c3)} 处、未屏蔽 C2 信息 {len(c2)} 处"
        ),
        en=f"After {', '.join(en for _, en in done)}, the logs ({len(text)} characters) were searched: "
        + (
            "no C3 information and no unmasked C2 information"
            if not leaks
            else f"{len(c3)} occurrence(s) of C3 information, {len(c2)} of unmasked C2 information"
        ),
    )
    assert not leaks, "; ".join(sorted({x.what for x in leaks}))
