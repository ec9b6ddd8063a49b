"""JR/T 0199-2020 chapter 5 交易安全: session revocation at logout, forged tokens, idle expiry.

A session is judged by reading the account through the declared ``account`` operation. Every check
first shows that the genuine session reads it, so a refusal later is the session's, not the API's.
The foreign-token case (user B's genuine token on user A's account) is horizontal privilege and is
decided by 5.txn.authorization (test_transfers.py).
"""

import time
from datetime import datetime

import pytest

from harness.checks.transaction import (
    brief,
    encode_jwt,
    flip_char,
    guessed_keys,
    parse_jwt,
    swap_identity,
)
from harness.drivers import DriverError, DriverSession
from harness.suite_support import accepted, accounts, require_operations
from harness.verdicts import not_applicable


def _read(driver, session, account, note):
    resp = driver.send(driver.prepare("account", session, account_id=account.account_id), session, note=note)
    return resp, accepted(driver, "account", resp.status_code)


@pytest.mark.clause("5.session.logout")
def test_logout_revokes_the_session(driver, spec, evidence):
    require_operations(driver, "account")
    try:
        driver.operation("logout")
    except DriverError:
        not_applicable("样品驱动未声明退出登录操作")
    (acct,) = accounts(spec, 1)
    s = driver.session(acct)
    before, ok = _read(driver, s, acct, "退出前使用会话")
    if not ok:
        raise DriverError(f"a fresh session cannot read its own account ({before.status_code})")
    out = driver.logout(s)
    if not accepted(driver, "logout", out.status_code):
        raise DriverError(f"logout was refused ({out.status_code} {out.text[:200]})")
    after, still = _read(driver, s, acct, "退出后以原凭证访问")
    evidence.observe(
        f"退出前访问账户 {before.status_code}；退出应答 {out.status_code}；退出后以原凭证访问 {brief(after)}"
    )
    assert not still, f"the session token still works after logout ({after.status_code})"


@pytest.mark.clause("5.session.token-forgery")
def test_forged_session_tokens_are_refused(driver, spec, evidence):
    """JWT: alg none, HS256 with guessed keys, another user's identity claims, altered signature.
    Opaque token: altered, truncated and extended tokens. Each must be refused."""
    require_operations(driver, "account")
    me, other = accounts(spec, 2)
    s = driver.session(me)
    base, ok = _read(driver, s, me, "真实凭证（对照）")
    if not ok:
        raise DriverError(f"the genuine session cannot read its own account ({base.status_code})")

    tries = []  # (description, token, account whose data it asks for)
    jwt = parse_jwt(s.token)
    if jwt is not None:
        theirs, changed = swap_identity(jwt.claims, me, other)
        victim = other if changed else me
        for alg in ("none", "None"):
            tries.append((f"alg={alg}，原声明", encode_jwt({**jwt.header, "alg": alg}, jwt.claims, None), me))
            if changed:
                tries.append((f"alg={alg}，声明改为他人", encode_jwt({**jwt.header, "alg": alg}, theirs, None), other))
        if changed:
            tries.append(("声明改为他人，保留原签名", encode_jwt(jwt.header, theirs, None, jwt.signature), other))
        for key in guessed_keys(spec):
            header = {**jwt.header, "alg": "HS256"}
            tries.append((f"以猜测密钥 {key!r} 重新签名（HS256）", encode_jwt(header, theirs, key), victim))
        sig = jwt.signature
        if sig:
            head, body, _ = s.token.split(".")
            tries.append(("篡改签名字节", f"{head}.{body}.{flip_char(sig, len(sig) // 2)}", me))
        kind = f"JWT（alg={jwt.header.get('alg')}，身份声明 {', '.join(changed) or '无'}）"
    else:
        t = s.token
        tries += [
            ("篡改凭证中间一个字符", flip_char(t, len(t) // 2), me),
            ("篡改凭证首字符", flip_char(t, 0), me),
            ("截短凭证", t[:-1], me),
            ("凭证后追加字符", t + t[-1], me),
        ]
        kind = "非 JWT 的不透明凭证"

    accepted_forgeries = []
    rows = []
    for what, token, target in tries:
        forged = DriverSession(account=target, token=token, sign_key=s.sign_key)
        resp, ok = _read(driver, forged, target, f"伪造凭证：{what}")
        rows.append({"伪造方式": what, "访问账户": target.name, "应答": brief(resp)})
        if ok:
            accepted_forgeries.append(f"{what} -> {target.name}: {resp.status_code}")
    evidence.attach_json("伪造凭证尝试", {"凭证类型": kind, "尝试": rows})
    evidence.observe(
        f"凭证类型：{kind}；真实凭证访问本账户 {base.status_code}；{len(tries)} 种伪造凭证中被接受 "
        f"{len(accepted_forgeries)} 种" + (f"：{'；'.join(accepted_forgeries)}" if accepted_forgeries else "")
    )
    assert not accepted_forgeries, f"forged session tokens were accepted: {accepted_forgeries}"


def _at(t):
    return datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


@pytest.mark.late(2)
@pytest.mark.clause("5.session.expiry")
def test_idle_session_expires_at_declared_timeout(driver, spec, params, evidence, idle_clock):
    """The idle session (opened when the suite started on this target) is used only after the
    declared idle time plus a margin: it must be refused. A twin session used once just before the
    declared time must still have worked, and a fresh session must work now."""
    require_operations(driver, "account")
    clock = idle_clock
    if clock is None:
        raise DriverError("the idle-session clock was not started for this target")
    if clock.problem and clock.idle is None:
        raise DriverError(f"could not open the idle sessions: {clock.problem}")
    assert clock.idle is not None and clock.idle_login is not None and clock.probe_login is not None
    timeout, margin = clock.timeout_s, clock.margin_s
    deadline = clock.idle_login.received + timeout + margin
    time.sleep(max(0.0, deadline - time.time()))
    clock.wait_probe()
    acct = clock.account
    sent = time.time()
    late, still = _read(driver, clock.idle, acct, f"空闲会话：空闲 ≥ {timeout + margin:g} 秒后使用")
    fresh_resp, fresh_ok = _read(driver, driver.session(acct), acct, "新会话（对照）")
    idle_for = sent - clock.idle_login.received

    for ex in clock.log:
        evidence.http(ex.response, f"{ex.note}（发出 {_at(ex.sent)}，收到 {_at(ex.received)}）")
    touch = clock.probe_touch
    probe_idle = touch.received - clock.probe_login.sent if touch is not None else None
    probe_ok = touch is not None and accepted(driver, "account", touch.response.status_code)
    evidence.attach_json(
        "会话空闲计时",
        {
            "声明空闲超时（秒）": timeout,
            "判定余量（秒）": margin,
            "空闲会话登录应答收到": _at(clock.idle_login.received),
            "空闲会话再次使用": _at(sent),
            "空闲时长下限（秒）": round(idle_for, 3),
            "空闲会话应答": brief(late),
            "对照会话空闲上限（秒）": None if probe_idle is None else round(probe_idle, 3),
            "对照会话应答": None if touch is None else brief(touch.response),
            "新会话应答": brief(fresh_resp),
        },
    )
    if not fresh_ok:
        raise DriverError(f"a fresh session cannot read its account either ({fresh_resp.status_code})")
    evidence.observe(
        f"声明空闲超时 {timeout:g} 秒；空闲 {idle_for:.1f} 秒后使用原会话 {brief(late)}；"
        + (
            f"对照会话空闲 {probe_idle:.1f} 秒时 {touch.response.status_code}"
            if touch is not None and probe_idle is not None
            else "对照会话未能使用"
        )
    )
    assert not still, f"the session still works after {idle_for:.1f} s idle (declared timeout {timeout:g} s)"
    if touch is None or probe_idle is None:
        raise DriverError(f"the control session was never used: {clock.problem or 'timer did not run'}")
    if probe_idle >= timeout:
        raise DriverError(f"the control session was used too late ({probe_idle:.1f} s idle): cannot attribute")
    if not probe_ok:
        raise DriverError(
            f"the control session was already refused after {probe_idle:.1f} s idle (< declared {timeout:g} s): "
            "the refusal cannot be attributed to the idle timeout (one session per user? a restart?)"
        )
