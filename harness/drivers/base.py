"""The protocol a check talks to. A check never sees URLs or field names: it asks the driver to log
in, read an account or send a transfer, and the driver turns that into the sample's own requests."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import requests

from harness.errors import LabError
from harness.spec.model import Account


class DriverError(LabError):
    """The driver could not do what the check asked (the sample refused a declared precondition,
    such as logging in with a declared test account). The check could not look: an error."""


@dataclass
class Call:
    """A request built but not sent: checks replay and tamper with these."""

    operation: str
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)

    def copy(self, **changes: Any) -> Call:
        """A copy whose dicts can be changed without touching this call (tamper, replay)."""
        fresh = replace(
            self,
            headers=dict(self.headers),
            json=copy.deepcopy(self.json),
            params=dict(self.params),
        )
        return replace(fresh, **changes)


@dataclass
class DriverSession:
    account: Account
    token: str
    sign_key: str | None = None
    login_answer: dict[str, Any] = field(default_factory=dict)


class Driver(Protocol):
    def login(self, account: Account, password: str | None = None) -> requests.Response: ...

    def session(self, account: Account) -> DriverSession: ...

    def logout(self, session: DriverSession) -> requests.Response: ...

    def has(self, operation: str) -> bool: ...

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call: ...

    def send(self, call: Call, session: DriverSession | None = None, note: str = "") -> requests.Response: ...

    def call(self, operation: str, session: DriverSession | None, **fields: Any) -> requests.Response: ...

    def returned(self, response: requests.Response, operation: str, name: str) -> Any: ...

    def signed_fields(self) -> list[str]: ...
