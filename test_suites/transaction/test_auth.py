"""JR/T 0199-2020 chapter 5 交易安全: login lockout, login-error uniformity (user enumeration) and
login rate limiting.

Lockout uses up an account: it takes one reserved for it, or a fresh one made through the product's
own API, or else an ordinary account, and then it runs after every other check on its target
(``late``), so a product documenting two accounts keeps its two-account checks. Without a declared
threshold it judges against the lab's stated default and says so.
"""

import time
import uuid

import pytest

from harness.checks import timing
from harness.checks.answers import brief, fingerprint
from harness.drivers import DriverError
from harness.policy import setting
from harness.spec.model import Account
from harness.suite_support import accounts, expendable_account, require_password_attempts


def _login(driver, account, password=None):
    resp = driver.login(account, password)
    return resp, driver.succeeded("login", resp)


@pytest.mark.late(3)
@pytest.mark.clause("5.auth.lockout")
def test_login_locks_at_declared_threshold(driver, spec, params, evidence):
    """(threshold-1) failures leave the account usable; threshold failures lock it. A wrong password
    that is accepted fails the check outright (nothing can lock an account whose password is not
    checked), once an unknown user with that password has been refused: the declared success of a
    login can tell."""
    require_password_attempts(driver)
    thr = setting(params, "lockout_threshold")
    acct, how = expendable_account(driver, "lockout")
    if not acct.password:
        raise DriverError(f"the account {acct.name} has no password to log in with")
    n = int(thr.value)
    wrong = acct.password + "-wrong-" + uuid.uuid4().hex[:6]

    def fail_times(count, phase):
        for i in range(count):
            resp = driver.login(acct, wrong)
            if driver.succeeded("login", resp):
                return (
                    resp,
                    f"{phase}第 {i + 1} 次",
                    f"{'before' if phase == '阈值前' else 'at'} the threshold, #{i + 1}",
                )
        return None

    ghost = Account(
        name="unknown-user", username=_unknown_name(driver, acct), password=wrong, values=_other_values(acct)
    )
    ghost_resp, ghost_ok = _login(driver, ghost)
    if ghost_ok:
        raise DriverError(
            f"an unknown user name logged in ({ghost_resp.status_code}): the login's declared success cannot tell",
            zh="不存在的用户名以错误口令登录也被判为成功，无法据此判断登录结果",
        )
    _, ok = _login(driver, acct)
    if not ok:
        raise DriverError(f"the account {acct.name} cannot log in before the check (already locked?)")

    def wrong_accepted(found):
        resp, when_zh, when_en = found
        evidence.observe(
            f"使用{how}；不存在的用户以错误口令登录被拒绝（{ghost_resp.status_code}）；正确口令可登录；"
            f"其后错误口令（{when_zh}）登录成功（{brief(resp)}）：口令未被校验",
            en=f"Used {acct.name}; an unknown user with a wrong password was refused ({ghost_resp.status_code}); the "
            f"correct password logged in; then a wrong password ({when_en}) logged in ({resp.status_code}): the "
            "password is not checked",
        )
        raise AssertionError(f"a wrong password was accepted for {acct.name} ({when_en}, {resp.status_code})")

    found = fail_times(n - 1, "阈值前")
    if found:
        wrong_accepted(found)
    resp_before, ok_before = _login(driver, acct)
    if not ok_before:
        evidence.observe(
            f"使用{how}；锁定阈值 {n} 次（{thr.source_zh()}）；连续 {n - 1} 次错误口令后正确口令即被拒绝"
            f"（{brief(resp_before)}），锁定不晚于阈值",
            en=f"Used {acct.name}; lockout threshold {n} ({thr.source_en()}); after {n - 1} wrong passwords the "
            f"correct one was already refused ({resp_before.status_code}): locked no later than the threshold",
        )
        return
    found = fail_times(n, "达到阈值")
    if found:
        wrong_accepted(found)
    resp_after, ok_after = _login(driver, acct)
    outcome = f"成功（{resp_after.status_code}）" if ok_after else f"被拒绝（{brief(resp_after)}）"
    evidence.observe(
        f"使用{how}；锁定阈值 {n} 次（{thr.source_zh()}）；{n - 1} 次错误口令后正确口令可登录"
        f"（{resp_before.status_code}）；再连续 {n} 次错误口令后正确口令登录{outcome}",
        en=f"Used {acct.name}; lockout threshold {n} ({thr.source_en()}); after {n - 1} wrong passwords the correct "
        f"one still logged in ({resp_before.status_code}); after {n} more the correct one "
        + (f"still logged in ({resp_after.status_code})" if ok_after else f"was refused ({resp_after.status_code})"),
    )
    assert not ok_after, (
        f"after {n} consecutive wrong passwords the correct password still logs in ({resp_after.status_code})"
    )


@pytest.mark.clause("5.auth.enumeration")
def test_login_errors_do_not_reveal_unknown_users(driver, spec, params, evidence):
    """Unknown user and wrong password must answer alike: status and body (request details blanked),
    and time (interleaved samples, medians; a large, consistent difference, seen in two rounds, is
    enumeration even when the bodies match)."""
    require_password_attempts(driver)
    (acct,) = accounts(driver, 1)
    if not (acct.username and acct.password):
        raise DriverError(f"the account {acct.name} declares no user name and password to log in with")
    known = {a.username for a in driver.accounts()}

    def unknown_name():
        while True:
            name = f"{acct.username[:3]}{uuid.uuid4().hex[:8]}"
            if "@" in acct.username:  # keep the shape the product expects (an e-mail address)
                name = f"{name}@{acct.username.split('@', 1)[1]}"
            if name not in known:
                return name

    names = [unknown_name(), unknown_name()]
    wrong = acct.password + "-wrong-" + uuid.uuid4().hex[:6]
    hide = [*names, acct.username, wrong]
    # Control: the declared account logs in with its password (its wrong-password answer is then the
    # answer of an existing, usable account).
    genuine, genuine_ok = _login(driver, acct)
    if not genuine_ok:
        raise DriverError(f"the account {acct.name} cannot log in ({genuine.status_code}): cannot compare login errors")
    unknown = []
    for name in names:
        ghost = Account(name="unknown-user", username=name, password=wrong, values=_other_values(acct))
        resp, ok = _login(driver, ghost)
        if ok:
            raise DriverError(f"an unknown user name {name!r} logged in: cannot compare login errors")
        unknown.append(resp)
    # A wrong password that is accepted answers unlike the unknown users' refusals: that tells which
    # user names exist as well as any message would (and the answers below differ).
    bad_pw, _accepted = _login(driver, acct, wrong)
    driver.session(acct)  # the right password: a declared account works (and its failure count resets)
    fp_unknown, fp_unknown2, fp_bad = (fingerprint(r, hide) for r in (*unknown, bad_pw))
    stable = fp_unknown == fp_unknown2
    comparison = {
        "不存在的用户": [brief(r, 400) for r in unknown],
        "存在用户的错误口令": brief(bad_pw, 400),
        "对比（去除用户名、数字与请求标识后）": {
            "不存在的用户": list(fp_unknown),
            "错误口令": list(fp_bad),
            "两次不存在用户应答一致": stable,
        },
    }
    same = bad_pw.status_code == unknown[0].status_code and (not stable or fp_bad == fp_unknown)
    evidence.observe(
        f"不存在的用户登录应答 {brief(unknown[0])}；存在用户错误口令应答 {brief(bad_pw)}；"
        + ("两者一致" if same else "两者不同，可据此判断用户名是否存在")
        + ("" if stable else "（两次不存在用户的应答内容本身不一致，仅比较状态码）"),
        en=f"Unknown user: {unknown[0].status_code}; known user with a wrong password: {bad_pw.status_code}; "
        + ("the answers are alike" if same else "the answers differ, revealing which user names exist")
        + ("" if stable else " (two unknown-user answers differ from each other: only status codes compared)"),
    )
    if not same:
        evidence.attach_json("登录失败应答对比", comparison)
    assert bad_pw.status_code == unknown[0].status_code, (
        f"login answers differ: unknown user {unknown[0].status_code}, wrong password {bad_pw.status_code}"
    )
    if stable:
        assert fp_bad == fp_unknown, (
            f"login error bodies differ: unknown user {unknown[0].text[:120]!r}, wrong password {bad_pw.text[:120]!r}"
        )
    thr = setting(params, "lockout_threshold")
    if thr.known and int(thr.value) <= 1:
        evidence.attach_json("登录失败应答对比", comparison)
        evidence.observe(
            f"锁定阈值 {thr.value} 次（{thr.source_zh()}）：一次错误口令即锁定，无法重复取样比较应答时间，未作时间判定",
            en=f"Lockout threshold {thr.value} ({thr.source_en()}): one wrong password locks the account, so login "
            "times were not sampled",
        )
        return
    # Wrong passwords in batches that never reach the lockout threshold, each batch followed by a
    # genuine login (which resets the failure count and shows the account still works).
    batch = max(int(thr.value) - 2, 1) if thr.known else 3
    rounds = []
    try:
        for _ in range(2):
            rounds.append(_timing_round(driver, acct, unknown_name, wrong, batch))
            if not rounds[-1][2].reveals():
                break
    except _Throttled as t:
        evidence.attach_json("登录失败应答对比", comparison)
        evidence.observe(
            f"取样期间样品对失败登录限速（等待 {t.args[0]:.0f} 秒），未能完成应答时间取样，时间差异未作判定",
            en=f"The product throttled the failed logins while they were sampled (the lab waited {t.args[0]:.0f} s): "
            "login times were not compared",
        )
        driver.session(acct)
        return
    comparison["应答时间（秒，成对交替取样）"] = [
        {"不存在的用户": [round(x, 4) for x in u], "存在用户错误口令": [round(x, 4) for x in w], "判定": c.zh()}
        for u, w, c in rounds
    ]
    evidence.attach_json("登录失败应答对比", comparison)
    revealed = len(rounds) == 2 and all(c.reveals() for _, _, c in rounds)
    last = rounds[-1][2]
    evidence.observe(
        f"成对交替取样 {timing.PAIRS} 对 × {len(rounds)} 轮：{last.zh()}；"
        + (
            "两轮均显著且一致地不同，可据应答时间判断用户名是否存在"
            if revealed
            else ("首轮差异未在复测中重现，不作为不符合" if len(rounds) == 2 else "应答时间无显著且一致的差异")
        ),
        en=f"{timing.PAIRS} interleaved pairs x {len(rounds)} rounds: {last.en()}; "
        + (
            "both rounds differ largely and consistently: login time reveals which user names exist"
            if revealed
            else (
                "the first round's difference did not recur, not judged as enumeration"
                if len(rounds) == 2
                else "no large, consistent difference in login time"
            )
        ),
    )
    assert not revealed, f"login time reveals unknown users: {last.en()}"


def _timing_round(driver, acct, unknown_name, wrong, batch):
    """One round of interleaved samples: (unknown-user seconds, wrong-password seconds, comparison).
    Each sample is the answer's own time (a request resent after the product's throttling counts
    only its last try)."""
    unknown_s, wrong_s = [], []
    failures = 0
    waited = [0.0]

    def timed(account, password=None):
        t0 = time.monotonic()
        resp, ok = _login(driver, account, password)
        if ok:
            raise DriverError(f"a login meant to fail succeeded ({account.username}): login times cannot be compared")
        took = resp.elapsed.total_seconds()
        waited[0] += max(time.monotonic() - t0 - took - 1.0, 0.0)  # the product's throttling kept us waiting
        if waited[0] > TIMING_WAIT_S:
            raise _Throttled(waited[0])
        return took

    for i in range(timing.PAIRS):
        ghost = Account(name="unknown-user", username=unknown_name(), password=wrong, values=_other_values(acct))
        if failures >= batch:
            driver.session(acct)  # a genuine login between batches: the failure count never reaches the threshold
            failures = 0
        first_unknown = i % 2 == 0
        if first_unknown:
            unknown_s.append(timed(ghost))
        wrong_s.append(timed(acct, wrong))
        failures += 1
        if not first_unknown:
            unknown_s.append(timed(ghost))
    driver.session(acct)
    return unknown_s, wrong_s, timing.compare(unknown_s, wrong_s)


TIMING_WAIT_S = 90.0  # throttling waits beyond this stop the timing samples (a busy product's own limit)


class _Throttled(Exception):
    """The product's throttling of failed logins kept the timing samples waiting too long."""


def _unknown_name(driver, acct: Account) -> str:
    """A user name no account has, in the shape of the account's (an e-mail address stays one)."""
    known = {a.username for a in driver.accounts()}
    while True:
        name = f"{(acct.username or 'lab')[:3]}{uuid.uuid4().hex[:8]}"
        if acct.username and "@" in acct.username:
            name = f"{name}@{acct.username.split('@', 1)[1]}"
        if name not in known:
            return name


def _other_values(acct: Account) -> dict[str, str]:
    """The values a login template may name besides user name and password (a tenant, a project)."""
    return {k: v for k, v in acct.values.items()}


RATE_WINDOW_S = 60.0
CLEAR_WAIT_S = 75.0  # how long the check waits for an earlier throttle of the lab host to lift


def _ghost(acct, i):
    domain = "@" + acct.username.split("@", 1)[1] if acct.username and "@" in acct.username else ""
    return Account(
        name="rate",
        username=f"ratelimit{i}{uuid.uuid4().hex[:6]}{domain}",
        password=f"Wrong-{uuid.uuid4().hex[:8]}",
        values=_other_values(acct),
    )


def _correct_login(driver, acct):
    resp = driver.login(acct)
    return resp, driver.succeeded("login", resp)


@pytest.mark.late(5)
@pytest.mark.clause("5.auth.rate-limit")
def test_login_attempts_are_rate_limited(driver, spec, params, evidence):
    """Apart from any account lockout: one client trying many passwords (each against a different,
    non-existent user name, so no account lockout can answer) more often than the declared or the
    lab's default rate within a minute must be slowed down or refused. Controls: the correct password
    of an ordinary account logs in before the burst (waiting for an earlier throttle of the lab host
    to lift), so the burst starts from an unthrottled client; right after it, the same correct login
    tells whether the client is now held back even where the failed answers all look alike. Runs
    last: a product that does limit may then refuse this client's logins for a while."""
    require_password_attempts(driver)
    (acct,) = accounts(driver, 1)
    if not acct.password:
        raise DriverError(f"the account {acct.name} has no password to log in with")
    limit = setting(params, "login_rate_limit_per_min")
    n = int(limit.value) + 1
    driver.patient = False  # throttling is what this check looks for
    waited = time.monotonic()
    before, ok = _correct_login(driver, acct)
    while not ok and time.monotonic() - waited < CLEAR_WAIT_S:
        time.sleep(5)
        before, ok = _correct_login(driver, acct)
    if not ok:
        raise DriverError(
            f"the correct password of {acct.name} was refused for {CLEAR_WAIT_S:g} s before the burst "
            f"({before.status_code}): the lab host is held back already, the rate cannot be measured"
        )
    start = time.monotonic()
    answers = []
    for i in range(n + 10):
        ghost = _ghost(acct, i)
        t0 = time.monotonic()
        resp = driver.login(ghost)
        answers.append((resp, time.monotonic() - t0))
        if driver.succeeded("login", resp):
            raise DriverError(f"an unknown user name {ghost.username!r} logged in: cannot judge rate limiting")
        if time.monotonic() - start > RATE_WINDOW_S:
            break
    took = time.monotonic() - start
    after, after_ok = _correct_login(driver, acct)
    first = answers[: max(3, min(5, n // 4))]

    def fp(r):
        body = r.request.body if isinstance(r.request.body, str | bytes) else b""
        sent = body.decode(errors="replace") if isinstance(body, bytes) else body
        return fingerprint(r, [r.request.url or "", *sent.split("&")])

    base = {fp(r) for r, _ in first}
    body_aware = len(base) == 1  # the product answers alike each time: a changed answer means something
    base_status = {r.status_code for r, _ in first}
    base_ms = sorted(t for _, t in first)[len(first) // 2]

    def limited(r, t):
        changed = fp(r) not in base if body_aware else r.status_code not in base_status
        return r.status_code == 429 or "Retry-After" in r.headers or changed or t > max(1.0, 10 * base_ms)

    throttled = [i for i, (r, t) in enumerate(answers) if limited(r, t)]
    evidence.attach_json(
        "登录限速",
        {
            "阈值（次/分钟）": limit.value,
            "依据": limit.source_zh(),
            "突发前正确口令登录": brief(before),
            "尝试次数": len(answers),
            "用时（秒）": round(took, 2),
            "限速或拒绝的尝试序号": throttled[:20],
            "突发后正确口令登录": brief(after),
            "应答": [f"{r.status_code} {round(t * 1000)}ms" for r, t in answers],
        },
    )
    if took > RATE_WINDOW_S and not throttled and after_ok:
        raise DriverError(f"only {len(answers)} login attempts fitted in {RATE_WINDOW_S:g} s: the rate was not reached")
    held = bool(throttled) or not after_ok
    where_zh = (
        f"自第 {throttled[0] + 1} 次起被限速或拒绝"
        if throttled
        else (
            "各次失败应答相同，但随后正确口令登录被拒绝（客户端已被限制）"
            if not after_ok
            else "均照常应答，随后正确口令照常登录，未见限速"
        )
    )
    where_en = (
        f"slowed down or refused from attempt {throttled[0] + 1}"
        if throttled
        else (
            "the failed answers all alike, but the correct password was refused right after (the client is held back)"
            if not after_ok
            else "every attempt was answered as usual and the correct password still logged in: no limit"
        )
    )
    evidence.observe(
        f"突发前正确口令可登录；同一客户端 {took:.1f} 秒内以不同的不存在用户名尝试登录 {len(answers)} 次（阈值每分钟 "
        f"{limit.value} 次，{limit.source_zh()}）：{where_zh}",
        en=f"The correct password logged in before the burst; one client then tried {len(answers)} logins with "
        f"different non-existent user names in {took:.1f} s (threshold {limit.value} per minute, "
        f"{limit.source_en()}): {where_en}",
    )
    assert held, f"{len(answers)} login attempts in {took:.1f} s were not rate limited"
    assert not throttled or throttled[0] < n, f"the first {n} attempts were answered without any limit"
