"""JR/T 0199-2020 chapter 5 交易安全: cross-site request forgery (5.txn.csrf).

Where a session rides on cookies, any other site's page can make the account holder's browser send a
request that carries them. The check sends every state-changing operation (state-changing GETs
included) as such a page would, the session's cookies only (no credential header, no anti-CSRF token,
a third-party Origin and Referer), and judges by effect: what the product's own reads show afterwards
(the forged request's values, a changed or vanished object), or, where no read can show the operation's
effect, whether the forged request is the operation's declared success. The positive control is the
same request as the product's own page sends it (cookies, its anti-CSRF token, its own origin): it must
work, or the operation is not judged.

Not applicable, with the reason, when no session rides on cookies (the login sets none, or its cookies
do not authenticate a read by themselves). Signed operations are not sent: a foreign page cannot sign
with the session's key. Unsafe and password operations are left alone (5.auth.credential-change
judges the latter).
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.csrf import cookie_description, cookie_names
from harness.checks.readback import (
    Snapshot,
    call_fields,
    object_fields,
    object_of,
    reads_for,
    session_values,
    snapshot,
)
from harness.checks.sessions import probe_operation, read_with
from harness.checks.transaction import brief
from harness.drivers import DriverError, DriverSession
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable


def _browser_call(driver: Any, name: str, session: DriverSession, fields: dict[str, Any]) -> Any:
    call = driver.prepare(name, session, **fields)
    if session.token and session.token in call.text():
        raise DriverError(
            f"{name}: the driver put the session's credential in a header or the query of a request a browser "
            "sends with cookies only: it cannot send requests on a browser's terms",
            zh=f"驱动在仅应携带 Cookie 的浏览器请求（{name}）中仍放入了会话凭证，无法模拟跨站请求",
        )
    return call


def _fresh_object(driver: Any, s: DriverSession, obj: Any, made: list[Any]) -> Any:
    """A new object of the kind, made with the genuine session (the thing a forged request aims at)."""
    fields, _ = object_fields(obj, s)
    resp = driver.call(obj.create, s, **fields)
    if not driver.succeeded(obj.create, resp):
        raise DriverError(f"{obj.create}: creating an object to aim at was refused ({resp.status_code})")
    try:
        oid = driver.returned(resp, obj.create, obj.id)
    except DriverError:
        oid = s.values.get(obj.id)
    if oid in (None, ""):
        raise DriverError(f"{obj.create}: the answer names no {obj.id}")
    made.append(oid)
    return oid


class Judge:
    """One operation, forged then genuine, with the reads that show its effect."""

    def __init__(self, driver: Any, s: DriverSession, rows: list[dict[str, Any]], notes: list[str]) -> None:
        self.driver, self.s, self.rows, self.notes = driver, s, rows, notes
        self.breaches: list[tuple[str, str]] = []

    def write(self, name: str, kind: str) -> bool:
        """create / update / action: the forged request's own values (or a change) seen afterwards."""
        d, s = self.driver, self.s
        owner = object_of(d, name)
        obj = owner[1] if owner else None
        made: list[Any] = []
        oid = None
        try:
            if obj is not None and kind != "create":
                oid = _fresh_object(d, s, obj, made) if obj.create else session_values(s).get(obj.id)
            key = {obj.id: oid} if obj is not None and oid not in (None, "") else {}
            reads = reads_for(d, name, s, oid)
            before = snapshot(d, s, reads, "回读（基线）")
            noisy = snapshot(d, s, reads, "回读（基线复核）").changed_from(before)
            forged_fields, forged_marks = call_fields(d, name, s)
            cross = s.cross_site()
            call = _browser_call(d, name, cross, {**forged_fields, **key})
            forged = d.send(call, cross, note=f"跨站伪造请求：{name}")
            after_forged = snapshot(d, s, reads, "回读（伪造请求后）")
            genuine_fields, genuine_marks = call_fields(d, name, s)
            same = s.same_site()
            call = _browser_call(d, name, same, {**genuine_fields, **key})
            genuine = d.send(call, same, note=f"对照：同站请求 {name}")
            after_genuine = snapshot(d, s, reads, "回读（对照请求后）")
            self._created(name, obj, [forged, genuine], made)
        finally:
            self._tidy(obj, made)
        seen_forged = _effect(after_forged, before, forged_marks, noisy)
        seen_genuine = _effect(after_genuine, after_forged, genuine_marks, noisy)
        return self._decide(name, forged, genuine, seen_forged, seen_genuine, bool(forged_marks), reads)

    def delete(self, name: str) -> bool:
        """delete: a fresh object of the kind, forged delete, then the genuine one, read after each."""
        d, s = self.driver, self.s
        owner = object_of(d, name)
        if owner is None or not owner[1].create:
            self.notes.append(f"{name}：删除操作无可供删除的新建对象（对象类型未声明创建操作），未判定")
            return False
        obj = owner[1]
        made: list[Any] = []
        try:
            oid = _fresh_object(d, s, obj, made)
            reads = reads_for(d, name, s, oid)
            before = snapshot(d, s, reads, "回读（基线）")
            cross, same = s.cross_site(), s.same_site()
            forged = d.send(_browser_call(d, name, cross, {obj.id: oid}), cross, note=f"跨站伪造请求：{name}")
            after_forged = snapshot(d, s, reads, "回读（伪造请求后）")
            genuine = d.send(_browser_call(d, name, same, {obj.id: oid}), same, note=f"对照：同站请求 {name}")
            after_genuine = snapshot(d, s, reads, "回读（对照请求后）")
            if d.succeeded(name, genuine) or after_genuine.changed_from(after_forged):
                made.remove(oid)
        finally:
            self._tidy(obj, made)
        return self._decide(
            name,
            forged,
            genuine,
            bool(after_forged.changed_from(before)),
            bool(after_genuine.changed_from(after_forged)),
            False,
            reads,
        )

    def _decide(
        self,
        name: str,
        forged: Any,
        genuine: Any,
        seen_forged: bool,
        seen_genuine: bool,
        marked: bool,
        reads: list[Any],
    ) -> bool:
        d = self.driver
        forged_ok, genuine_ok = bool(d.succeeded(name, forged)), bool(d.succeeded(name, genuine))
        row = {
            "操作": name,
            "伪造请求（仅 Cookie、无令牌、第三方来源）": brief(forged),
            "对照请求（同站、带令牌）": brief(genuine),
            "回读": "、".join(r.label() for r in reads) or "无可用的回读操作",
        }
        if seen_genuine or (seen_forged and marked):
            # The reads show what a request did: the forged one's values (or change) decide.
            breach, basis = seen_forged, "回读"
        elif genuine_ok:
            # Nothing the product lets us read shows this operation's effect: its declared success does.
            breach, basis = forged_ok, "声明的成功条件（回读无法显示该操作的效果）"
        else:
            self.notes.append(f"{name}：对照请求（同站、带防跨站令牌）未成功（{genuine.status_code}），无法判定")
            row["判定"] = "未判定（对照请求未成功）"
            self.rows.append(row)
            return False
        row["判定依据"] = basis
        row["判定"] = "伪造请求生效" if breach else "伪造请求未生效"
        self.rows.append(row)
        if breach:
            self.breaches.append(
                (f"{name}（依据{basis.split('（')[0]}）", f"{name} took effect from a forged cross-site request")
            )
        return True

    def _created(self, name: str, obj: Any, answers: list[Any], made: list[Any]) -> None:
        if obj is None or obj.create != name:
            return
        for resp in answers:
            if self.driver.succeeded(name, resp):
                try:
                    made.append(self.driver.returned(resp, name, obj.id))
                except DriverError:
                    continue

    def _tidy(self, obj: Any, made: list[Any]) -> None:
        """Remove the objects this check made (with the genuine session)."""
        if obj is None or not obj.delete:
            return
        for oid in made:
            self.driver.call(obj.delete, self.s, **{obj.id: oid})


def _effect(after: Snapshot, before: Snapshot, marks: list[str], noisy: list[str]) -> bool:
    if marks:
        return any(after.shows(m) for m in marks)
    return bool(after.changed_from(before, noisy))


def _targets(driver: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
    """The state-changing operations a foreign page could make a browser send, and why the others
    are not sent ((Chinese, English) each)."""
    targets, notes = [], []
    for name, info in driver.operations().items():
        if not info.changes_state() or not info.auth:
            continue
        if not info.by_session:
            notes.append(
                (
                    f"{name}：以其自身凭证（如 HTTP Basic、API 密钥）认证，不随会话 Cookie 由浏览器自动携带",
                    f"{name}: authenticated by credentials of its own (such as HTTP Basic or an API key), "
                    "which a browser does not send along with the session cookie",
                )
            )
        elif info.role:
            notes.append(
                (
                    f"{name}：口令操作，由 5.auth.credential-change 判定",
                    f"{name}: a password operation, judged by 5.auth.credential-change",
                )
            )
        elif info.unsafe:
            notes.append(
                (
                    f"{name}：规格标为不安全操作，未发送（{info.unsafe}）",
                    f"{name}: marked unsafe in the spec, not sent (“{info.unsafe}”)",
                )
            )
        elif info.signed:
            notes.append(
                (
                    f"{name}：请求以会话密钥签名，第三方页面无法生成签名，不构成跨站请求伪造",
                    f"{name}: requests are signed with the session key, which a third-party page cannot produce: "
                    "no cross-site request forgery",
                )
            )
        else:
            targets.append((name, info))
    return targets, notes


@pytest.mark.clause("5.txn.csrf")
def test_cookie_sessions_refuse_cross_site_state_changes(driver, evidence):
    accts = usable_accounts(driver)
    if not accts:
        not_applicable("样品未声明普通测试账户", en="the sample declares no ordinary test account")
    if not driver.can_login():
        not_applicable(
            f"样品不设登录，会话不以 Cookie 维持（{driver.describe_auth()}），不涉及跨站请求伪造",
            en=f"the sample has no login and keeps no session by cookies ({driver.describe_auth('en')}): cross-site "
            "request forgery does not apply",
        )
    targets, not_sent = _targets(driver)
    notes = [zh for zh, _ in not_sent]  # the evidence file's, with what the judging adds
    if not targets:
        not_applicable(
            f"会话以{driver.describe_auth()}维持，样品未声明第三方页面可以发起的改变状态的操作"
            "（均已签名、不安全或为口令操作）：" + "；".join(notes),
            en=f"sessions are kept by {driver.describe_auth('en')} and the sample declares no state-changing operation "
            "a third-party page could trigger (all are signed, unsafe or password operations): "
            + "; ".join(en for _, en in not_sent),
        )
    s = driver.session(accts[0])
    names = cookie_names(s)
    if not names:
        not_applicable(
            f"登录未设置任何 Cookie，会话以{driver.describe_auth()}维持，浏览器不会自动携带，不涉及跨站请求伪造",
            en=f"the login sets no cookie and sessions are kept by {driver.describe_auth('en')}, which a browser "
            "does not send by itself: cross-site request forgery does not apply",
        )
    probe = probe_operation(driver)
    genuine, genuine_ok = read_with(driver, s, "对照：正常会话读取", probe)
    if not genuine_ok:
        raise DriverError(f"a genuine session cannot use {probe!r} ({genuine.status_code})")
    _browser_call(driver, probe, s.same_site(), {})
    cookie_read, cookie_ok = read_with(driver, s.same_site(), "仅以 Cookie 读取（浏览器同站请求）", probe)
    if not cookie_ok:
        not_applicable(
            f"登录设置的 Cookie（{'、'.join(names)}）单独不能认证请求"
            f"（{probe} 仅带 Cookie 时应答 {cookie_read.status_code}），"
            f"会话以{driver.describe_auth()}维持，不涉及跨站请求伪造",
            en=f"the cookies the login sets ({', '.join(names)}) do not authenticate a request by themselves "
            f"({probe} with cookies only answered {cookie_read.status_code}) and sessions are kept by "
            f"{driver.describe_auth('en')}: cross-site request forgery does not apply",
        )
    anon, anon_ok = read_with(driver, s.without_credentials(), "对照：不带凭证读取", probe)
    if anon_ok:
        raise DriverError(
            f"{probe!r} also succeeds without credentials: it cannot show that the cookies authenticate",
            zh=f"操作 {probe} 不带凭证也成功，无法确认 Cookie 是否承载会话",
        )
    cookies_zh, cookies_en = cookie_description(s)
    evidence.observe(
        f"会话以 Cookie 维持：仅带登录设置的 Cookie 即可读取 {probe}（{cookies_zh}），"
        f"不带凭证被拒绝（{anon.status_code}）",
        en=f"the session rides on cookies: {probe} reads with the login's cookies alone ({cookies_en}), "
        f"and is refused without credentials ({anon.status_code})",
    )
    rows: list[dict[str, Any]] = []
    judge = Judge(driver, s, rows, notes)
    judged = 0
    for name, info in targets:
        try:
            done = judge.delete(name) if info.kind == "delete" else judge.write(name, info.kind)
        except DriverError as e:
            notes.append(f"{name}：无法执行（{e}）")
            continue
        judged += int(done)
    evidence.attach_json("跨站请求伪造尝试", {"会话 Cookie": cookies_zh, "尝试": rows, "说明": notes})
    if judged == 0:
        raise DriverError("no state-changing operation could be judged: " + "; ".join(notes))
    breaches = judge.breaches
    evidence.observe(
        f"以第三方来源、仅带 Cookie、不带防跨站令牌发送 {judged} 个改变状态的操作（对照：同站带令牌请求均生效）："
        + (f"{len(breaches)} 个生效：{'；'.join(z for z, _ in breaches)}" if breaches else "均未生效")
        + (f"；另有 {len(notes)} 项未发送或未判定（见证据）" if notes else ""),
        en=f"{judged} state-changing operations sent from a third-party origin with cookies only and no anti-CSRF "
        f"token (control: the same-site requests with the token worked): "
        + (f"{len(breaches)} took effect ({'; '.join(e for _, e in breaches)})" if breaches else "none took effect")
        + (f"; {len(notes)} not sent or not judged (see evidence)" if notes else ""),
    )
    assert not breaches, "; ".join(e for _, e in breaches)
