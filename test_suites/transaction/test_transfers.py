"""JR/T 0199-2020 chapter 5 交易安全: message integrity, horizontal privilege, amount validation,
concurrency and idempotency of signed transfers.

Each check reads fresh balances at its start, moves small amounts, shows that a correct request is
accepted under the same conditions (so a refusal is attributable), and leaves balances as usable
as it found them (the concurrency check returns what a broken sample let it overdraw).
"""

from decimal import Decimal

import pytest

from harness.checks.transaction import (
    LEDGER,
    TRANSFER,
    brief,
    decimals_of,
    decoy,
    ledger_key,
    money,
    move_funds,
    send_parallel,
    send_transfer,
    shown,
    sign_over,
    transfer,
    transfer_call,
    unit,
)
from harness.drivers import DriverError
from harness.suite_support import accepted, accounts, balance, require_operations
from harness.verdicts import not_applicable


def _amount(params, whole):
    return money(whole, decimals_of(params))


@pytest.mark.clause("5.txn.tamper")
def test_tampered_signed_fields_are_rejected(driver, spec, params, evidence):
    """For each field the declared signature covers: (1) a request whose signature was made over a
    different value of that field (= the original signature kept, the field changed); (2) a
    signature over every declared field except that one; and (3) one over the nonce and timestamp
    alone. Every body sent is otherwise a valid transfer, so only the signature can refuse it."""
    require_operations(driver, TRANSFER, "account")
    signing = driver.signing()
    if signing is None:
        not_applicable("样品未声明交易签名方案", en="the sample declares no transaction signing scheme")
    payer, payee = accounts(driver, 2)
    s = driver.session(payer)
    key = driver.signing_key(s)
    ids = sorted({v for a in driver.accounts() for k, v in a.known().items() if k in ("account_id", "username")})
    amount = _amount(params, 1)
    before = balance(driver, s, "篡改前余额")

    tries = []  # (description zh, description en, call)
    for name in signing.fields:
        call = transfer_call(driver, s, payee, amount)
        body = call.body_values()
        if name not in body:
            continue
        other = decoy(body[name], ids)
        sig = sign_over(driver, key, {**body, name: other}, signing.fields)
        signed, sent = f"{name}={shown(other)}", shown(body[name])
        tries.append(
            (
                f"签名时 {signed}，发送时改为 {sent}（保留原签名）",
                f"signed with {signed}, sent with {sent} (original signature kept)",
                driver.with_signature(call, sig),
            )
        )
    subsets = [[f for f in signing.fields if f != name] for name in signing.fields]
    subsets.append([])
    for fields in {tuple(x): x for x in subsets}.values():
        call = transfer_call(driver, s, payee, amount)
        sig = sign_over(driver, key, call.body_values(), fields)
        left_out = ", ".join(f for f in signing.fields if f not in fields)
        covered = ", ".join(x for x in [*fields, signing.nonce_field, signing.timestamp_field] if x)
        tries.append(
            (
                f"签名只覆盖 {covered or '（无字段）'}，未覆盖 {left_out}",
                f"signature over {covered or 'no field'} only, not over {left_out}",
                driver.with_signature(call, sig),
            )
        )
    if not tries:
        raise DriverError(f"none of the signed fields {signing.fields} is in the transfer request the spec declares")

    rows, passed = [], []
    for what, what_en, call in tries:
        resp = send_transfer(driver, call, s, f"篡改：{what}", payer, amount)
        rows.append({"篡改方式": what, "应答": brief(resp)})
        if accepted(driver, TRANSFER, resp):
            passed.append((what, what_en))
    after = balance(driver, s, "篡改后余额")
    control = transfer(driver, s, payee, amount, "正确签名转账（对照）")
    evidence.attach_json("签名篡改尝试", {"签名覆盖字段": signing.fields, "尝试": rows})
    evidence.observe(
        f"{len(tries)} 笔篡改或签名覆盖不全的转账中被接受 {len(passed)} 笔"
        + (f"（{'；'.join(w for w, _ in passed)}）" if passed else "")
        + f"，付款账户余额 {before}→{after}；正确签名的同类转账应答 {control.status_code}",
        en=f"{len(passed)} of {len(tries)} transfers with a tampered or incompletely signed body were accepted"
        + (f" ({'; '.join(w for _, w in passed)})" if passed else "")
        + f"; payer's balance {before} -> {after}; a correctly signed transfer of the same kind answered "
        f"{control.status_code}",
    )
    assert not passed, (
        f"transfers with a signature not covering the sent values were accepted: {'; '.join(w for _, w in passed)}"
    )
    assert after == before, f"refused tampered transfers moved money: {before} -> {after}"
    if not accepted(driver, TRANSFER, control):
        raise DriverError(f"a correctly signed transfer was refused too ({brief(control)}): refusals not attributable")


@pytest.mark.clause("5.txn.amount")
def test_invalid_amounts_are_refused(driver, spec, params, evidence):
    """Zero, negative, huge (overflow) and over-precise amounts: refused, balances unchanged."""
    require_operations(driver, TRANSFER, "account")
    payer, payee = accounts(driver, 2)
    sp, sq = driver.session(payer), driver.session(payee)
    d = decimals_of(params)
    u = unit(d)
    p_before = balance(driver, sp, "付款方余额（前）")
    q_before = balance(driver, sq, "收款方余额（前）")
    if p_before < 2:
        not_applicable(
            f"付款测试账户余额 {p_before} 不足以进行金额校验对照转账",
            en=f"the paying test account's balance {p_before} is too small for the control transfers of amount "
            "validation",
        )
    bad = [
        ("零", "zero", money(0, d)),
        ("负数", "negative", -money(1, d)),
        ("最小负数", "smallest negative", -u),
        ("超大金额", "huge", Decimal(10**20) - u),
        ("64 位整数溢出", "64-bit integer overflow", Decimal(2**63).scaleb(-d)),
        (f"超过声明精度（{d} 位小数）", f"more precise than declared ({d} decimals)", Decimal(1) + u / 10),
    ]
    rows, passed = [], []
    for what, what_en, amount in bad:
        resp = transfer(driver, sp, payee, amount, f"非法金额：{what} {amount}")
        rows.append({"金额": f"{what} {amount}", "应答": brief(resp)})
        if accepted(driver, TRANSFER, resp):
            passed.append((f"{what} {amount}", f"{what_en} {amount}"))
    p_after = balance(driver, sp, "付款方余额（后）")
    q_after = balance(driver, sq, "收款方余额（后）")
    control = transfer(driver, sp, payee, money(1, d), "合法金额转账（对照）")
    evidence.attach_json("非法金额转账", rows)
    evidence.observe(
        f"{len(bad)} 笔非法金额转账中被接受 {len(passed)} 笔"
        + (f"（{'、'.join(w for w, _ in passed)}）" if passed else "")
        + f"；付款方余额 {p_before}→{p_after}，收款方余额 {q_before}→{q_after}；"
        f"合法金额对照转账应答 {control.status_code}",
        en=f"{len(passed)} of {len(bad)} transfers of invalid amounts were accepted"
        + (f" ({'; '.join(w for _, w in passed)})" if passed else "")
        + f"; payer's balance {p_before} -> {p_after}, payee's {q_before} -> {q_after}; a valid amount "
        f"(control) answered {control.status_code}",
    )
    assert not passed, f"invalid amounts were accepted: {'; '.join(w for _, w in passed)}"
    assert (p_after, q_after) == (p_before, q_before), (
        f"refused invalid amounts moved money: payer {p_before} -> {p_after}, payee {q_before} -> {q_after}"
    )
    if not accepted(driver, TRANSFER, control):
        raise DriverError(f"a valid amount was refused too ({brief(control)}): refusals not attributable")


@pytest.mark.clause("5.txn.concurrency")
def test_parallel_transfers_never_overdraw(driver, spec, params, evidence):
    """N transfers from one account fired at once, each payable alone, together more than the
    balance: the balance never goes negative and moves by exactly the accepted ones. What a broken
    sample let through is sent back afterwards so later checks start from sane balances."""
    require_operations(driver, TRANSFER, "account")
    a, b = accounts(driver, 2)
    sa, sb = driver.session(a), driver.session(b)
    d = decimals_of(params)
    per_tx = params.limits.per_transaction if params.limits is not None else None
    bal = {a.name: balance(driver, sa, "并发前余额"), b.name: balance(driver, sb, "并发前余额")}
    # The poorer positive account pays: smaller amounts, the same proof.
    order = sorted([(sa, sb), (sb, sa)], key=lambda p: (bal[p[0].account.name] <= 0, bal[p[0].account.name]))
    sp, sq = order[0]
    start, q_start = bal[sp.account.name], bal[sq.account.name]
    u = unit(d)
    if start < 2 * u:
        not_applicable(
            f"测试账户余额（{start}）不足以构造并发透支场景",
            en=f"the test account's balance ({start}) is too small to set up a concurrent overdraft",
        )
    amount = money(start / 2, d) + u if per_tx is None else min(per_tx, money(start / 2, d) + u)
    fits = int(start // amount)  # how many the balance can pay
    n = max(fits + 2, 5)
    if n > 20:
        not_applicable(
            f"单笔限额 {per_tx} 远小于余额 {start}，并发笔数过多",
            en=f"the per-transaction limit {per_tx} is far below the balance {start}: too many concurrent transfers "
            "would be needed",
        )
    calls = [transfer_call(driver, sp, sq.account, amount) for _ in range(n)]
    key = ledger_key(driver)

    def book(resp):
        if accepted(driver, TRANSFER, resp):
            LEDGER.add(key, sp.account.name, amount)

    warm = driver.prepare("account", sp)
    answers = send_parallel(driver, calls, sp, f"并发转账 {amount}", book, warm)
    errors = [x for x in answers if isinstance(x, BaseException)]
    if errors:
        raise DriverError(f"{len(errors)} parallel sends failed: {errors[0]}")
    ok = sum(1 for r in answers if accepted(driver, TRANSFER, r))
    end = balance(driver, sp, "并发后付款方余额")
    q_end = balance(driver, sq, "并发后收款方余额")
    returned = Decimal(0)
    if ok > fits:  # a broken sample: give back what it let through (not part of the verdict)
        owed = ok * amount - fits * amount
        returned = move_funds(driver, sq, sp.account, owed, per_tx or owed, "归还透支金额")
    evidence.attach_json(
        "并发转账",
        {
            "付款账户": sp.account.name,
            "并发前余额": str(start),
            "每笔金额": str(amount),
            "并发笔数": n,
            "余额最多可支付笔数": fits,
            "被接受笔数": ok,
            "应答": [brief(r) for r in answers if not isinstance(r, BaseException)],
            "并发后付款方余额": str(end),
            "并发后收款方余额": str(q_end),
            "事后归还": str(returned),
        },
    )
    evidence.observe(
        f"{sp.account.name} 余额 {start}，并发 {n} 笔每笔 {amount}（合计 {n * amount}），"
        f"接受 {ok} 笔，余额变为 {end}（收款方 {q_start}→{q_end}）"
        + (f"；事后归还多转出的 {returned}（不计入判定）" if returned else ""),
        en=f"{sp.account.name}'s balance {start}; {n} parallel transfers of {amount} each (together {n * amount}): "
        f"{ok} accepted, balance now {end} (payee {q_start} -> {q_end})"
        + (f"; {returned} overdrawn was returned afterwards (not part of the verdict)" if returned else ""),
    )
    if ok == 0:
        raise DriverError("none of the parallel transfers was accepted: concurrency was not exercised")
    assert end >= 0, f"parallel transfers overdrew the account: {start} -> {end} ({ok} of {n} accepted)"
    assert ok <= fits, f"{ok} transfers of {amount} were accepted from a balance of {start}"
    assert end == start - ok * amount, f"balance {start} -> {end} does not match {ok} accepted transfers of {amount}"
    assert q_end == q_start + ok * amount, f"payee {q_start} -> {q_end} does not match {ok} x {amount}"


@pytest.mark.clause("5.txn.idempotency")
def test_parallel_duplicates_debit_once(driver, spec, params, evidence):
    """The same signed transfer (same nonce, same signature) fired N times at once: one debit."""
    require_operations(driver, TRANSFER, "account")
    a, b = accounts(driver, 2)
    sa = driver.session(a)
    amount = money(1, decimals_of(params))
    before = balance(driver, sa, "重复提交前余额")
    if before < amount:
        not_applicable(
            f"测试账户余额（{before}）不足以进行重复提交测试",
            en=f"the test account's balance ({before}) is too small for the duplicate-submission test",
        )
    n = 5
    call = transfer_call(driver, sa, b, amount)
    key = ledger_key(driver)

    def book(resp):
        if accepted(driver, TRANSFER, resp):
            LEDGER.add(key, a.name, amount)

    warm = driver.prepare("account", sa)
    answers = send_parallel(driver, [call] * n, sa, f"同一签名请求重复提交 {amount}", book, warm)
    errors = [x for x in answers if isinstance(x, BaseException)]
    if errors:
        raise DriverError(f"{len(errors)} parallel sends failed: {errors[0]}")
    ok = sum(1 for r in answers if accepted(driver, TRANSFER, r))
    after = balance(driver, sa, "重复提交后余额")
    debits = (before - after) / amount
    codes = ", ".join(str(r.status_code) for r in answers if not isinstance(r, BaseException))
    evidence.observe(
        f"同一签名转账（{amount}）并行提交 {n} 次：接受 {ok} 次，余额 {before}→{after}（扣款 {debits:g} 次）；"
        f"应答 {codes}",
        en=f"One signed transfer ({amount}) sent {n} times at once: {ok} accepted, balance {before} -> {after} "
        f"(debits: {debits:g}); answers {codes}",
    )
    if ok == 0:
        raise DriverError("none of the duplicates was accepted: the request itself was refused")
    assert before - after <= amount, f"{n} copies of one request debited {before - after} (one transfer: {amount})"
    assert ok <= 1, f"{ok} of {n} copies of the same signed request were accepted"
    assert after == before - amount, f"the accepted request did not debit exactly once: {before} -> {after}"
