"""JR/T 0199-2020 chapter 5 交易安全: anti-replay of signed transaction requests."""

from decimal import Decimal

import pytest

from harness.drivers import DriverError
from harness.suite_support import accepted, accounts, balance, require_operations
from harness.verdicts import not_applicable


@pytest.mark.clause("5.txn.replay")
def test_replayed_signed_transfer_is_rejected(driver, spec, evidence):
    require_operations(driver, "transfer", "account")
    if spec.driver.signing is None:
        not_applicable("样品未声明交易签名方案")
    payer, payee = accounts(spec, 2)
    s = driver.session(payer)
    before = balance(driver, s)
    call = driver.prepare("transfer", s, to_account=payee.account_id, amount=Decimal("1.00"))
    first = driver.send(call, s, note="原始签名转账")
    if not accepted(driver, "transfer", first.status_code):
        raise DriverError(f"the original signed transfer was refused ({first.status_code}): replay cannot be tested")
    after_first = balance(driver, s)
    replay = driver.send(call, s, note="原样重放")
    after_replay = balance(driver, s)
    evidence.observe(
        f"原始转账应答 {first.status_code}，余额 {before}→{after_first}；"
        f"重放应答 {replay.status_code}，余额 {after_first}→{after_replay}"
    )
    assert not accepted(driver, "transfer", replay.status_code), (
        f"the replayed transfer was accepted ({replay.status_code})"
    )
    assert after_replay == after_first, f"the replay moved money: balance {after_first} -> {after_replay}"
