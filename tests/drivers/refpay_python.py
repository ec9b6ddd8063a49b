"""RefPay driven by Python code instead of the spec's REST description: the proof that a sample
needing a Python driver keeps every check. Nothing here uses harness.drivers.rest; the shared HTTP
machinery (per-account sessions, scope, evidence, throttling) comes from HttpDriver, the product
knowledge (URLs, fields, the cookie session and its anti-CSRF token, signing, the password
operations) is written out by hand from RefPay's documentation, as a lab engineer would for a product
whose interface a declarative description cannot express."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from harness.deploy.base import Deployment
from harness.deploy.scope import ScopeGuard
from harness.drivers import Call, DriverError, DriverSession, HttpDriver, OperationInfo, SigningInfo
from harness.drivers.base import FOREIGN_ORIGIN
from harness.drivers.http import ResponseHook, answer_json, dig
from harness.spec.model import Account, ObjectKind, PythonDriver

_SIGNED = ("amount", "from_account", "to_account")
SESSION_COOKIE, CSRF_COOKIE, CSRF_HEADER = "refpay_session", "refpay_csrf", "X-CSRF-Token"  # operation.md 4.7
_PASSWORD_OPS = "changes or resets a password; only the credential checks send it"


def _op(name: str, kind: Any, method: str, path: str, **kw: Any) -> OperationInfo:
    """An operation as RefPay's documentation gives it; the path's placeholders are call fields."""
    auth = kw.pop("auth", True)
    roles: dict[str, str] = kw.pop("field_roles", {})
    in_path = tuple(re.findall(r"\{(\w+)\}", path))
    inputs = tuple(dict.fromkeys([*in_path, *roles.values()]))
    role = kw.get("role")
    return OperationInfo(
        name,
        kind,
        auth,
        method=method,
        path=path,
        by_session=auth,
        inputs=inputs,
        path_inputs=inputs,
        body_fields=tuple(roles),
        field_roles=roles,
        unsafe=f"{role}: {_PASSWORD_OPS}" if role else None,
        **kw,
    )


class RefPayDriver(HttpDriver):
    def __init__(
        self, desc: PythonDriver, deployment: Deployment, guard: ScopeGuard, on_response: ResponseHook | None = None
    ):
        super().__init__(deployment, guard, on_response, list(desc.accounts), tls_verify=False, timeout_s=10)
        self.base_url = deployment.url("https://{host}:{ports.https}")

    # -- the interface, by hand -------------------------------------------------------------------
    _OPS: ClassVar[dict[str, OperationInfo]] = {
        "account": _op(
            "account",
            "read",
            "GET",
            "/api/accounts/{account_id}",
            returns=("balance", "card_number", "id_number", "phone", "owner"),
        ),
        "history": _op("history", "read", "GET", "/api/accounts/{account_id}/transactions", returns=("transactions",)),
        "transfer": _op(
            "transfer",
            "create",
            "POST",
            "/api/transfers",
            signed=True,
            field_roles={"from_account": "from_account", "to_account": "to_account", "amount": "amount"},
            returns=("transfer_id", "balance"),
        ),
        "profile": _op("profile", "read", "GET", "/api/profile", returns=("nickname", "owner")),
        "profile_update": _op(
            "profile_update",
            "update",
            "PUT",
            "/api/profile",
            field_roles={"nickname": "nickname"},
            returns=("nickname",),
        ),
        "change_password": _op(
            "change_password",
            "create",
            "POST",
            "/api/accounts/{account_id}/password",
            role="password-change",
            field_roles={"current_password": "password", "new_password": "new_password"},
        ),
        "reset_request": _op(
            "reset_request",
            "create",
            "POST",
            "/api/password-reset/request",
            auth=False,
            role="password-reset-request",
            field_roles={"username": "username"},
        ),
        "reset_password": _op(
            "reset_password",
            "create",
            "POST",
            "/api/password-reset",
            auth=False,
            role="password-reset",
            field_roles={"username": "username", "code": "reset_code", "new_password": "new_password"},
        ),
    }
    _LOGIN: ClassVar[OperationInfo] = _op(
        "login",
        "create",
        "POST",
        "/api/login",
        auth=False,
        field_roles={"username": "username", "password": "password"},
        returns=("token", "sign_key"),
    )
    _LOGOUT: ClassVar[OperationInfo] = _op("logout", "create", "POST", "/api/logout")
    _RETURNS: ClassVar[dict[str, dict[str, str]]] = {
        "account": {n: n for n in ("balance", "card_number", "id_number", "phone", "owner")},
        "history": {"items": "transactions"},
        "transfer": {"transfer_id": "transfer_id", "balance": "balance"},
        "profile": {"nickname": "nickname", "owner": "owner"},
        "profile_update": {"nickname": "nickname"},
    }

    def has(self, operation: str) -> bool:
        return operation in self._OPS

    def operations(self) -> dict[str, OperationInfo]:
        return dict(self._OPS)

    def info(self, operation: str) -> OperationInfo:
        if operation == "login":
            return self._LOGIN
        if operation == "logout":
            return self._LOGOUT
        try:
            return self._OPS[operation]
        except KeyError:
            raise DriverError(f"RefPay has no operation {operation!r}") from None

    def object_ids(self) -> set[str]:
        """What tells one account's things from another's: its account number, and every value the
        accounts hold under different values (the user name, card, ID and phone numbers)."""
        accts = self.accounts()
        ids = {"account_id", "from_account"}
        for n in {n for a in accts for n in a.known()} - {"password", "balance", "sign_secret"}:
            vals = [a.known().get(n) for a in accts]
            if len(accts) > 1 and all(vals) and len(set(vals)) == len(vals):
                ids.add(n)
        return ids

    def objects(self) -> dict[str, ObjectKind]:
        # The profile: one per account, read and updated by the session (operation.md 4.8).
        return {
            "profile": ObjectKind(
                id="account_id", read="profile", update="profile_update", fields={"nickname": "实验室{random}"}
            )
        }

    # -- building requests -------------------------------------------------------------------------
    def _values(self, session: DriverSession | None, fields: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if session is not None:
            values.update(session.account.known())
            values.update(session.values)
            if session.account.account_id:
                values.setdefault("account_id", session.account.account_id)
                values["from_account"] = session.account.account_id
        return {**values, **fields}

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call:
        if operation == "login":
            login = {"username": fields.get("username"), "password": fields.get("password")}
            return Call("login", "POST", self.base_url + "/api/login", {}, login)
        info = self.info(operation)
        if info.auth and session is None:
            raise DriverError(f"{operation} needs a logged-in session")
        v = self._values(session, fields)
        path = info.path or ""
        try:
            path = re.sub(r"\{(\w+)\}", lambda m: str(v[m.group(1)]), path)
            body = {k: v[role] for k, role in info.field_roles.items()} if info.field_roles else None
        except KeyError as e:
            raise DriverError(f"operation {operation!r} needs the field {e.args[0]!r}") from None
        call = Call(operation, str(info.method), self.base_url + path, {}, body)
        if session is not None and info.auth:
            self._authenticate(call, session)
            # A state-changing request the cookie alone could authenticate carries the page's token.
            if info.changes_state() and session.browser != "cross-site":
                self._add_csrf(call, session)
        if session is not None and session.browser:
            origin = FOREIGN_ORIGIN if session.browser == "cross-site" else self._own_origin()
            call.headers["Referer"] = origin + "/"
            if call.method != "GET":
                call.headers["Origin"] = origin
        if info.signed and call.json is not None:
            call.json.update(self.stamp())
            call.json["signature"] = self.sign_values(call.json, self.signing_key(session))
        return call

    def _authenticate(self, call: Call, session: DriverSession) -> None:
        """The bearer token; a browser's request (``session.browser``) carries the cookie jar alone."""
        if session.browser or not session.token:
            return
        call.headers["Authorization"] = f"Bearer {session.token}"

    def _add_csrf(self, call: Call, session: DriverSession) -> None:
        http = self.http_for(session)
        token = http.cookies.get(CSRF_COOKIE)
        if token is None:
            if session.forged or not len(http.cookies):
                return  # a forged or revoked credential, or no cookie for a forged page to ride on
            raise DriverError(f"no anti-CSRF cookie {CSRF_COOKIE!r} for {call.operation!r}")
        call.headers[CSRF_HEADER] = str(token)

    def _own_origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def succeeded(self, operation: str, response: requests.Response) -> bool:
        return response.status_code == 200

    def returned(self, response: requests.Response, operation: str, name: str) -> Any:
        path = self._RETURNS.get(operation, {}).get(name, name)
        try:
            return dig(response.json(), path)
        except (ValueError, KeyError):
            raise DriverError(f"{operation}: the answer has no field {path!r}") from None

    def credentials(self, session: DriverSession) -> tuple[dict[str, str], dict[str, str]]:
        return ({"Authorization": f"Bearer {session.token}"} if session.token else {}), {}

    def unsafe(self, method: str, path: str) -> str | None:
        norm = re.sub(r"\{[^}]*\}", "{}", path)
        for name, info in self._OPS.items():
            if info.unsafe and info.method == method.upper() and re.sub(r"\{\w+\}", "{}", info.path or "") == norm:
                return f"operation {name}: {info.unsafe}"
        return None

    def wire_value(self, operation: str, name: str, value: Any) -> Any:
        return value  # amounts travel as the decimal text the suites pass

    # -- signing ----------------------------------------------------------------------------------
    def stamp(self) -> dict[str, Any]:
        return {"nonce": uuid.uuid4().hex, "timestamp": int(time.time() * 1000)}

    def signing(self) -> SigningInfo | None:
        return SigningInfo(_SIGNED, "nonce", "timestamp", "signature", "body")

    def signed_fields(self) -> list[str]:
        return list(_SIGNED)

    def signing_key(self, session: DriverSession | None) -> str:
        if session is None or not session.sign_key:
            raise DriverError("signing needs the session key the login answer carries")
        return session.sign_key

    def sign_values(self, values: dict[str, Any], key: str, fields: list[str] | None = None) -> str:
        names = sorted({*(fields if fields is not None else _SIGNED), "nonce", "timestamp"})
        text = "&".join(f"{n}={'' if values.get(n) is None else values.get(n)}" for n in names)
        return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()

    def with_signature(self, call: Call, signature: str) -> Call:
        new = call.copy()
        new.json = {**(new.json or {}), "signature": signature}
        return new

    def resign(self, call: Call, session: DriverSession) -> Call:
        values = {k: v for k, v in (call.json or {}).items() if k != "signature"}
        return self.with_signature(call, self.sign_values(values, self.signing_key(session)))

    # -- sessions ---------------------------------------------------------------------------------
    def can_login(self) -> bool:
        return True

    def can_logout(self) -> bool:
        return True

    def _login_on(self, http: requests.Session, account: Account, password: str | None) -> requests.Response:
        body = {"username": account.username, "password": account.password if password is None else password}
        return self.transmit(http, Call("login", "POST", self.base_url + "/api/login", {}, body), note="login")

    def login(self, account: Account, password: str | None = None) -> requests.Response:
        return self._login_on(self.new_http(), account, password)

    def login_session(self, account: Account) -> tuple[requests.Response | None, DriverSession | None]:
        http = self.new_http()
        resp = self._login_on(http, account, None)
        if resp.status_code != 200:
            return resp, None
        return resp, self._session_from(account, answer_json(resp), http)

    def session_from(self, account: Account, answer: Any) -> DriverSession:
        """For another HTTP client (the load): the bearer token alone authenticates its requests."""
        if answer.status_code != 200:
            raise DriverError(f"cannot log in as {account.name!r}: {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            raise DriverError(f"the login answer for {account.name!r} is not JSON") from None
        session = self._session_from(account, data, self.new_http())
        session.credential_cookie = None
        return session

    @staticmethod
    def _session_from(account: Account, data: Any, http: requests.Session) -> DriverSession:
        data = data if isinstance(data, dict) else {}
        token, key = str(data.get("token", "")), data.get("sign_key")
        if not token:
            raise DriverError(f"the login answer for {account.name!r} carries no token")
        values = {**account.known(), "token": token}
        # The login also set the web session's cookie (the same token) and the anti-CSRF cookie.
        return DriverSession(
            account, token, str(key) if key else None, data, values, http, credential_cookie=SESSION_COOKIE
        )

    def session(self, account: Account) -> DriverSession:
        resp, s = self.login_session(account)
        if s is None:
            raise DriverError(f"cannot log in as {account.name!r}: {resp.status_code if resp is not None else '-'}")
        return s

    def logout(self, session: DriverSession) -> requests.Response:
        return self.send(self.prepare("logout", session), session, note="logout")

    # -- the web face -----------------------------------------------------------------------------
    def web_base_url(self) -> str | None:
        return self.base_url

    def web_login_path(self) -> str | None:
        return "/login"

    def describe_auth(self, language: str = "zh") -> str:
        if language == "en":
            return "bearer token + cookie session (Python driver)"
        return "Bearer 令牌＋Cookie 会话（Python 驱动）"
