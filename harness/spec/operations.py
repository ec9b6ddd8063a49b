"""The operations a REST driver declares: one request each, what its success looks like, how it
writes amounts, and what it does to a password.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field

from harness.spec.auth import AuthScheme, CsrfToken
from harness.spec.fields import NonEmpty, Strict

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class AmountEncoding(Strict):
    """How an operation writes money when not as the decimal amounts the suites use (yuan).

    ``minor-units``: an integer count of the currency's smallest unit (fen), i.e. amount x
    10**exponent. The named call ``fields`` are converted before the templates are filled (and so
    before signing); an amount that is not a whole number of minor units (0.001 yuan) is sent as a
    JSON number with a fraction (0.1), and a value that is not a plain number is sent unchanged, so
    the sample still judges every malformed amount itself. The named ``returns`` are converted
    back to decimal amounts when a check reads them."""

    encoding: Literal["minor-units"] = "minor-units"
    exponent: int = Field(default=2, ge=0, le=8)  # ISO 4217 minor unit: CNY 2 (1 yuan = 100 fen)
    fields: list[NonEmpty] = ["amount"]  # call fields holding amounts (names the suites pass)
    returns: list[NonEmpty] = []  # names in `returns` whose values are amounts


class Success(Strict):
    """What success of an operation looks like, as the product's documentation says. Many products
    answer 200 with an error body, or redirect a failed form login back to the login page: the
    status code alone decides nothing where this says more."""

    status: int | list[int] | None = None  # default: the operation's expect_status
    fields: dict[str, str] = {}  # dotted path -> the text it must equal ("code": "0")
    present: list[NonEmpty] = []  # dotted paths that must be present and not null/empty
    absent: list[NonEmpty] = []  # dotted paths that must be absent or null ("error")
    body_contains: list[NonEmpty] = []  # texts the answer must contain (HTML answers)
    body_lacks: list[NonEmpty] = []  # texts it must not contain ("Invalid password")
    location: str | None = None  # a redirect must go to a URL containing this
    location_not: str | None = None  # ... and never to one containing this (back to /login)
    cookie: str | None = None  # this cookie must be set by the answer (a login)


OperationKind = Literal["read", "create", "update", "delete", "action"]
# What an operation does to a password, for the checks that judge password change and reset
# (5.auth.credential-change). Its templates name the values by these names: ``{password}`` the current
# password, ``{new_password}`` the new one, ``{reset_code}`` the code or token a reset needs; the
# account it addresses by the account's own values (``{username}``, ``{account_id}``).
# - ``password-change``: a logged-in account changes a password;
# - ``password-reset-request``: asks for a reset (the code goes out of band: mail, SMS);
# - ``password-reset``: sets a new password with the code the request sent.
OperationRole = Literal["password-change", "password-reset-request", "password-reset"]


class Operation(Strict):
    """One declared request. Strings in path/body/headers/query are templates over
    the call's fields, e.g. ``/api/accounts/{account_id}`` or ``{"amt": "{amount}"}``."""

    method: HttpMethod
    path: NonEmpty
    body: dict[str, object] | None = None
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    signed: bool = False
    # True: the session's credentials (the driver's auth schemes); False: none; a list: these schemes
    # instead (a product whose web pages ride on a login cookie while its API takes HTTP Basic).
    auth: bool | list[AuthScheme] = True
    expect_status: int = 200
    # Answer fields the suites read, as dotted paths into the JSON answer ("$": the whole answer).
    returns: dict[str, str] = {}
    # What the operation does; by default read for GET, delete for DELETE, update for PUT/PATCH,
    # create for POST. Say "action" for a state-changing GET (CSRF checks treat it as such).
    kind: OperationKind | None = None
    encoding: Literal["json", "form"] = "json"  # how the body is sent
    success: Success | None = None
    # Values taken from a successful answer into the session's values (name -> dotted path), so a
    # later request can name them (``{order_id}``, ``{wallet_key}``).
    capture: dict[str, NonEmpty] = {}
    csrf: CsrfToken | None = None  # an anti-CSRF token this request must carry
    # Credentials this request needs on top of the session's (a payment PIN, a per-wallet key).
    credentials: list[AuthScheme] = []
    # Never called by fuzzing, conformance or generic probes: it destroys or resets data, is for the
    # lab only, or is out of scope. The text says why.
    unsafe: str | None = None
    # Which password operation this is (see OperationRole). Generic probes never call such an
    # operation; only the credential checks do, on accounts they may change.
    role: OperationRole | None = None

    def inputs(self) -> list[str]:
        """The call fields this operation takes: every placeholder of its path, body, query and
        headers, in order (what injection and malformed-input checks fill)."""
        texts = [self.path, *self.query.values(), *self.headers.values(), *_strings(self.body)]
        names = [field.split(".")[0] for t in texts for _, field, _, _ in string.Formatter().parse(t) if field]
        return list(dict.fromkeys(names))

    def path_inputs(self) -> list[str]:
        """The placeholders of the path, query and body: what can address an object (headers carry
        credentials, not addresses)."""
        texts = [self.path, *self.query.values(), *_strings(self.body)]
        names = [field.split(".")[0] for t in texts for _, field, _, _ in string.Formatter().parse(t) if field]
        return list(dict.fromkeys(names))

    def effective_kind(self) -> OperationKind:
        if self.kind is not None:
            return self.kind
        return {"GET": "read", "DELETE": "delete", "PUT": "update", "PATCH": "update"}.get(self.method, "create")  # type: ignore[return-value]

    def changes_state(self) -> bool:
        return self.effective_kind() != "read"

    # Money on the wire in another form than decimal yuan (None: amounts are passed unchanged).
    amounts: AmountEncoding | None = None


class LoginOperation(Operation):
    auth: bool | list[AuthScheme] = False
    # Dotted path of the session token in the JSON answer. With cookie auth and no token in the
    # answer, the session is the cookie the login set (and ``token`` is that cookie's value).
    token_from: str | None = "token"
    sign_key_from: str | None = None  # where the per-session signing key comes from


def _strings(obj: object) -> list[str]:
    """Every string inside a JSON-like template (bodies nest)."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []
