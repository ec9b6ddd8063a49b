"""JR/T 0199-2020 chapter 5 交易安全: horizontal privilege, judged by what was addressed and what
came back (harness.checks.authorization), on every declared operation:

- reads whose request names an account's things (an account number, a user ID, a wallet ID):
  account A asks, with A's own genuine session, for B's; a breach is B's data in the answer;
- transfers out of B's account with A's session: a breach is B's money moving;
- the declared object kinds: B creates a fresh one, A updates and deletes it by its ID; a breach is
  B's object changed or gone when B looks;
- authenticated reads asked with no credential at all: a breach is A's data in the answer.

An operation whose request names no such identifier is session-scoped and is not judged as reaching
another account (listed as such in the evidence).
"""

import secrets

import pytest

from harness.checks.answers import brief
from harness.checks.authorization import judge_read, leaves, markers, text_of
from harness.checks.transaction import TRANSFER, decimals_of, money, send_transfer
from harness.drivers import DriverError
from harness.drivers.base import payee_fields
from harness.suite_support import accounts, balance


def _cross_fields(addressed, theirs):
    vals = theirs.known()
    if theirs.account_id:
        vals.setdefault("from_account", theirs.account_id)
    return {f: vals[f] for f in addressed if f in vals}


def _reads(driver, a, b, sa, sb, ids, rows, breaches, notes, owns):
    for name, info in driver.operations().items():
        if info.kind != "read" or not info.auth or info.unsafe:
            continue
        addressed = [f for f in info.path_inputs if f in ids]
        unfilled = [f for f in info.inputs if f not in sa.values and f not in ("from_account", "account_id")]
        if unfilled:
            # Its object is not one an account holds (a bill made later): the object kinds judge it.
            notes.append(f"{name}：需要账户未持有的值 {', '.join(unfilled)}，由对象类别判定")
            continue
        own_a = driver.call(name, sa)
        if not driver.succeeded(name, own_a):
            notes.append(f"{name}：{a.name} 读取本人数据未成功（{own_a.status_code}），无法判定")
            continue
        owns[name] = own_a
        if not addressed:
            notes.append(f"{name}：请求不含账户或对象标识，为会话范围操作，不作越权判定")
            continue
        fields = _cross_fields(addressed, b)
        if len(fields) < len(addressed):
            notes.append(f"{name}：{b.name} 未声明 {', '.join(f for f in addressed if f not in fields)}，无法构造")
            continue
        own_b = driver.call(name, sb)
        if not driver.succeeded(name, own_b):
            notes.append(f"{name}：{b.name} 读取本人数据未成功（{own_b.status_code}），无法判定")
            continue
        their = markers(own_b, [own_a], b.known())
        # All of B's identifiers at once, and each alone with A's own others: a product that checks
        # the account named in the URL but not the object under it is caught by the second kind.
        variants = [fields] + ([{f: v} for f, v in fields.items()] if len(fields) > 1 else [])
        for variant in variants:
            cross = driver.send(
                driver.prepare(name, sa, **variant), sa, note=f"{a.name} 以本人会话请求 {b.name} 的 {name}"
            )
            r = judge_read(cross, driver.succeeded(name, cross), own_b, their, [str(v) for v in variant.values()])
            rows.append({"操作": name, "指向": variant, "应答": brief(cross), "判定": r.why_zh()})
            if r.breach:
                breaches.append(
                    (f"{a.name} 读取 {b.name} 的 {name}（{r.why_zh()}）", f"{a.name} read {b.name}'s {name}")
                )


def _anonymous(driver, a, sa, rows, breaches, owns):
    anon = sa.without_credentials()
    for name, own in owns.items():
        resp = driver.send(driver.prepare(name, anon), anon, note=f"不带凭证请求 {name}")
        mine = markers(own, [], a.known())
        r = judge_read(resp, driver.succeeded(name, resp), own, mine, [])
        rows.append({"操作": name, "指向": "不带凭证", "应答": brief(resp), "判定": r.why_zh()})
        if r.breach:
            breaches.append(
                (f"不带凭证即可读取 {a.name} 的 {name}", f"{name} answered {a.name}'s data without credentials")
            )


def _transfer(driver, params, a, b, sa, sb, rows, breaches, notes):
    if not driver.has(TRANSFER) or not driver.has("account"):
        return
    info = driver.info(TRANSFER)
    if "from_account" not in info.inputs or not b.account_id:
        notes.append("转账请求不含付款账户（由会话决定），从他人账户转出不适用")
        return
    amount = money(1, decimals_of(params))
    before = balance(driver, sb, f"{b.name} 自己查询余额（越权转出前）")
    call = driver.prepare(TRANSFER, sa, **{**payee_fields(a), "from_account": b.account_id, "amount": amount})
    if b.account_id not in call.text():
        notes.append("转账请求未能指向他人账户")
        return
    resp = send_transfer(driver, call, sa, f"{a.name} 从 {b.name} 的账户转出", b, amount)
    after = balance(driver, sb, f"{b.name} 自己查询余额（越权转出后）")
    rows.append(
        {
            "操作": TRANSFER,
            "指向": {"from_account": b.account_id},
            "应答": brief(resp),
            "判定": f"{b.name} 余额 {before}→{after}",
        }
    )
    if after != before:
        breaches.append(
            (f"{a.name} 从 {b.name} 的账户转出，{b.name} 余额 {before}→{after}", f"{a.name} moved {b.name}'s money")
        )


def _objects(driver, a, b, sa, sb, ids, rows, breaches, notes):
    """B's objects, changed or deleted by A naming them. A fresh one when the kind can be created
    (so deleting it costs nothing); otherwise the one B already holds (its ID is one of B's values),
    which A then only tries to change. A names B's object by its ID alone (A's own values fill the
    rest of the address: a product that checks the parent named in the URL but not the object
    under it) and by B's whole address (B's parent IDs too: a product that checks nothing). Where
    the client chooses IDs, A also creates an object under the ID of one B holds."""
    for kind, obj in driver.objects().items():
        if not obj.read:
            notes.append(f"对象 {kind}：未声明读取操作，修改与删除越权不作判定")
            continue
        _create_over(driver, kind, obj, a, b, sa, sb, ids, rows, breaches, notes)
        fresh = obj.create is not None
        if fresh:
            made = driver.call(obj.create, sb, **_fields(obj, b))
            if not driver.succeeded(obj.create, made):
                notes.append(f"对象 {kind}：{b.name} 创建未成功（{made.status_code}），无法判定")
                continue
            try:
                oid = driver.returned(made, obj.create, obj.id)
            except DriverError:
                oid = sb.values.get(obj.id)
        else:
            oid = sb.values.get(obj.id)
        if oid in (None, ""):
            notes.append(f"对象 {kind}：{b.name} 没有可指向的 {obj.id}")
            continue
        key = {obj.id: oid}
        seen = driver.call(obj.read, sb, **key)
        if not driver.succeeded(obj.read, seen):
            notes.append(f"对象 {kind}：{b.name} 读取本人对象未成功（{seen.status_code}）")
            continue
        if obj.update:
            for variant in _addresses(driver, obj.update, key, b, ids):
                call = driver.prepare(obj.update, sa, **{**_fields(obj, a), **variant})
                resp = driver.send(call, sa, note=f"{a.name} 修改 {b.name} 的 {kind}")
                again = driver.call(obj.read, sb, **key)
                # Changed by A: gone from B's view, or carrying a value A sent that it did not hold
                # (volatile fields such as timestamps change by themselves and prove nothing).
                sent = _sent(call)
                before, now = text_of(seen), text_of(again)
                changed = not driver.succeeded(obj.read, again) or any(v in now and v not in before for v in sent)
                verdict = "对方对象被改变" if changed else "对方对象未变"
                rows.append({"操作": obj.update, "指向": variant, "应答": brief(resp), "判定": verdict})
                if changed:
                    breaches.append((f"{a.name} 修改了 {b.name} 的 {kind}", f"{a.name} changed {b.name}'s {kind}"))
                    break
                seen = again
        if obj.delete and fresh:
            gone = False
            for variant in _addresses(driver, obj.delete, key, b, ids):
                resp = driver.send(
                    driver.prepare(obj.delete, sa, **variant), sa, note=f"{a.name} 删除 {b.name} 的 {kind}"
                )
                after = driver.call(obj.read, sb, **key)
                gone = not driver.succeeded(obj.read, after)
                verdict = "对方对象已被删除" if gone else "对方对象仍在"
                rows.append({"操作": obj.delete, "指向": variant, "应答": brief(resp), "判定": verdict})
                if gone:
                    breaches.append((f"{a.name} 删除了 {b.name} 的 {kind}", f"{a.name} deleted {b.name}'s {kind}"))
                    break
            if not gone:
                driver.call(obj.delete, sb, **key)  # tidy up: B removes its own object
        elif obj.delete:
            notes.append(f"对象 {kind}：不可新建，为免毁坏 {b.name} 的既有对象，不尝试删除")


def _addresses(driver, operation, key, b, ids):
    """The ways A names B's object in ``operation``: its ID alone, then with B's own parent IDs."""
    parents = _cross_fields([f for f in driver.info(operation).path_inputs if f in ids and f not in key], b)
    return [key] + ([{**parents, **key}] if parents else [])


def _sent(call):
    """The values a request carries that a read-back could show (nested bodies included)."""
    return [v for v in leaves(call.body_values()) if len(v) >= 3]


def _create_over(driver, kind, obj, a, b, sa, sb, ids, rows, breaches, notes):
    """Where the client chooses an object's ID: A creates one under the ID of an object B holds.
    A breach is B's object in A's answer (values only B's own read of it shows, and not what A
    sent), or B's object changed."""
    if not obj.create or obj.id not in driver.info(obj.create).path_inputs:
        return
    oid = sb.values.get(obj.id)
    if oid in (None, ""):
        notes.append(f"对象 {kind}：{b.name} 未持有可指向的 {obj.id}，以他人标识新建不作判定")
        return
    key = {obj.id: oid}
    seen = driver.call(obj.read, sb, **key)
    if not driver.succeeded(obj.read, seen):
        notes.append(f"对象 {kind}：{b.name} 读取本人对象未成功（{seen.status_code}）")
        return
    mine = [driver.call(obj.read, sa, **{obj.id: sa.values[obj.id]})] if sa.values.get(obj.id) else []
    theirs = markers(seen, mine, b.known())
    for variant in _addresses(driver, obj.create, key, b, ids):
        call = driver.prepare(obj.create, sa, **{**_fields(obj, a), **variant})
        resp = driver.send(call, sa, note=f"{a.name} 以 {b.name} 的 {obj.id} 新建 {kind}")
        sent = _sent(call)
        hide = [*sent, *(str(v) for v in variant.values())]
        shown = sorted(m for m in theirs if m in text_of(resp) and not any(m in h or h in m for h in hide))
        again = driver.call(obj.read, sb, **key)
        before, now = text_of(seen), text_of(again)
        changed = not driver.succeeded(obj.read, again) or any(v in now and v not in before for v in sent)
        verdict = (
            f"应答含对方对象的数据 {len(shown)} 项"
            if shown
            else ("对方对象被改变" if changed else "应答不含对方数据，对方对象未变")
        )
        rows.append({"操作": obj.create, "指向": variant, "应答": brief(resp), "判定": verdict})
        if shown or changed:
            what = "取得" if shown else "改变了"
            breaches.append(
                (
                    f"{a.name} 以 {b.name} 的 {obj.id} 新建 {kind}，{what} {b.name} 的对象",
                    f"{a.name} created a {kind} under {b.name}'s {obj.id} and "
                    + ("got" if shown else "changed")
                    + f" {b.name}'s object",
                )
            )
            return


def _fields(obj, acct):
    """The kind's call fields for this account; ``{random}`` is new for each object (a client-chosen
    ID that must not collide with one the account holds)."""
    vals = {**acct.known(), "random": secrets.token_hex(4)}
    out = {}
    for k, v in obj.fields.items():
        try:
            out[k] = v.format(**vals) if "{" in v else v
        except (KeyError, IndexError, ValueError):
            out[k] = v
    return out


@pytest.mark.clause("5.txn.authorization")
def test_other_accounts_things_are_off_limits(driver, params, evidence):
    a, b = accounts(driver, 2)
    sa, sb = driver.session(a), driver.session(b)
    ids = driver.object_ids()
    rows, breaches, notes, owns = [], [], [], {}
    _reads(driver, a, b, sa, sb, ids, rows, breaches, notes, owns)
    _transfer(driver, params, a, b, sa, sb, rows, breaches, notes)
    _objects(driver, a, b, sa, sb, ids, rows, breaches, notes)
    _anonymous(driver, a, sa, rows, breaches, owns)
    evidence.attach_json("越权访问尝试", {"标识字段": sorted(ids), "尝试": rows, "说明": notes})
    judged = len(rows)
    evidence.observe(
        f"以 {a.name} 的本人会话对 {b.name} 的账户与对象、以及不带凭证对需认证操作共尝试 {judged} 项，"
        + (
            f"越权成功 {len(breaches)} 项：{'；'.join(z for z, _ in breaches[:4])}"
            if breaches
            else "均未取得他人数据或改变他人对象"
        )
        + (f"；{len(notes)} 项未判定（见证据）" if notes else ""),
        en=f"{judged} attempts with {a.name}'s own session on {b.name}'s accounts and objects, and without "
        f"credentials on authenticated operations: "
        + (
            f"{len(breaches)} succeeded ({'; '.join(e for _, e in breaches[:4])})"
            if breaches
            else "none reached another account's data or changed it"
        )
        + (f"; {len(notes)} not judged (see evidence)" if notes else ""),
    )
    if not rows:
        raise DriverError("no operation addresses an account's things and none could be judged: " + "; ".join(notes))
    assert not breaches, "; ".join(e for _, e in breaches)
