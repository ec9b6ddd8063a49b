"""JR/T 0199-2020 chapter 5 交易安全: session revocation at logout, forged tokens, idle expiry.

A session is judged by one authenticated read the sample declared (harness.checks.sessions). Every
check first shows the probe can tell: a genuine session reads, and the same request with no
credential or a random one is refused. Only then does a forged or revoked credential that reads
count as accepted. The foreign-token case (user B's genuine token on user A's data) is horizontal
privilege and is decided by 5.txn.authorization.
"""

import time
from datetime import datetime

import pytest

from harness.checks.answers import brief
from harness.checks.sessions import negative_controls, probe_operation, read_with
from harness.checks.tokens import crack_hmac, encode_jwt, flip_char, parse_jwt, product_words, swap_identity
from harness.drivers import DriverError
from harness.policy import setting
from harness.suite_support import accounts, require_login


@pytest.mark.clause("5.session.logout")
def test_logout_revokes_the_session(driver, spec, evidence):
    require_login(driver)
    if not driver.can_logout():
        from harness.verdicts import not_applicable

        not_applicable("样品驱动未声明退出登录操作", en="the sample's driver declares no logout operation")
    (acct,) = accounts(driver, 1)
    s = driver.session(acct)
    controls = negative_controls(driver, s)
    revoked = s.frozen()  # exactly the credential as it is now: nothing the logout answer sets
    out = driver.logout(s)
    if not driver.succeeded("logout", out):
        raise DriverError(f"logout was refused ({out.status_code} {out.text[:200]})", zh="退出登录请求被拒绝")
    after, still = read_with(driver, revoked, "退出后仅以原凭证访问", controls.operation)
    evidence.attach_json(
        "退出登录判定", {"对照": controls.rows(), "退出应答": brief(out), "退出后原凭证": brief(after)}
    )
    evidence.observe(
        f"退出前以会话访问 {controls.operation} 应答 {controls.genuine.status_code}（不带凭证 "
        f"{controls.missing.status_code}、随机凭证 {controls.garbage.status_code}）；退出应答 {out.status_code}；"
        f"退出后仅以原凭证访问{'仍成功' if still else '被拒绝'}（{brief(after)}）",
        en=f"Before logout the session read {controls.operation} ({controls.genuine.status_code}; no credential "
        f"{controls.missing.status_code}, a random one {controls.garbage.status_code}); logout answered "
        f"{out.status_code}; afterwards the old credential alone was {'still accepted' if still else 'refused'} "
        f"({after.status_code})",
    )
    assert not still, f"the session credential still works after logout ({after.status_code})"


def _forgeries(driver, spec, s, me, other):
    """(description zh, description en, token, whose data it asks for) for every forgery tried; and
    the token kind, and the weak-key search's result (for JWTs)."""
    tries = []
    jwt = parse_jwt(s.token)
    cracked = None
    if jwt is not None:
        theirs, changed = swap_identity(jwt.claims, me, other)
        target = other if changed else me
        # Spelled out: the capitalised variant written as such would read as a Python repr.
        for alg, case_zh, case_en in (
            ("none", "小写", "lower case"),
            ("None", "首字母大写", "capitalised"),
            ("NONE", "大写", "upper case"),
        ):
            tries.append(
                (
                    f"alg 为 none（{case_zh}），原声明",
                    f"alg none ({case_en}), own claims",
                    encode_jwt({**jwt.header, "alg": alg}, jwt.claims, None),
                    me,
                )
            )
            if changed:
                tries.append(
                    (
                        f"alg 为 none（{case_zh}），身份改为他人",
                        f"alg none ({case_en}), another user's identity",
                        encode_jwt({**jwt.header, "alg": alg}, theirs, None),
                        other,
                    )
                )
        if changed:
            tries.append(
                (
                    "身份改为他人，保留原签名",
                    "another user's identity, original signature",
                    encode_jwt(jwt.header, theirs, None, jwt.signature),
                    other,
                )
            )
        if jwt.signature:
            head, body, _ = s.token.split(".")
            tries.append(
                (
                    "篡改签名字节",
                    "one signature byte changed",
                    f"{head}.{body}.{flip_char(jwt.signature, len(jwt.signature) // 2)}",
                    me,
                )
            )
            tries.append(("去掉签名", "signature removed", f"{head}.{body}.", me))
        names = [spec.sample.name, spec.certification_unit.model, spec.certification_unit.product_name]
        cracked = crack_hmac(jwt, product_words(names))
        if cracked.key is not None:
            tries.append(
                (
                    f"以弱密钥重新签名（{cracked.algorithm}）",
                    f"re-signed with the weak key ({cracked.algorithm})",
                    encode_jwt(jwt.header, theirs if changed else jwt.claims, cracked.key),
                    target,
                )
            )
        alg = jwt.header.get("alg")
        kind_zh = f"JWT（alg={alg or '未声明'}，身份声明 {', '.join(changed) or '无'}）"
        kind_en = f"JWT (alg={alg or 'not stated'}, identity claims: {', '.join(changed) or 'none'})"
    else:
        t = s.token
        tries += [
            ("篡改凭证中间一个字符", "one character in the middle changed", flip_char(t, len(t) // 2), me),
            ("篡改凭证首字符", "first character changed", flip_char(t, 0), me),
            ("篡改凭证末字符", "last character changed", flip_char(t, len(t) - 1), me),
            ("截短凭证", "truncated by one character", t[:-1], me),
            ("凭证后追加字符", "one character appended", t + t[-1], me),
        ]
        kind_zh, kind_en = "非 JWT 的不透明凭证", "an opaque (non-JWT) token"
    return tries, kind_zh, kind_en, cracked


@pytest.mark.clause("5.session.token-forgery")
def test_forged_session_tokens_are_refused(driver, spec, evidence):
    """JWT: alg none, another user's identity claims, an altered or removed signature, and a key
    found among common secrets (tried offline against the token's own signature). Opaque token:
    altered, truncated and extended. Each is sent alone (no cookie of the genuine session) to the
    declared probe read, after the probe has shown it refuses no credential and a random one."""
    me, other = accounts(driver, 2)
    s = driver.session(me)
    if not s.token:
        raise DriverError("the session has no credential to forge")
    controls = negative_controls(driver, s)
    tries, kind_zh, kind_en, cracked = _forgeries(driver, spec, s, me, other)
    accepted_forgeries, rows = [], []
    for what, what_en, token, target in tries:
        forged = s.with_token(token)
        forged.account = target
        resp, ok = read_with(driver, forged, f"伪造凭证：{what}", controls.operation)
        rows.append({"伪造方式": what, "访问": target.name, "应答": brief(resp)})
        if ok:
            accepted_forgeries.append((what, what_en, target.name))
    weak = None
    if cracked is not None:
        weak = {"算法": cracked.algorithm, "尝试密钥数": cracked.tried, "找到的弱密钥": cracked.key is not None}
    evidence.attach_json(
        "伪造凭证尝试", {"凭证类型": kind_zh, "对照": controls.rows(), "弱密钥检索": weak, "尝试": rows}
    )
    weak_zh = weak_en = ""
    if cracked is not None:
        weak_zh = (
            f"；以常见密钥表离线检验 {cracked.tried} 个候选，签名密钥为常见弱密钥"
            if cracked.key is not None
            else f"；以常见密钥表离线检验 {cracked.tried} 个候选，未发现弱签名密钥"
        )
        weak_en = f"; {cracked.tried} common secrets tried offline: " + (
            "the signing key is a common weak secret" if cracked.key is not None else "no weak signing key found"
        )
    evidence.observe(
        f"凭证类型：{kind_zh}；对照：真实凭证 {controls.genuine.status_code}、不带凭证 {controls.missing.status_code}、"
        f"随机凭证 {controls.garbage.status_code}；{len(tries)} 种伪造凭证中被接受 {len(accepted_forgeries)} 种"
        + (f"（{'；'.join(f'{w}→{n}' for w, _, n in accepted_forgeries)}）" if accepted_forgeries else "")
        + weak_zh,
        en=f"Token kind: {kind_en}; controls: genuine {controls.genuine.status_code}, none "
        f"{controls.missing.status_code}, random {controls.garbage.status_code}; {len(accepted_forgeries)} of "
        f"{len(tries)} forged tokens were accepted"
        + (f" ({'; '.join(f'{w} -> {n}' for _, w, n in accepted_forgeries)})" if accepted_forgeries else "")
        + weak_en,
    )
    assert not accepted_forgeries, f"forged session tokens were accepted: {[w for _, w, _ in accepted_forgeries]}"
    assert cracked is None or cracked.key is None, "the token is signed with a common weak secret"


def _at(t):
    return datetime.fromtimestamp(t).strftime("%H:%M:%S.%f")[:-3]


@pytest.mark.late(2)
@pytest.mark.clause("5.session.expiry")
def test_idle_session_expires_at_declared_timeout(driver, spec, params, evidence, idle_clock):
    """The idle session (opened when the suite started on this target) is used only after the idle
    time (declared, or the lab's default when the sample declares none) plus a margin: it must be
    refused. A fresh session was shown to work when the clock started; a twin session used once
    just before the idle time must still have worked; and a fresh session must work now."""
    require_login(driver)
    probe_operation(driver)
    clock = idle_clock
    if clock is None:
        raise DriverError("the idle-session clock was not started for this target")
    if clock.problem and clock.idle is None:
        raise DriverError(f"could not open the idle sessions: {clock.problem}")
    assert clock.idle is not None and clock.idle_login is not None and clock.probe_login is not None
    idle_setting = setting(params, "session_idle_timeout_s")
    timeout, margin = clock.timeout_s, clock.margin_s
    deadline = clock.idle_login.received + timeout + margin
    time.sleep(max(0.0, deadline - time.time()))
    clock.wait_probe()
    acct = clock.account
    sent = time.time()
    late, still = read_with(driver, clock.idle, f"空闲会话：空闲 ≥ {timeout + margin:g} 秒后使用")
    fresh_resp, fresh_ok = read_with(driver, driver.session(acct), "新会话（对照）")
    idle_for = sent - clock.idle_login.received

    for ex in clock.log:
        evidence.http(ex.response, f"{ex.note}（发出 {_at(ex.sent)}，收到 {_at(ex.received)}）")
    touch = clock.probe_touch
    probe_idle = touch.received - clock.probe_login.sent if touch is not None else None
    probe_ok = touch is not None and driver.succeeded(probe_operation(driver), touch.response)
    evidence.attach_json(
        "会话空闲计时",
        {
            "空闲超时（秒）": timeout,
            "依据": idle_setting.source_zh(),
            "判定余量（秒）": margin,
            "开始时新会话": None if clock.start_control is None else brief(clock.start_control.response),
            "空闲会话登录应答收到": _at(clock.idle_login.received),
            "空闲会话再次使用": _at(sent),
            "空闲时长下限（秒）": round(idle_for, 3),
            "空闲会话应答": brief(late),
            "对照会话空闲上限（秒）": None if probe_idle is None else round(probe_idle, 3),
            "对照会话应答": None if touch is None else brief(touch.response),
            "新会话应答": brief(fresh_resp),
        },
    )
    if not clock.start_ok:
        raise DriverError("a fresh session did not work when the clock started: the probe cannot tell")
    if not fresh_ok:
        raise DriverError(f"a fresh session cannot use the probe either ({fresh_resp.status_code})")
    evidence.observe(
        f"空闲超时 {timeout:g} 秒（{idle_setting.source_zh()}）；开始时新会话可用；空闲 {idle_for:.1f} 秒后使用原会话"
        f"{'仍成功' if still else '被拒绝'}（{brief(late)}）；"
        + (
            f"对照会话空闲 {probe_idle:.1f} 秒时{'可用' if probe_ok else '已被拒绝'}"
            if touch is not None and probe_idle is not None
            else "对照会话未能使用"
        ),
        en=f"Idle timeout {timeout:g} s ({idle_setting.source_en()}); a fresh session worked at the start; after "
        f"{idle_for:.1f} s idle the old session was {'still accepted' if still else 'refused'} ({late.status_code}); "
        + (
            f"the control session was {'accepted' if probe_ok else 'already refused'} after {probe_idle:.1f} s idle"
            if touch is not None and probe_idle is not None
            else "the control session could not be used"
        ),
    )
    assert not still, f"the session still works after {idle_for:.1f} s idle (timeout {timeout:g} s)"
    if touch is None or probe_idle is None:
        raise DriverError(f"the control session was never used: {clock.problem or 'timer did not run'}")
    if probe_idle >= timeout:
        raise DriverError(f"the control session was used too late ({probe_idle:.1f} s idle): cannot attribute")
    if not probe_ok:
        raise DriverError(
            f"the control session was already refused after {probe_idle:.1f} s idle (< {timeout:g} s): "
            "the refusal cannot be attributed to the idle timeout (one session per user? a restart?)"
        )
