"""Password change and reset without the owner (5.auth.credential-change): the pieces the check is
made of. Whether a password changed is never read from an answer: the account logs in with its
current password (still works: unchanged) and otherwise with the one the request tried to set
(works: changed). A reset request's answer is searched for the reset code by behaviour first (a value
from it that actually resets the password) and by field names second.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from harness.checks.data import code_named, walk
from harness.drivers import Call, DriverError, DriverSession
from harness.spec.model import Account

_BORING = frozenset({"true", "false", "null", "none", "ok", "success", "sent", "pending", "accepted"})


def fresh_password(min_length: int | None) -> str:
    """A password every ordinary policy accepts: upper, lower, digit and symbol, long enough."""
    body = secrets.token_hex(max(4, ((min_length or 8) - 6) // 2 + 1))
    return f"Lab#{body}9x"


def wrong_password(current: str) -> str:
    return current[::-1] + "#9z"


def strip_values(call: Call, values: set[str]) -> tuple[Call, list[str]]:
    """The call without the entries (body, form, query) whose value is one of ``values`` (the
    current password a change request carries as its proof), and the names removed."""
    new = call.copy()
    removed: list[str] = []

    def prune(obj: Any, path: str) -> Any:
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if not isinstance(v, dict | list) and str(v) in values:
                    removed.append(f"{path}{k}")
                    continue
                out[k] = prune(v, f"{path}{k}.")
            return out
        return obj

    if isinstance(new.json, dict):
        new.json = prune(new.json, "")
    if new.form is not None:
        new.form = prune(new.form, "")
    new.params = prune(new.params, "?")
    return new, removed


def named_codes(answer: Any) -> list[str]:
    """Paths of fields named like a reset code that carry a value."""
    return [
        path
        for path, key, value in walk(answer)
        if key and code_named(key) and value not in (None, "", False) and not isinstance(value, bool)
    ]


def code_candidates(answer: Any, sent: set[str], limit: int = 5) -> list[str]:
    """Values of a reset request's answer that could be the code it should have sent out of band:
    texts and numbers of four characters or more that the request did not send itself."""
    out: list[str] = []
    for _path, _key, value in walk(answer):
        if value is None or isinstance(value, bool):
            continue
        text = str(value).strip()
        if len(text) < 4 or text.lower() in _BORING or text in sent or " " in text:
            continue
        if text not in out:
            out.append(text)
    return out[:limit]


@dataclass
class Keeper:
    """Each account's password as the check knows it, judged by logging in; and what it was at the
    start, so declared accounts can be set back."""

    driver: Any
    probe: str | None = None
    current: dict[str, str] = field(default_factory=dict)
    original: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)

    def add(self, account: Account) -> None:
        if not account.password:
            raise DriverError(f"test account {account.name!r} declares no password")
        self.accounts[account.name] = account
        self.current[account.name] = self.original[account.name] = account.password

    def account(self, name: str) -> Account:
        return self.accounts[name].model_copy(update={"password": self.current[name]})

    def session(self, name: str) -> DriverSession:
        session: DriverSession = self.driver.session(self.account(name))
        return session

    def works(self, name: str, password: str, note: str) -> bool:
        acct = self.accounts[name]
        if self.driver.can_login():
            resp = self.driver.login(acct, password=password)
            return bool(self.driver.succeeded("login", resp))
        from harness.checks.sessions import read_with

        s = self.driver.session(acct.model_copy(update={"password": password}))
        return read_with(self.driver, s, note, self.probe)[1]

    def changed(self, name: str, tried: str) -> bool:
        """Whether the account's password is now ``tried`` (it was changed) or still what it was."""
        if self.works(name, self.current[name], f"{name} 以原口令登录"):
            return False
        if self.works(name, tried, f"{name} 以请求设置的新口令登录"):
            self.current[name] = tried
            return True
        raise DriverError(
            f"{name} can log in neither with its password nor with the one the request tried to set",
            zh=f"账户 {name} 以原口令和请求设置的新口令均无法登录",
        )
