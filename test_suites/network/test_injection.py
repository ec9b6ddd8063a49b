"""JR/T 0199-2020 chapter 11 网络安全: SQL, NoSQL-operator and command injection into every input of
every declared operation (path, query, body, header) and of the login, judged by differential
behaviour (harness.checks.injection):

- a true-condition payload against a false-condition one of the same shape, beside the genuine
  request (baseline) and an invalid value (junk): the input is evaluated when the true condition
  answers like a genuine request, or with rows, while the false one answers like the invalid value;
  every such difference is sent again with fresh literals before it counts;
- the login: a payload user name (or password) with a wrong password logs in, while its
  false-condition twin and the plain wrong password do not;
- time: ``sleep(N)`` against ``sleep(0)`` of the same shape, twice each.

Operations marked unsafe are never called. In a state-changing operation, the values the account
itself supplies (its own stored data) keep their genuine values: only lookups in the request line
and the other inputs carry payloads. A check that sent no payload has not passed; one that ran out
of its time budget before covering every input is an error unless it already found something."""

from __future__ import annotations

import json
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
import requests

from harness.checks import injection as inj
from harness.checks.inputs import Slot, fits, locate, ordinary_values, placed, session_values
from harness.checks.transaction import brief, decimals_of, unit
from harness.drivers import DriverError, DriverSession, SampleTimeout
from harness.spec.model import Account
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

BUDGET_S = 420.0  # payloads stop being sent after this; uncovered inputs make the check an error
# Login payloads stop once the product's throttling of failed logins has kept the lab waiting this long
# (its rate limit at work: further payloads would only wait; noted, not judged).
LOGIN_WAIT_S = 60.0


@dataclass
class Probe:
    """Sends payloads for one check: counts them, keeps findings and the time budget."""

    driver: Any
    sent: int = 0
    findings: list[tuple[str, str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)
    rnd: random.Random = field(default_factory=random.Random)
    deadline: float = field(default_factory=lambda: time.monotonic() + BUDGET_S)
    waited_s: float = 0.0  # time the product's throttling of logins kept the lab waiting

    def login_throttled(self) -> bool:
        return self.waited_s > LOGIN_WAIT_S

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def send(
        self, operation: str, session: DriverSession | None, fields: dict[str, Any], note: str
    ) -> tuple[requests.Response | None, float]:
        """Prepare and send one request: (answer, seconds the answer took), or (None, seconds) when
        the sample did not answer within the driver's timeout. None, 0 when it cannot be built."""
        try:
            call = self.driver.prepare(operation, session, **fields)
        except (DriverError, TypeError, ValueError):
            return None, 0.0
        self.sent += 1
        t0 = time.monotonic()
        try:
            resp = self.driver.send(call, session, note=note)
        except SampleTimeout:
            return None, time.monotonic() - t0
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL, ValueError):
            self.sent -= 1  # the HTTP library refused to send it: nothing reached the sample
            return None, 0.0
        # The answer's own time (a throttled request resent after waiting counts only its last try).
        return resp, resp.elapsed.total_seconds()

    def seen(self, operation: str, resp: requests.Response | None, hide: list[str]) -> inj.Seen | None:
        if resp is None:
            return None
        return inj.Seen.of(resp, bool(self.driver.succeeded(operation, resp)), _variants(hide))


def _variants(texts: list[Any]) -> list[str]:
    """Each text as a product may echo it: as sent, percent-encoded, JSON-escaped."""
    out: list[str] = []
    for t in texts:
        s = t if isinstance(t, str) else json.dumps(t)
        out += [s, quote(s, safe=""), quote(s), json.dumps(s)[1:-1]]
    return [x for x in dict.fromkeys(out) if x]


# -- the login -----------------------------------------------------------------------------------
def _login_as(probe: Probe, like: Account, username: Any, password: Any) -> tuple[bool, float]:
    """One login attempt with the given user name and password: (logged in, seconds the answer
    took; the time waited when there was no answer)."""
    driver = probe.driver
    probe.sent += 1
    t0 = time.monotonic()
    try:
        if isinstance(username, str) and isinstance(password, str):
            resp = driver.login(Account(name="injection", username=username, password=password, values=like.values))
        else:  # query-operator objects: only a login request whose JSON keeps their type carries them
            resp = driver.send(driver.prepare("login", None, username=username, password=password))
    except SampleTimeout:
        return False, time.monotonic() - t0
    except (DriverError, TypeError, ValueError):
        probe.sent -= 1
        return False, 0.0
    took = resp.elapsed.total_seconds()
    probe.waited_s += max(time.monotonic() - t0 - took - 1.0, 0.0)  # beyond the answer itself (and a page fetch)
    return bool(driver.succeeded("login", resp)), took


def _login(probe: Probe, acct: Account) -> None:
    driver = probe.driver
    wrong = f"Wrong-{uuid.uuid4().hex[:10]}"
    genuine = driver.login(acct)
    if not driver.succeeded("login", genuine):
        raise DriverError(
            f"the declared account {acct.name} cannot log in ({brief(genuine)}): the login cannot be judged"
        )
    plain = driver.login(acct, wrong)
    if driver.succeeded("login", plain):
        raise DriverError(f"{acct.name} logs in with a wrong password too: a bypass could not be told apart")
    nobody = f"{(acct.username or 'u')[:3]}{uuid.uuid4().hex[:8]}"
    ref = plain.elapsed.total_seconds()
    bypasses: list[str] = []
    tried = 0
    user = acct.username or ""
    shapes = [("username", p) for p in inj.login_username_pairs(user, probe.rnd)]
    shapes += [("password", p) for p in inj.login_password_pairs(probe.rnd)]
    try:
        slot = locate(driver, "login", None, {"username": nobody, "password": wrong}, "username")
    except DriverError:
        slot = Slot("body")
    if slot.typed:
        shapes += [("both", p) for p in inj.nosql_pairs(probe.rnd)]
    for where, pair in shapes:
        if any(b.startswith(f"{where}=") for b in bypasses):
            continue  # one proven bypass per place is enough
        if probe.out_of_time():
            probe.uncovered.append("登录（部分载荷）")
            break
        if probe.login_throttled():
            probe.notes.append(f"登录：样品对失败登录限速，已等待 {probe.waited_s:.0f} 秒，其余登录载荷未发送")
            break
        u, pw = _login_values(where, pair.true, nobody, wrong)
        tried += 1
        if not _login_as(probe, acct, u, pw)[0]:
            continue
        fu, fpw = _login_values(where, pair.false, nobody, wrong)
        if not _login_as(probe, acct, fu, fpw)[0]:
            bypasses.append(f"{where}={pair.texts()[0]!r}")
            probe.findings.append(
                (
                    f"登录：{_zh_where(where)}为 {pair.texts()[0]!r} 时以错误口令登录成功，"
                    "同形的假条件载荷与普通错误口令均被拒绝",
                    f"login: {where} {pair.texts()[0]!r} logged in with a wrong password, while its false-condition "
                    "twin and the plain wrong password were refused",
                )
            )
    slow = _login_times(probe, acct, user, wrong, ref)
    tried += slow[0]
    driver.session(acct)  # the right password once more: the account works (and its failure count resets)
    probe.rows.append(
        {
            "操作": "login",
            "输入": "username, password",
            "载荷数": tried,
            "对照": {"正确口令": brief(genuine), "错误口令": brief(plain)},
            "判定": "；".join(bypasses + slow[1]) or "未见注入迹象",
        }
    )


def _zh_where(where: str) -> str:
    return {"username": "用户名", "password": "口令", "both": "用户名与口令"}[where]


def _login_values(where: str, payload: Any, nobody: str, wrong: str) -> tuple[Any, Any]:
    if where == "username":
        return payload, wrong
    if where == "password":
        return nobody, payload
    return payload, payload


def _login_times(probe: Probe, acct: Account, user: str, wrong: str, ref: float) -> tuple[int, list[str]]:
    """Time payloads in the login's user name (never in the password of a real account: that would
    count towards its lockout)."""
    tried, found = 0, []
    for tp in inj.time_pairs(user):
        if probe.out_of_time():
            probe.uncovered.append("登录（时间载荷）")
            break
        if probe.login_throttled():
            probe.notes.append(f"登录：样品对失败登录限速，已等待 {probe.waited_s:.0f} 秒，其余登录时间载荷未发送")
            break
        s1 = _login_as(probe, acct, tp.slow, wrong)[1]
        tried += 1
        if s1 - ref < tp.min_delay_s:
            continue
        c1, c2 = _login_as(probe, acct, tp.control, wrong)[1], _login_as(probe, acct, tp.control, wrong)[1]
        rounds = [(s1, c1), (_login_as(probe, acct, tp.slow, wrong)[1], c2)]
        tried += 3
        if inj.delay_shown(rounds, tp.min_delay_s):
            found.append(f"用户名 {tp.shape} 延迟 {rounds[0][0]:.1f}/{rounds[1][0]:.1f} 秒")
            probe.findings.append(
                (
                    f"登录：用户名中的 {tp.shape} 时间载荷使应答延迟 {_rounds_zh(rounds)}",
                    f"login: a {tp.shape} time payload in the user name delayed the answer ({_rounds_en(rounds)})",
                )
            )
    return tried, found


def _rounds_zh(rounds: list[tuple[float, float]]) -> str:
    return "、".join(f"{s:.1f} 秒（对照 {c:.2f} 秒）" for s, c in rounds)


def _rounds_en(rounds: list[tuple[float, float]]) -> str:
    return ", ".join(f"{s:.1f} s against {c:.2f} s" for s, c in rounds)


# -- the declared operations ---------------------------------------------------------------------
def _operation(probe: Probe, name: str, info: Any, session: DriverSession | None, payee: Account, amount: Any) -> None:
    sess = session if info.auth else None
    if info.auth and sess is None:
        probe.notes.append(f"{name}：需要登录会话，未能取得")
        return
    own = session_values(sess)
    ids = probe.driver.object_ids()  # identifiers of accounts' things: lookups, never stored data
    fields = ordinary_values(info.inputs, sess, payee, amount)
    deleting = info.kind == "delete"
    base_resp: requests.Response | None = None
    base_t = 0.0
    if not deleting:  # a genuine delete would remove the account's object: no baseline for it
        base_resp, base_t = probe.send(name, sess, fields, f"{name}：正常请求（基线）")
        if base_resp is None:
            probe.notes.append(f"{name}：正常请求未得到应答或无法构造，未判定")
            return
    for name_in in info.inputs:
        if probe.out_of_time():
            probe.uncovered.append(f"{name}.{name_in}")
            continue
        if info.changes_state() and name_in in own and name_in not in info.path_inputs and name_in not in ids:
            probe.notes.append(f"{name}.{name_in}：为账户本身的数据（写操作），保持真实值，不注入")
            continue
        if deleting and name_in not in ids and name_in not in info.path_inputs:
            probe.notes.append(f"{name}.{name_in}：删除操作只向其对象标识注入（其余输入被接受即会删除对象）")
            continue
        genuine = str(fields.get(name_in, own.get(name_in, "1")))
        try:
            slot = locate(probe.driver, name, sess, fields, name_in)
        except DriverError as e:
            probe.notes.append(f"{name}.{name_in}：无法构造请求（{e}）")
            continue
        if not slot.seen:
            probe.notes.append(f"{name}.{name_in}：输入未出现在请求中")
            continue
        _field(probe, name, info, sess, fields, name_in, genuine, slot, base_resp, base_t)


def _field(
    probe: Probe,
    name: str,
    info: Any,
    sess: DriverSession | None,
    fields: dict[str, Any],
    name_in: str,
    genuine: str,
    slot: Slot,
    base_resp: requests.Response | None,
    base_t: float,
) -> None:
    rnd = probe.rnd
    # A delete's true condition would delete the genuine object: time payloads only, on an invalid value.
    destructive = base_resp is None
    junk = inj.junk_value(genuine, rnd)
    junk_resp, junk_t = probe.send(name, sess, {**fields, name_in: placed(slot, junk)}, f"{name}：{name_in} 无效值")
    sent_before = probe.sent
    verdicts: list[str] = []
    if junk_resp is not None and not destructive:
        pairs = inj.boolean_pairs(genuine, rnd) + (inj.nosql_pairs(rnd) if slot.typed else [])
        for i, pair in enumerate(pairs):
            if probe.out_of_time():
                probe.uncovered.append(f"{name}.{name_in}（部分载荷）")
                break
            if not fits(slot, pair.true):
                continue
            why = _pair(probe, name, sess, fields, name_in, slot, pair, genuine, junk, base_resp, junk_resp)
            if why is None:
                continue
            fresh = (inj.boolean_pairs(genuine, rnd) + (inj.nosql_pairs(rnd) if slot.typed else []))[i]
            again = _pair(probe, name, sess, fields, name_in, slot, fresh, genuine, junk, base_resp, junk_resp, "复测")
            if again is None:
                probe.notes.append(f"{name}.{name_in}：{pair.shape} 载荷对的差异复测未重现，不计")
                continue
            verdicts.append(f"{pair.shape}（{pair.form}）：{why}")
            probe.findings.append(
                (
                    f"{name}.{name_in}（{slot.zh()}）：{pair.texts()[0]!r} 与 {pair.texts()[1]!r} —— {why}（复测一致）",
                    f"{name}.{name_in} ({slot.place}): {pair.texts()[0]!r} against {pair.texts()[1]!r} — "
                    f"{inj.reason_en(why)} (confirmed with fresh literals)",
                )
            )
            break  # one confirmed pair proves the input is evaluated
    ref = max(base_t, junk_t)
    time_base = junk if destructive else genuine
    for tp in [] if verdicts else inj.time_pairs(time_base, body=slot.place == "body"):
        if probe.out_of_time():
            probe.uncovered.append(f"{name}.{name_in}（时间载荷）")
            break
        if not fits(slot, tp.slow):
            continue
        _resp, s1 = probe.send(name, sess, {**fields, name_in: placed(slot, tp.slow)}, f"{name}：{name_in} {tp.shape}")
        if s1 - ref < tp.min_delay_s:
            continue

        def took(value: str, note: str) -> float:
            return probe.send(name, sess, {**fields, name_in: placed(slot, value)}, note)[1]

        c1 = took(tp.control, f"{name}：{name_in} {tp.shape}（0 秒对照）")
        c2 = took(tp.control, f"{name}：{name_in} {tp.shape}（0 秒对照，复测）")
        s2 = took(tp.slow, f"{name}：{name_in} {tp.shape}（复测）")
        rounds = [(s1, c1), (s2, c2)]
        if inj.delay_shown(rounds, tp.min_delay_s):
            verdicts.append(f"{tp.shape} 时间载荷：{_rounds_zh(rounds)}")
            probe.findings.append(
                (
                    f"{name}.{name_in}（{slot.zh()}）：{tp.shape} 时间载荷使应答延迟 {_rounds_zh(rounds)}",
                    f"{name}.{name_in} ({slot.place}): a {tp.shape} time payload delayed the answer "
                    f"({_rounds_en(rounds)})",
                )
            )
            break
    probe.rows.append(
        {
            "操作": name,
            "输入": name_in,
            "位置": slot.zh() + ("（JSON 保留类型）" if slot.typed else ""),
            "载荷数": probe.sent - sent_before + 1,
            "基线": brief(base_resp) if base_resp is not None else "未发送（删除操作）",
            "无效值": brief(junk_resp) if junk_resp is not None else "无应答",
            "判定": "；".join(verdicts) or "未见注入迹象",
        }
    )


def _pair(
    probe: Probe,
    name: str,
    sess: DriverSession | None,
    fields: dict[str, Any],
    name_in: str,
    slot: Slot,
    pair: inj.Pair,
    genuine: str,
    junk: str,
    base_resp: requests.Response | None,
    junk_resp: requests.Response,
    again: str = "",
) -> str | None:
    """Send one pair (the false condition only when the true one answered unlike the invalid
    value): why it shows injection, or None."""
    hide = [genuine, junk, *pair.texts()]
    t_resp, _ = probe.send(
        name, sess, {**fields, name_in: placed(slot, pair.true)}, f"{name}：{name_in} 真条件 {pair.shape}{again}"
    )
    true, junk_seen = probe.seen(name, t_resp, hide), probe.seen(name, junk_resp, hide)
    if true is None or junk_seen is None or true.fp == junk_seen.fp:
        return None  # answered like an invalid value: the payload was data
    f_resp, _ = probe.send(
        name, sess, {**fields, name_in: placed(slot, pair.false)}, f"{name}：{name_in} 假条件 {pair.shape}{again}"
    )
    false = probe.seen(name, f_resp, hide)
    if false is None:
        return None
    return inj.boolean_reason(pair.form, probe.seen(name, base_resp, hide), true, false, junk_seen)


@pytest.mark.timeout(BUDGET_S + 300)
@pytest.mark.clause("11.injection")
def test_inputs_resist_sql_and_command_injection(driver, params, evidence):
    accts = usable_accounts(driver)
    ops = {n: i for n, i in driver.operations().items() if i.inputs}
    unsafe = sorted(n for n, i in ops.items() if i.unsafe)
    ops = {n: i for n, i in ops.items() if not i.unsafe}
    if not driver.can_login() and not ops:
        not_applicable(
            "样品驱动未声明登录及任何带输入的操作",
            en="the sample's driver declares neither a login nor any operation that takes input",
        )
    probe = Probe(driver)
    if driver.can_login() and not accts:
        not_applicable(
            "样品未声明可用的普通测试账户，无法对照登录",
            en="the sample declares no usable ordinary test account, so there is no login to compare with",
        )
    try:
        if driver.can_login():
            _login(probe, accts[0])
        session = driver.session(accts[0]) if accts else None
        payee = next((a for a in driver.accounts() if accts and a.name != accts[0].name), accts[0] if accts else None)
        amount = unit(decimals_of(params))
        for name, info in ops.items():
            _operation(probe, name, info, session, payee, amount)
    finally:  # what was sent and seen is the evidence, also when the check could not finish
        evidence.attach_json(
            "注入判定",
            {
                "逐项": probe.rows,
                "发现": [z for z, _ in probe.findings],
                "未判定或未注入": probe.notes,
                "超出时间预算未覆盖": probe.uncovered,
                "未调用的不安全操作": unsafe,
            },
        )
    inputs = len(probe.rows)
    evidence.observe(
        f"对登录及 {len(ops)} 个操作的 {inputs} 处输入发送 {probe.sent} 个注入载荷（真/假条件对、时间载荷及对照），"
        + (
            f"发现 {len(probe.findings)} 处注入：{'；'.join(z for z, _ in probe.findings[:3])}"
            if probe.findings
            else "未见注入迹象"
        )
        + (f"；{len(unsafe)} 个标记为不安全的操作未调用" if unsafe else ""),
        en=f"{probe.sent} injection payloads (true/false condition pairs, time payloads and their controls) into "
        f"{inputs} inputs of the login and {len(ops)} operations: "
        + (
            f"{len(probe.findings)} injections found ({'; '.join(e for _, e in probe.findings[:3])})"
            if probe.findings
            else "no sign of injection"
        )
        + (f"; {len(unsafe)} operations marked unsafe were not called" if unsafe else ""),
    )
    assert not probe.findings, "; ".join(e for _, e in probe.findings)
    if probe.sent == 0:
        raise DriverError("no injection payload could be sent to any input: nothing was judged")
    if probe.uncovered:
        raise DriverError(
            f"the time budget ({BUDGET_S:g} s) ran out before every input was covered: {', '.join(probe.uncovered[:8])}"
        )
