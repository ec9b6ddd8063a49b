"""Small helpers the suites share. Everything here goes through the driver: no URLs, no field names."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from harness.drivers import DriverError, DriverSession
from harness.spec.model import Account
from harness.verdicts import not_applicable


def usable_accounts(driver: Any) -> list[Account]:
    """Accounts ordinary checks may use: not reserved for a destructive purpose (lockout)."""
    return [a for a in driver.accounts() if not a.purposes]


def accounts(driver: Any, n: int) -> list[Account]:
    accts = usable_accounts(driver)
    if len(accts) < n:
        not_applicable(
            f"需要 {n} 个普通测试账户，样品仅声明 {len(accts)} 个",
            en=f"{n} ordinary test accounts are needed; the sample declares {len(accts)}",
        )
    return accts[:n]


def expendable_account(driver: Any, purpose: str) -> tuple[Account, str]:
    """An account a check may use up (lock), and how it was obtained: one the spec reserved for the
    purpose; else a fresh one made through the product's own API; else the first ordinary account,
    which such a check only takes when it runs last on its target (``late``), so nothing after it
    needs that account. A product documenting two accounts keeps every two-account check."""
    for a in driver.accounts():
        if purpose in a.purposes:
            return a, f"规格为此预留的测试账户 {a.name}"
    fresh = driver.fresh_account(purpose)
    if fresh is not None:
        return fresh, f"经样品接口新开立的测试账户 {fresh.name}"
    ordinary = usable_accounts(driver)
    if not ordinary:
        not_applicable("样品未声明可用的测试账户", en="the sample declares no usable test account")
    return ordinary[0], f"普通测试账户 {ordinary[0].name}（本检查在该部署的其他检查之后执行）"


def require_operations(driver: Any, *names: str) -> None:
    missing = [n for n in names if not driver.has(n)]
    if missing:
        listed = ", ".join(missing)
        not_applicable(f"样品驱动未声明操作：{listed}", en=f"the sample's driver declares no operation {listed}")


def require_login(driver: Any) -> None:
    if not driver.can_login():
        not_applicable(
            "样品不设登录（每个请求携带 HTTP Basic 或静态密钥凭证），不涉及登录会话",
            en="the sample has no login (every request carries HTTP Basic or a static key credential): login "
            "sessions do not apply",
        )


def require_password_attempts(driver: Any) -> None:
    """For checks of password guessing (lockout, rate limiting, login errors): a login, or requests
    that carry the password themselves (HTTP Basic) are both where passwords can be guessed."""
    if not driver.tries_passwords():
        not_applicable(
            "样品不设登录，请求也不携带口令（静态密钥凭证），不涉及口令猜测",
            en="the sample has no login and its requests carry no password (a static key credential): password "
            "guessing does not apply",
        )


def accepted(driver: Any, operation: str, response: requests.Response) -> bool:
    """Whether the answer is the declared success of the operation (status, fields, redirect)."""
    return bool(driver.succeeded(operation, response))


def balance(driver: Any, session: DriverSession, note: str = "") -> Decimal:
    """The account's balance through its own session (``account`` operation, ``balance`` answer)."""
    acct = session.account
    fields = {"account_id": acct.account_id} if acct.account_id else {}
    resp = driver.send(driver.prepare("account", session, **fields), session, note)
    if not accepted(driver, "account", resp):
        raise DriverError(f"cannot read the balance of {session.account.name}: {resp.status_code} {resp.text[:200]}")
    raw = driver.returned(resp, "account", "balance")
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        raise DriverError(f"the balance {raw!r} is not a number") from None


def own_fields(session: DriverSession) -> dict[str, Any]:
    """The call fields that make a request about the session's own account."""
    acct = session.account
    return {"account_id": acct.account_id} if acct.account_id else {}
