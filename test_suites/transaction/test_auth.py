"""JR/T 0199-2020 chapter 5 交易安全: login lockout and login-error uniformity (user enumeration).

5.auth.password-policy is semi-automated and has no check here: without a password-change or
registration operation in the spec, nothing the sample declared can be exercised automatically; the
engineer records it from the documentation review.
"""

import uuid

import pytest

from harness.checks.transaction import (
    brief,
    fingerprint,
)
from harness.drivers import DriverError
from harness.spec.model import Account
from harness.suite_support import accepted, accounts, reserved_account


def _login(driver, account, password=None):
    resp = driver.login(account, password)
    return resp, accepted(driver, "login", resp.status_code)


@pytest.mark.clause("5.auth.lockout")
def test_login_locks_at_declared_threshold(driver, spec, params, evidence):
    """(threshold-1) failures leave the account usable; threshold failures lock it."""
    acct = reserved_account(spec, "lockout")
    n = params.lockout_threshold
    wrong = acct.password + "-wrong-" + uuid.uuid4().hex[:6]

    def fail_times(count, phase):
        for i in range(count):
            resp = driver.login(acct, wrong)
            if accepted(driver, "login", resp.status_code):
                raise DriverError(f"a wrong password was accepted for {acct.name} ({phase} #{i + 1})")

    _, ok = _login(driver, acct)
    if not ok:
        raise DriverError(f"the lockout account {acct.name} cannot log in before the check (already locked?)")
    fail_times(n - 1, "阈值前")
    resp_before, ok_before = _login(driver, acct)
    if not ok_before:
        evidence.observe(
            f"声明阈值 {n} 次；连续 {n - 1} 次错误口令后正确口令即被拒绝（{brief(resp_before)}），锁定早于声明阈值"
        )
        return
    fail_times(n, "达到阈值")
    resp_after, ok_after = _login(driver, acct)
    outcome = f"成功（{resp_after.status_code}）" if ok_after else f"被拒绝（{brief(resp_after)}）"
    evidence.observe(
        f"声明阈值 {n} 次；{n - 1} 次错误口令后正确口令可登录（{resp_before.status_code}）；"
        f"再连续 {n} 次错误口令后正确口令登录{outcome}"
    )
    assert not ok_after, (
        f"after {n} consecutive wrong passwords (the declared threshold) the correct password still logs in "
        f"({resp_after.status_code})"
    )


@pytest.mark.clause("5.auth.enumeration")
def test_login_errors_do_not_reveal_unknown_users(driver, spec, evidence):
    """Unknown user and wrong password must answer alike (status and body, request details blanked)."""
    (acct,) = accounts(spec, 1)
    known = {a.username for a in spec.driver.accounts}
    names = []
    while len(names) < 2:
        name = f"{acct.username[:3]}{uuid.uuid4().hex[:8]}"
        if name not in known:
            names.append(name)
    wrong = acct.password + "-wrong-" + uuid.uuid4().hex[:6]
    hide = [*names, acct.username, wrong]
    unknown = []
    for name in names:
        ghost = Account(name="unknown-user", username=name, password=wrong, account_id="-")
        resp, ok = _login(driver, ghost)
        if ok:
            raise DriverError(f"an unknown user name {name!r} logged in: cannot compare login errors")
        unknown.append(resp)
    bad_pw, ok = _login(driver, acct, wrong)
    if ok:
        raise DriverError(f"a wrong password was accepted for {acct.name}")
    driver.session(acct)  # the right password: a declared account works (and its failure count resets)
    fp_unknown, fp_unknown2, fp_bad = (fingerprint(r, hide) for r in (*unknown, bad_pw))
    stable = fp_unknown == fp_unknown2
    evidence.attach_json(
        "登录失败应答对比",
        {
            "不存在的用户": [brief(r, 400) for r in unknown],
            "存在用户的错误口令": brief(bad_pw, 400),
            "对比（去除用户名、数字与请求标识后）": {
                "不存在的用户": list(fp_unknown),
                "错误口令": list(fp_bad),
                "两次不存在用户应答一致": stable,
            },
        },
    )
    evidence.observe(
        f"不存在的用户登录应答 {brief(unknown[0])}；存在用户错误口令应答 {brief(bad_pw)}"
        + ("" if stable else "（两次不存在用户的应答内容本身不一致，仅比较状态码）")
    )
    assert bad_pw.status_code == unknown[0].status_code, (
        f"login answers differ: unknown user {unknown[0].status_code}, wrong password {bad_pw.status_code}"
    )
    if stable:
        assert fp_bad == fp_unknown, (
            f"login error bodies differ: unknown user {unknown[0].text[:120]!r}, wrong password {bad_pw.text[:120]!r}"
        )
