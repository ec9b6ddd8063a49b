"""JR/T 0199-2020 chapter 5 交易安全: the declared per-transaction and daily limits.

A refusal only counts when it is the limit's: the payer must be able to pay the amount, or, when the
test accounts cannot hold that much, the refusal above the limit must differ from the
insufficient-funds refusal the same payer gets just below it. The daily check uses up the day's
limit of both ordinary accounts, so it runs after every other check on the target (``late``).
"""

from decimal import Decimal

import pytest

from harness.checks.transaction import (
    LEDGER,
    TRANSFER,
    brief,
    fingerprint,
    ledger_key,
    move_funds,
    transfer,
    unit,
)
from harness.drivers import DriverError
from harness.suite_support import accepted, accounts, balance, require_operations
from harness.verdicts import needs_review, not_applicable

MAX_TRANSFERS = 400  # a daily check needing more than this is not practical on the test accounts


def _declared_limits(driver, params, evidence):
    """The declared limits; without them there is nothing to judge against (the standard names no
    figure and the lab states none): the item goes to an engineer with what the product did."""
    require_operations(driver, TRANSFER, "account")
    if params.limits is not None:
        return params.limits
    (acct, payee) = accounts(driver, 2)
    s = driver.session(acct)
    resp = transfer(driver, s, payee, Decimal("0.01"), "小额转账（观察）")
    evidence.observe(
        f"样品未声明单笔与日累计限额，实验室亦无默认值；小额转账应答 {brief(resp)}",
        en=f"The sample declares no per-transaction or daily limit and the lab states no default; a small transfer "
        f"answered {resp.status_code}",
    )
    needs_review(
        "样品未声明交易限额：由检测工程师依据产品文档与业务规则判定限额控制是否符合要求",
        en="the sample declares no transaction limits: a test engineer judges by the product documentation and "
        "business rules whether the limit controls meet the requirement",
    )  # a daily check needing more than this is not practical on the test accounts


def _richer_first(driver, a, b):
    sa, sb = driver.session(a), driver.session(b)
    ba, bb = balance(driver, sa, f"{a.name} 余额"), balance(driver, sb, f"{b.name} 余额")
    return ((sa, ba), (sb, bb)) if ba >= bb else ((sb, bb), (sa, ba))


@pytest.mark.clause("5.txn.limits")
def test_per_transaction_limit_is_enforced(driver, spec, params, evidence):
    """limit + one unit is refused because of the limit, and moves no money."""
    require_operations(driver, TRANSFER, "account")
    limits = _declared_limits(driver, params, evidence)
    lim, d = limits.per_transaction, limits.decimals
    u = unit(d)
    over = lim + u
    (sp, bal), (sq, other_bal) = _richer_first(driver, *accounts(driver, 2))
    if bal < over <= bal + other_bal:  # gather the money on the payer first (within the limit per transfer)
        move_funds(driver, sq, sp.account, over - bal, lim, "集中资金以超过单笔限额")
        bal = balance(driver, sp, "集中资金后付款方余额")

    if bal >= over:
        resp = transfer(driver, sp, sq.account, over, f"超过单笔限额一个单位：{over}")
        after = balance(driver, sp, "付款方余额（后）")
        # The same payer may still transfer within the limit: the refusal is the limit's.
        control = transfer(driver, sp, sq.account, u, f"限额内小额转账（对照）：{u}")
        evidence.observe(
            f"声明单笔限额 {lim}；付款方余额 {bal} 足以支付，转账 {over} 应答 {brief(resp)}，余额 {bal}→{after}；"
            f"限额内小额转账（对照）应答 {control.status_code}",
            en=f"Declared per-transaction limit {lim}; the payer's balance {bal} covers it; a transfer of {over} "
            f"answered {resp.status_code}, balance {bal} -> {after}; a small transfer within the limit (control) "
            f"answered {control.status_code}",
        )
        assert not accepted(driver, TRANSFER, resp), f"a transfer of {over} (limit {lim}) was accepted"
        assert after == bal, f"a refused over-limit transfer moved money: {bal} -> {after}"
        if not accepted(driver, TRANSFER, control):
            raise DriverError(f"a transfer within the limit was refused too ({brief(control)}): not attributable")
        return

    # The accounts cannot hold limit + unit: compare with insufficient-funds refusals around the limit.
    funds_only = max(bal, Decimal(0)) + u
    if funds_only >= lim:
        not_applicable(
            f"付款账户余额 {bal} 与单笔限额 {lim} 过近，无法区分余额不足与超限",
            en=f"the paying account's balance {bal} is too close to the per-transaction limit {lim} to tell "
            "insufficient funds from an exceeded limit",
        )
    probes = [
        ("余额不足（低于限额）", "insufficient funds (below the limit)", funds_only),
        ("恰为限额（余额不足）", "exactly the limit (insufficient funds)", lim),
        ("超过限额一个单位", "one unit over the limit", over),
    ]
    answers = []
    for what, _, amount in probes:
        resp = transfer(driver, sp, sq.account, amount, f"{what}：{amount}")
        answers.append(resp)
    after = balance(driver, sp, "付款方余额（后）")
    hide = [str(a) for _, _, a in probes]
    fps = [fingerprint(r, hide) for r in answers]
    evidence.attach_json(
        "单笔限额判定（测试账户资金不足以超过限额）",
        {
            "声明单笔限额": str(lim),
            "付款方余额": str(bal),
            "可用测试资金合计": str(bal + other_bal),
            "尝试": [
                {"情形": w, "金额": str(a), "应答": brief(r, 300)} for (w, _, a), r in zip(probes, answers, strict=True)
            ],
            "应答特征（去除数字）": [list(f) for f in fps],
        },
    )
    same = "一致" if fps[2] == fps[1] else "不同"
    evidence.observe(
        f"声明单笔限额 {lim}，测试资金合计 {bal + other_bal} 不足以超过限额；余额不足时应答 {brief(answers[0])}，"
        f"恰为限额时 {brief(answers[1])}，超限一个单位时 {brief(answers[2])}（与余额不足的拒绝{same}）；"
        f"余额 {bal}→{after}",
        en=f"Declared per-transaction limit {lim}; the test accounts hold {bal + other_bal} together, not enough to "
        f"exceed it; insufficient funds answered {answers[0].status_code}, exactly the limit {answers[1].status_code}, "
        f"one unit over the limit {answers[2].status_code} "
        f"({'the same as' if fps[2] == fps[1] else 'different from'} the insufficient-funds refusal); "
        f"balance {bal} -> {after}",
    )
    for (_, what_en, amount), resp in zip(probes, answers, strict=True):
        assert not accepted(driver, TRANSFER, resp), f"{what_en}: a transfer of {amount} was accepted"
    assert after == bal, f"refused transfers moved money: {bal} -> {after}"
    if fps[0] != fps[1]:
        not_applicable(
            "余额不足的两次拒绝应答不一致，无法借对比判定超限拒绝的原因（测试账户资金不足以超过单笔限额）",
            en="the two insufficient-funds refusals differ, so no comparison can tell why an over-limit transfer was "
            "refused (the test accounts cannot hold more than the per-transaction limit)",
        )
    if fps[2] == fps[1]:
        not_applicable(
            "超过单笔限额的拒绝与余额不足的拒绝无法区分，且测试账户资金合计不足以超过单笔限额：无法将拒绝归因于限额",
            en="the over-limit refusal cannot be told from the insufficient-funds refusal, and the test accounts "
            "together cannot hold more than the per-transaction limit: the refusal cannot be attributed to the limit",
        )


@pytest.mark.late(1)
@pytest.mark.clause("5.txn.limits")
def test_daily_limit_is_enforced(driver, spec, params, evidence):
    """Transfers from one account up to the declared daily limit, then one unit more: refused.
    The payee sends each amount back so the payer never runs short. Fails only when this check's
    own accepted transfers from the payer exceed the daily limit (whatever else happened that day)."""
    require_operations(driver, TRANSFER, "account")
    limits = _declared_limits(driver, params, evidence)
    lim, daily, d = limits.per_transaction, limits.daily, limits.decimals
    u = unit(d)
    pair = _richer_first(driver, *accounts(driver, 2))
    key = ledger_key(driver)
    out = {s.account.name: LEDGER.total(key, s.account.name) for s, _ in pair}  # this suite's so far

    def slack(payer, helper):
        # The payee returns about (limit - payer's balance); its own day must have room for that.
        (s_p, b_p), (s_h, _) = payer, helper
        return b_p - out[s_h.account.name] + out[s_p.account.name]

    (sp, bal), (sq, helper_bal) = max([pair, pair[::-1]], key=lambda p: slack(*p))
    payer, helper = sp.account, sq.account
    if bal < u:
        not_applicable(
            f"测试账户余额（{bal}）不足以进行日累计限额测试",
            en=f"the test account's balance ({bal}) is too small for the daily-limit test",
        )
    known_before = out[payer.name]
    planned = max(daily - known_before, Decimal(0))  # where the refusal should come if nobody else paid
    sent = Decimal(0)
    count = 0
    refused = None  # (amount, answer)
    steps = []
    while sent <= daily:
        if count >= MAX_TRANSFERS:
            not_applicable(
                f"日累计限额 {daily} 需要超过 {MAX_TRANSFERS} 笔转账才能达到，测试账户资金不足",
                en=f"reaching the daily limit {daily} takes more than {MAX_TRANSFERS} transfers: the test accounts' "
                "funds are not enough",
            )
        room = planned - sent
        amount = min(lim, bal, room) if room > 0 else min(lim, bal, u if sent == planned else daily + u - sent)
        amount = max(amount, u)
        if amount > bal:
            raise DriverError(f"the payer ran short of funds ({bal}) before the daily limit was reached")
        resp = transfer(driver, sp, helper, amount, f"日累计：已转出 {sent}，本笔 {amount}")
        count += 1
        if not accepted(driver, TRANSFER, resp):
            refused = (amount, resp)
            break
        sent += amount
        bal -= amount
        helper_bal += amount
        steps.append(str(amount))
        # The payee sends back only what the payer lacks for the next step (up to one unit past the
        # expected refusal point; past it, up to one unit past the limit by this check's own count):
        # the payee's own daily limit is spent as little as possible.
        goal = planned if sent <= planned else daily
        need = min(min(goal + u - sent, lim) - bal, helper_bal)
        if need > 0:
            back = transfer(driver, sq, payer, need, "收款方退回（补足付款方资金）")
            count += 1
            if accepted(driver, TRANSFER, back):
                bal += need
                helper_bal -= need
    bal_now = balance(driver, sp, "付款方余额（结束）")
    evidence.attach_json(
        "日累计限额",
        {
            "声明日累计限额": str(daily),
            "本套件此前自该账户转出（已知）": str(known_before),
            "预计拒绝点（本检查累计）": str(planned),
            "本检查被接受的转出累计": str(sent),
            "被接受的各笔": steps,
            "被拒绝的一笔": None if refused is None else {"金额": str(refused[0]), "应答": brief(refused[1], 300)},
            "付款方余额": str(bal_now),
        },
    )
    if refused is None:
        evidence.observe(
            f"声明日累计限额 {daily}；本检查自 {payer.name} 转出累计 {sent} 均被接受，超过日累计限额",
            en=f"Declared daily limit {daily}; transfers from {payer.name} totalling {sent} in this check were all "
            "accepted, more than the daily limit",
        )
    assert refused is not None, f"transfers totalling {sent} from one account in one day were all accepted ({daily})"
    amount, resp = refused
    if bal_now < amount:
        raise DriverError(f"the refused transfer ({amount}) exceeded the payer's balance ({bal_now}): not attributable")
    if sent == 0 and known_before < daily:
        # Not one transfer of this check went through: nothing shows the refusal is the daily limit's
        # rather than a refusal of every transfer (the suite knows of too little spent today for that).
        raise DriverError(
            f"the first transfer ({amount}) was already refused ({brief(resp)}) with {known_before} known to be spent "
            f"today (limit {daily}): the refusal cannot be attributed to the daily limit"
        )
    if sent == planned:
        where, where_en = "恰在预计的日累计限额处", "exactly where the daily limit was expected"
    elif sent < planned:
        where = f"早于预计（当日另有约 {planned - sent} 以上的转出未计入本套件）"
        where_en = f"earlier than expected (about {planned - sent} or more was transferred that day outside this suite)"
    else:
        where = f"晚于预计 {sent - planned}（本套件此前被接受的转出未全部计入）"
        where_en = (
            f"{sent - planned} later than expected (the sample did not count every earlier accepted transfer "
            "of this suite)"
        )
    evidence.observe(
        f"声明日累计限额 {daily}；本套件此前已知转出 {known_before}，本检查累计转出 {sent} 后，"
        f"再转 {amount} 被拒绝（{brief(resp)}），拒绝点{where}",
        en=f"Declared daily limit {daily}; {known_before} known to have left the account earlier in this suite; after "
        f"{sent} transferred in this check, a further {amount} was refused ({resp.status_code}), {where_en}",
    )
