"""JR/T 0199-2020 chapter 5 交易安全: anti-replay of signed transaction requests."""

import pytest

from harness.checks.transaction import (
    TRANSFER,
    decimals_of,
    money,
    send_transfer,
    transfer_call,
)
from harness.drivers import DriverError
from harness.suite_support import accepted, accounts, balance, require_operations
from harness.verdicts import not_applicable


@pytest.mark.clause("5.txn.replay")
def test_replayed_signed_transfer_is_rejected(driver, spec, params, evidence):
    require_operations(driver, TRANSFER, "account")
    if driver.signing() is None:
        not_applicable("样品未声明交易签名方案", en="the sample declares no transaction signing scheme")
    payer, payee = accounts(driver, 2)
    s = driver.session(payer)
    amount = money(1, decimals_of(params))
    before = balance(driver, s)
    call = transfer_call(driver, s, payee, amount)
    first = send_transfer(driver, call, s, "原始签名转账", payer, amount)
    if not accepted(driver, TRANSFER, first):
        raise DriverError(f"the original signed transfer was refused ({first.status_code}): replay cannot be tested")
    after_first = balance(driver, s)
    replay = send_transfer(driver, call, s, "原样重放", payer, amount)
    after_replay = balance(driver, s)
    # The same transfer freshly signed right after: the replay's refusal is the replay's, not a
    # refusal of every further transfer (a limit, a frozen account).
    fresh = send_transfer(
        driver, transfer_call(driver, s, payee, amount), s, "重新签名的同一转账（对照）", payer, amount
    )
    evidence.observe(
        f"原始转账应答 {first.status_code}，余额 {before}→{after_first}；"
        f"重放应答 {replay.status_code}，余额 {after_first}→{after_replay}；重新签名的同一转账（对照）应答 "
        f"{fresh.status_code}",
        en=f"Original transfer {first.status_code}, balance {before} -> {after_first}; replay {replay.status_code}, "
        f"balance {after_first} -> {after_replay}; the same transfer freshly signed (control) {fresh.status_code}",
    )
    assert not accepted(driver, TRANSFER, replay), f"the replayed transfer was accepted ({replay.status_code})"
    assert after_replay == after_first, f"the replay moved money: {after_first} -> {after_replay}"
    if not accepted(driver, TRANSFER, fresh):
        raise DriverError(
            f"a freshly signed transfer was refused too ({fresh.status_code}): the replay's refusal is not attributable"
        )
