"""Small helpers the suites share. Everything here goes through the driver: no URLs, no field names."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from harness.drivers import DriverError, DriverSession
from harness.spec.model import Account, SampleSpec
from harness.verdicts import not_applicable


def usable_accounts(spec: SampleSpec) -> list[Account]:
    """Accounts ordinary checks may use: not reserved for a destructive purpose (lockout)."""
    return [a for a in spec.driver.accounts if not a.purposes]


def accounts(spec: SampleSpec, n: int) -> list[Account]:
    accts = usable_accounts(spec)
    if len(accts) < n:
        not_applicable(f"需要 {n} 个普通测试账户，样品仅声明 {len(accts)} 个")
    return accts[:n]


def reserved_account(spec: SampleSpec, purpose: str) -> Account:
    for a in spec.driver.accounts:
        if purpose in a.purposes:
            return a
    not_applicable(f"样品未声明可用于“{purpose}”的测试账户（spec: driver.accounts[].purposes）")
    raise AssertionError("unreachable")


def require_operations(driver: Any, *names: str) -> None:
    missing = [n for n in names if not driver.has(n)]
    if missing:
        not_applicable(f"样品驱动未声明操作：{', '.join(missing)}")


def balance(driver: Any, session: DriverSession, note: str = "") -> Decimal:
    """The account's balance through its own session (``account`` operation, ``balance`` answer)."""
    resp = driver.send(driver.prepare("account", session, account_id=session.account.account_id), session, note)
    if not accepted(driver, "account", resp.status_code):
        raise DriverError(f"cannot read the balance of {session.account.name}: {resp.status_code} {resp.text[:200]}")
    raw = driver.returned(resp, "account", "balance")
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise DriverError(f"the balance {raw!r} is not a number") from None


def accepted(driver: Any, operation: str, status: int) -> bool:
    return status == driver.operation(operation).expect_status
