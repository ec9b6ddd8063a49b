"""The protocol a check talks to. A check never sees URLs or field names: it asks the driver to log
in, read an account or send a transfer, and the driver turns that into the sample's own requests.

Every method a check calls is on ``Driver``; nothing reaches into a spec's REST description, so a
sample that needs a Python driver keeps every check (labgrid's lesson: a test talks to a protocol,
never to a backend)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

import requests

from harness.errors import LabError
from harness.spec.model import Account, ObjectKind, OperationKind, OperationRole, Success

# The origin a forged page is served from when a check sends a session's request "cross-site" (a
# reserved name: nothing answers there, the product only sees it in Origin and Referer).
FOREIGN_ORIGIN = "https://forged-page.invalid"


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
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None  # a form-encoded body instead of JSON
    # The answer already given: an earlier step of a multi-step operation (create the order) was
    # refused, so the step this call stands for (pay it) is never sent.
    preanswered: requests.Response | None = None

    def copy(self, **changes: Any) -> Call:
        """A copy whose dicts can be changed without touching this call (tamper, replay)."""
        fresh = replace(
            self,
            headers=dict(self.headers),
            json=copy.deepcopy(self.json),
            params=dict(self.params),
            form=dict(self.form) if self.form is not None else None,
        )
        return replace(fresh, **changes)

    def body_values(self) -> dict[str, Any]:
        """The request's named values (query, then form or JSON body): what a signature covers."""
        out: dict[str, Any] = dict(self.params)
        if isinstance(self.json, dict):
            out.update(self.json)
        if self.form is not None:
            out.update(self.form)
        return out

    def text(self) -> str:
        """Everything the request says, for "does it address X" questions."""
        return f"{self.method} {self.url} {self.params} {self.json} {self.form} {self.headers}"


@dataclass
class DriverSession:
    """One logged-in account: its credential, its values and its own HTTP session (cookie jar).

    ``token`` is the session's primary credential (a bearer token, the session cookie's value, an API
    key); checks forge and revoke it. ``values`` holds the account's declared values and everything
    the login, provisioning or an earlier step captured, by template name."""

    account: Account
    token: str
    sign_key: str | None = None
    login_answer: Any = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    http: requests.Session | None = None  # this account's own cookie jar and connections
    credential_cookie: str | None = None  # the cookie that carries ``token`` (cookie sessions)
    # Cookies sent as they are, when the session has no live jar (a frozen or forged credential).
    jar: dict[str, str] | None = None
    forged: bool = False
    # How a browser would send this session's requests (the CSRF checks): "" as the driver always
    # does; "same-site": only what the cookie jar carries (no header or query credential), with the
    # anti-CSRF token and the product's own origin; "cross-site": the jar alone, no token, and a
    # third-party origin, as a forged page's request arrives.
    browser: Literal["", "same-site", "cross-site"] = ""

    def with_token(self, token: str) -> DriverSession:
        """A session that carries only ``token`` as its credential (a forgery): no cookie of the
        genuine session comes along, so nothing else can authenticate the request."""
        jar = {self.credential_cookie: token} if self.credential_cookie else {}
        return replace(self, token=token, http=None, jar=jar, forged=True, values={**self.values, "token": token})

    def without_credentials(self) -> DriverSession:
        """The same account's session with no credential at all (a negative control)."""
        return replace(self, token="", http=None, jar={}, forged=True, values={**self.values, "token": ""})

    def same_site(self) -> DriverSession:
        """This session's requests as the product's own page sends them from a browser."""
        return replace(self, browser="same-site")

    def cross_site(self) -> DriverSession:
        """This session's requests as another site's page makes the browser send them."""
        return replace(self, browser="cross-site")

    def frozen(self) -> DriverSession:
        """A copy whose cookies no longer follow what later answers set: the credential exactly as it
        is now (a logout check resends only the revoked credential, never a cookie the logout set)."""
        jar = dict(self.http.cookies.items()) if self.http is not None else dict(self.jar or {})
        return replace(self, http=None, jar=jar, forged=True, values=dict(self.values))


@dataclass(frozen=True)
class OperationInfo:
    """What a check may know about a declared operation, whatever the driver."""

    name: str
    kind: OperationKind
    auth: bool
    signed: bool = False
    unsafe: str | None = None
    method: str | None = None  # the HTTP method, when the sample speaks HTTP
    inputs: tuple[str, ...] = ()  # the call fields it takes
    path_inputs: tuple[str, ...] = ()  # those in the path, query or body: what can address an object
    body_fields: tuple[str, ...] = ()  # the names of the body it sends (mass assignment adds others)
    returns: tuple[str, ...] = ()  # dotted paths of the answer declared as read (returns, captures, token)
    # Authenticated by the session's own credential (the login's token or cookie), not by credentials
    # of its own: what session checks (forgery, logout, expiry) probe with.
    by_session: bool = False
    # The HTTP path template, relative to ``web_base_url()``: its placeholders name call fields
    # (``/api/accounts/{account_id}``). What binds an interface document's operation to this one.
    path: str | None = None
    # Request fields (body or query) that carry exactly one call field, and which:
    # ``{"walletNo": "from_account", "amountFen": "amount"}``. Tools that generate requests of their
    # own (conformance) put the session's values where the request carries them.
    field_roles: dict[str, str] = field(default_factory=dict, hash=False)
    role: OperationRole | None = None  # what it does to a password (change, reset request, reset)

    def changes_state(self) -> bool:
        return self.kind != "read"


@dataclass(frozen=True)
class SigningInfo:
    """What the tamper and replay checks need of a signing scheme."""

    fields: tuple[str, ...]
    nonce_field: str | None
    timestamp_field: str | None
    signature_field: str
    signature_in: str  # body | header | query


@runtime_checkable
class Driver(Protocol):
    """The methods checks call. ``harness.drivers.http.HttpDriver`` implements the machinery shared
    by every HTTP product (sessions, evidence, scope); the REST driver builds requests from the
    spec, a Python driver from its own code."""

    on_response: Any

    # accounts and sessions
    def accounts(self) -> list[Account]: ...

    def fresh_account(self, purpose: str) -> Account | None: ...

    def session(self, account: Account) -> DriverSession: ...

    def login(self, account: Account, password: str | None = None) -> requests.Response: ...

    def logout(self, session: DriverSession) -> requests.Response: ...

    def can_login(self) -> bool: ...

    def can_logout(self) -> bool: ...

    # Whether a password can be tried (``login(account, password)``, ``succeeded("login", ...)``):
    # through the login, or, where every request carries the password (HTTP Basic), through a request
    # the password alone decides. Checks of password guessing need this, not a session.
    def tries_passwords(self) -> bool: ...

    # operations
    def has(self, operation: str) -> bool: ...

    def operations(self) -> dict[str, OperationInfo]: ...

    def info(self, operation: str) -> OperationInfo: ...

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call: ...

    def send(self, call: Call, session: DriverSession | None = None, note: str = "") -> requests.Response: ...

    def call(self, operation: str, session: DriverSession | None, **fields: Any) -> requests.Response: ...

    def succeeded(self, operation: str, response: requests.Response) -> bool: ...

    def returned(self, response: requests.Response, operation: str, name: str) -> Any: ...

    def object_ids(self) -> set[str]: ...

    def objects(self) -> dict[str, ObjectKind]: ...

    # signing
    def signing(self) -> SigningInfo | None: ...

    def signing_key(self, session: DriverSession | None) -> str: ...

    def sign_values(self, values: dict[str, Any], key: str, fields: list[str] | None = None) -> str: ...

    def with_signature(self, call: Call, signature: str) -> Call: ...

    def resign(self, call: Call, session: DriverSession) -> Call: ...

    def signed_fields(self) -> list[str]: ...

    # the web face
    def web_base_url(self) -> str | None: ...

    def web_login_path(self) -> str | None: ...

    def web_login_success(self) -> Success | None: ...

    def get_url(self, path: str, note: str = "", session: DriverSession | None = None) -> requests.Response: ...

    def describe_auth(self, language: str = "zh") -> str:
        """How a session is authenticated, in words of the language ("zh" or "en")."""
        ...

    # for tools that build requests of their own (API conformance, the load generator)
    tls_verify: bool  # whether the sample's certificate is verified
    timeout_s: float  # how long one request may take

    def credentials(self, session: DriverSession) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and query parameters the session's credential adds to a request (cookies
        travel in ``session.http``)."""
        ...

    def unsafe(self, method: str, path: str) -> str | None:
        """Why a request (an interface document's ``method`` and path template) must never be sent by
        a generic tool; None when it may be."""
        ...

    def stamp(self) -> dict[str, Any]:
        """Fresh replay-protection values a signed request carries (nonce, timestamp), by request
        field name, as the driver's own signed requests would carry them."""
        ...

    def wire_value(self, operation: str, name: str, value: Any) -> Any:
        """A call field's value as ``operation`` writes it on the wire (an amount in minor units)."""
        ...

    def login_session(self, account: Account) -> tuple[requests.Response | None, DriverSession | None]:
        """Log in once: the login's answer, and the session when the login succeeded (None otherwise)."""
        ...

    def session_from(self, account: Account, answer: Any) -> DriverSession:
        """The session a login answer opens when another HTTP client sent the login ``prepare``
        built (the load generator): ``answer`` has ``status_code``, ``headers``, ``text`` and ``json()``."""
        ...


def payee_fields(to: Account) -> dict[str, Any]:
    """How a transfer names its payee: ``{to_account}`` is the payee's account number, and every
    other value of the payee is there as ``{to_<name>}`` (``{to_wallet_id}``, ``{to_user_id}``)."""
    fields: dict[str, Any] = {f"to_{k}": v for k, v in to.known().items() if k not in ("password", "sign_secret")}
    fields["to_account"] = to.account_id if to.account_id else to.known().get("username")
    return fields
