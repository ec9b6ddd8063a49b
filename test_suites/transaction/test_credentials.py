"""JR/T 0199-2020 chapter 5 交易安全: password change and reset require the owner
(5.auth.credential-change).

The spec says which declared operation changes a password, asks for a reset, or resets one
(``role``). Whether a password changed is judged by logging in, never by the answer:

- control: the owner's change (with the current password) must work: the new password logs in,
  the old one no longer does, or nothing the check does can be judged;
- the same change without the current password, and with a wrong one, must leave it unchanged;
- a change that names an account (its number, its user ID) sent with one account's own session and
  proof for another account must leave the other's unchanged;
- a reset request's answer must not carry the reset code: no value from it may reset the password
  (tried when the reset itself is declared), and no field named like a reset code may carry a value;
  a reset with an invented code must change nothing. The genuine reset cannot be a control (its code
  goes out of band): the observation says so.

Fresh accounts made through the product's API are used where it documents how; otherwise the
ordinary accounts, whose passwords are set back at the end.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks.credentials import (
    Keeper,
    code_candidates,
    fresh_password,
    named_codes,
    strip_values,
    wrong_password,
)
from harness.checks.mass_assignment import identifier_names
from harness.checks.transaction import brief
from harness.drivers import DriverError
from harness.policy import setting
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable


def _accounts(driver: Any) -> tuple[list[Any], bool]:
    """Two accounts the check may change: fresh ones where the product makes them, else the first
    two ordinary ones (restored at the end)."""
    first = driver.fresh_account("credential-change")
    if first is not None:
        second = driver.fresh_account("credential-change")
        return [a for a in (first, second) if a is not None], True
    ordinary = usable_accounts(driver)
    if not ordinary:
        not_applicable("样品未声明普通测试账户", en="the sample declares no ordinary test account")
    return ordinary[:2], False


class Run:
    def __init__(self, driver: Any, keeper: Keeper, min_length: int | None) -> None:
        self.driver, self.keeper, self.min_length = driver, keeper, min_length
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.breaches: list[tuple[str, str]] = []

    def row(self, what: str, resp: Any, changed: bool) -> None:
        self.rows.append(
            {"尝试": what, "应答": brief(resp), "口令是否改变（以登录判定）": "已改变" if changed else "未改变"}
        )

    def change(self, op: str, a: str, b: str | None) -> None:
        d, k = self.driver, self.keeper
        info = d.info(op)
        if "new_password" not in info.inputs:
            raise DriverError(f"{op}: the password-change operation names no {{new_password}} in its request")
        # Control: the owner's own change, with its current password.
        new = fresh_password(self.min_length)
        resp = d.call(op, k.session(a), password=k.current[a], new_password=new)
        if not k.changed(a, new):
            raise DriverError(
                f"{op}: the owner's own change (with the current password) did not change it ({resp.status_code})",
                zh=f"本人携带原口令修改口令（{op}）未生效（应答 {resp.status_code}），无法判定",
            )
        self.row(f"对照：{a} 本人携带原口令修改", resp, True)
        if "password" not in info.inputs:
            self.breach(f"{op} 的请求不含原口令，仅凭会话即可修改口令", f"{op} changes a password with no proof")
        else:
            self.no_proof(op, a)
            self.wrong_proof(op, a)
        if b is not None:
            self.other_account(op, a, b)

    def no_proof(self, op: str, a: str) -> None:
        d, k = self.driver, self.keeper
        new = fresh_password(self.min_length)
        call, removed = strip_values(
            d.prepare(op, k.session(a), password=k.current[a], new_password=new), {k.current[a]}
        )
        resp = d.send(call, k.session(a), note=f"{a} 修改口令，不带原口令（去掉 {', '.join(removed)}）")
        changed = k.changed(a, new)
        self.row(f"{a} 修改口令，不带原口令", resp, changed)
        if changed:
            self.breach("不带原口令即可修改口令", f"{op} changed the password without the current password")

    def wrong_proof(self, op: str, a: str) -> None:
        d, k = self.driver, self.keeper
        new = fresh_password(self.min_length)
        resp = d.call(op, k.session(a), password=wrong_password(k.current[a]), new_password=new)
        changed = k.changed(a, new)
        self.row(f"{a} 修改口令，携带错误的原口令", resp, changed)
        if changed:
            self.breach("携带错误的原口令即可修改口令", f"{op} changed the password with a wrong current password")

    def other_account(self, op: str, a: str, b: str) -> None:
        d, k = self.driver, self.keeper
        info = d.info(op)
        ids = identifier_names({*d.object_ids(), "username", "account_id"}) - {"password", "new_password"}
        aimed = [f for f in info.inputs if f in ids]
        theirs = k.account(b).known()
        fields = {f: theirs[f] for f in aimed if theirs.get(f)}
        if not aimed or len(fields) < len(aimed):
            self.notes.append(f"{op}：请求不指向账户（会话范围），以他人标识修改不适用")
            return
        new = fresh_password(self.min_length)
        sa = k.session(a)
        call = d.prepare(op, sa, password=k.current[a], new_password=new, **fields)
        resp = d.send(call, sa, note=f"{a} 以本人会话与本人口令修改 {b} 的口令")
        changed = k.changed(b, new)
        self.row(f"{a} 以本人会话修改 {b} 的口令（请求指向 {fields}）", resp, changed)
        if changed:
            self.breach(f"{a} 修改了 {b} 的口令", f"{op}: one account changed another's password")

    def reset(self, request: str | None, reset: str | None, victim: str) -> None:
        d, k = self.driver, self.keeper
        theirs = k.account(victim).known()
        if request is not None:
            info = d.info(request)
            s = k.session(next(n for n in k.accounts if n != victim)) if info.auth and len(k.accounts) > 1 else None
            if info.auth and s is None:
                s = k.session(victim)
            sent = {str(v) for v in theirs.values()}
            resp = d.call(request, s, **{f: v for f, v in theirs.items() if f != "password"})
            self.rows.append({"尝试": f"为 {victim} 申请重置口令", "应答": brief(resp)})
            try:
                answer: Any = resp.json()
            except ValueError:
                answer = resp.text
            named = named_codes(answer)
            if named:
                self.breach(
                    f"重置申请的应答含验证码类字段（{', '.join(named)}，值已隐去）",
                    f"{request}'s answer carries reset-code fields ({', '.join(named)})",
                )
            if reset is not None:
                for code in code_candidates(answer, sent):
                    new = fresh_password(self.min_length)
                    r = d.call(
                        reset, None if not d.info(reset).auth else s, reset_code=code, new_password=new, **theirs
                    )
                    changed = k.changed(victim, new)
                    self.row(f"以重置申请应答中的值作为验证码重置 {victim} 的口令", r, changed)
                    if changed:
                        self.breach(
                            "重置申请的应答含可用的重置验证码",
                            f"{request}'s answer carried a working reset code",
                        )
                        break
        if reset is not None:
            new = fresh_password(self.min_length)
            info = d.info(reset)
            s = k.session(victim) if info.auth else None
            r = d.call(reset, s, reset_code=fresh_password(None)[4:12], new_password=new, **theirs)
            changed = k.changed(victim, new)
            self.row(f"以编造的验证码重置 {victim} 的口令", r, changed)
            if changed:
                self.breach("以编造的验证码即可重置口令", f"{reset} reset a password with an invented code")
        self.notes.append("真实的重置验证码经短信或邮件等带外渠道发送，实验室无法取得，重置流程无正向对照")

    def breach(self, zh: str, en: str) -> None:
        self.breaches.append((zh, en))

    def restore(self, op: str | None) -> list[str]:
        """Set declared accounts' passwords back through their own change (with the current one)."""
        problems = []
        for name, original in self.keeper.original.items():
            if self.keeper.current[name] == original:
                continue
            if op is None:
                problems.append(name)
                continue
            k = self.keeper
            self.driver.call(op, k.session(name), password=k.current[name], new_password=original)
            if k.works(name, original, f"{name} 恢复后以原口令登录"):
                k.current[name] = original
            else:
                problems.append(name)
        return problems


@pytest.mark.clause("5.auth.credential-change")
def test_password_change_and_reset_require_the_owner(driver, params, evidence):
    roles: dict[str, str] = {}
    for name, info in driver.operations().items():
        if info.role:
            roles.setdefault(info.role, name)
    if not roles:
        not_applicable(
            "样品未声明修改或重置口令的操作（规格中以 role 标明），不涉及",
            en="the sample declares no operation that changes or resets a password (marked by role in the spec): "
            "does not apply",
        )
    accts, fresh = _accounts(driver)
    keeper = Keeper(driver)
    if not driver.can_login():
        from harness.checks.sessions import probe_operation

        keeper.probe = probe_operation(driver)
    for a in accts:
        keeper.add(a)
    names = [a.name for a in accts]
    run = Run(driver, keeper, setting(params, "password_min_length").value)
    change = roles.get("password-change")
    try:
        if change is not None:
            run.change(change, names[0], names[1] if len(names) > 1 else None)
        if "password-reset-request" in roles or "password-reset" in roles:
            run.reset(roles.get("password-reset-request"), roles.get("password-reset"), names[-1])
    finally:
        unrestored = [] if fresh else run.restore(change)
    how = f"经样品接口新开立的测试账户 {'、'.join(names)}"
    if not fresh:
        how = f"普通测试账户 {'、'.join(names)}（结束后恢复原口令）"
    evidence.attach_json("口令修改与重置尝试", {"账户": how, "尝试": run.rows, "说明": run.notes})
    evidence.observe(
        f"以{how}尝试 {len(run.rows)} 次口令修改或重置（对照：本人携带原口令修改生效），"
        "以登录判定口令是否改变："
        + ("；".join(z for z, _ in run.breaches) if run.breaches else "未经本人验证的修改与重置均未生效")
        + (f"；{'；'.join(run.notes)}" if run.notes else ""),
        en=f"{len(run.rows)} password changes or resets tried on {', '.join(names)} (control: the owner's change "
        f"with the current password worked), judged by logging in: "
        + ("; ".join(e for _, e in run.breaches) if run.breaches else "none without the owner's proof took effect")
        + (
            "; the genuine reset code goes out of band, so the reset flow has no positive control"
            if "password-reset" in roles or "password-reset-request" in roles
            else ""
        ),
    )
    if unrestored:
        evidence.observe(
            f"未能恢复以下账户的原口令：{'、'.join(unrestored)}（当前口令见证据）",
            en=f"could not set back the passwords of {', '.join(unrestored)}",
        )
        evidence.attach_json("未恢复的账户口令", {n: keeper.current[n] for n in unrestored})
        if not run.breaches:
            raise DriverError(f"the passwords of {', '.join(unrestored)} could not be set back")
    assert not run.breaches, "; ".join(e for _, e in run.breaches)
