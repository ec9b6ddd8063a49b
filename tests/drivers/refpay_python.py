"""RefPay driven by Python code instead of the spec's REST description: the proof that a sample
needing a Python driver keeps every check. Nothing here uses harness.drivers.rest; the shared HTTP
machinery (per-account sessions, scope, evidence, throttling) comes from HttpDriver, the product
knowledge (URLs, fields, signing) is written out by hand, as a lab engineer would for a product
whose interface a declarative description cannot express."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any, ClassVar

import requests

from harness.deploy.base import Deployment
from harness.deploy.scope import ScopeGuard
from harness.drivers import Call, DriverError, DriverSession, HttpDriver, OperationInfo, SigningInfo
from harness.drivers.http import ResponseHook, answer_json, dig
from harness.spec.model import Account, ObjectKind, PythonDriver

_SIGNED = ("amount", "from_account", "to_account")


class RefPayDriver(HttpDriver):
    def __init__(
        self, desc: PythonDriver, deployment: Deployment, guard: ScopeGuard, on_response: ResponseHook | None = None
    ):
        super().__init__(deployment, guard, on_response, list(desc.accounts), tls_verify=False, timeout_s=10)
        self.base_url = deployment.url("https://{host}:{ports.https}")

    # -- the interface, by hand -------------------------------------------------------------------
    _OPS: ClassVar[dict[str, OperationInfo]] = {
        "account": OperationInfo(
            "account",
            "read",
            True,
            method="GET",
            inputs=("account_id",),
            path_inputs=("account_id",),
            returns=("balance", "card_number", "id_number", "phone", "owner"),
            path="/api/accounts/{account_id}",
        ),
        "history": OperationInfo(
            "history",
            "read",
            True,
            method="GET",
            inputs=("account_id",),
            path_inputs=("account_id",),
            returns=("transactions",),
            path="/api/accounts/{account_id}/transactions",
        ),
        "transfer": OperationInfo(
            "transfer",
            "create",
            True,
            signed=True,
            method="POST",
            inputs=("from_account", "to_account", "amount"),
            body_fields=("from_account", "to_account", "amount"),
            returns=("transfer_id", "balance"),
            path="/api/transfers",
            field_roles={"from_account": "from_account", "to_account": "to_account", "amount": "amount"},
        ),
    }
    _RETURNS: ClassVar[dict[str, dict[str, str]]] = {
        "account": {
            "balance": "balance",
            "card_number": "card_number",
            "id_number": "id_number",
            "phone": "phone",
            "owner": "owner",
        },
        "history": {"items": "transactions"},
        "transfer": {"transfer_id": "transfer_id", "balance": "balance"},
    }

    def has(self, operation: str) -> bool:
        return operation in self._OPS

    def operations(self) -> dict[str, OperationInfo]:
        return dict(self._OPS)

    def info(self, operation: str) -> OperationInfo:
        if operation == "login":
            return OperationInfo(
                "login",
                "action",
                False,
                method="POST",
                inputs=("username", "password"),
                returns=("token", "sign_key"),
                path="/api/login",
                field_roles={"username": "username", "password": "password"},
            )
        if operation == "logout":
            return OperationInfo("logout", "action", True, method="POST", by_session=True, path="/api/logout")
        try:
            return self._OPS[operation]
        except KeyError:
            raise DriverError(f"RefPay has no operation {operation!r}") from None

    def object_ids(self) -> set[str]:
        return {"account_id", "from_account"}

    def objects(self) -> dict[str, ObjectKind]:
        return {}

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call:
        if operation == "login":
            login = {"username": fields.get("username"), "password": fields.get("password")}
            return Call("login", "POST", self.base_url + "/api/login", {}, login)
        if session is None or (not session.token and not session.forged):
            raise DriverError(f"{operation} needs a logged-in session")
        own = session.account.account_id
        headers = {"Authorization": f"Bearer {session.token}"} if session.token else {}
        if operation in ("account", "history"):
            acct = fields.get("account_id", own)
            path = f"/api/accounts/{acct}" + ("/transactions" if operation == "history" else "")
            return Call(operation, "GET", self.base_url + path, headers)
        if operation == "transfer":
            body: dict[str, Any] = {
                "from_account": fields.get("from_account", own),
                "to_account": fields.get("to_account"),
                "amount": fields.get("amount"),
                **self.stamp(),
            }
            call = Call(operation, "POST", self.base_url + "/api/transfers", headers, body)
            if session.sign_key:
                call.json["signature"] = self.sign_values(body, session.sign_key)
            return call
        if operation == "logout":
            return Call(operation, "POST", self.base_url + "/api/logout", headers)
        raise DriverError(f"RefPay has no operation {operation!r}")

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
        return None  # RefPay documents no operation that destroys or resets data

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
        if answer.status_code != 200:
            raise DriverError(f"cannot log in as {account.name!r}: {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            raise DriverError(f"the login answer for {account.name!r} is not JSON") from None
        return self._session_from(account, data, self.new_http())

    @staticmethod
    def _session_from(account: Account, data: Any, http: requests.Session) -> DriverSession:
        data = data if isinstance(data, dict) else {}
        token, key = str(data.get("token", "")), data.get("sign_key")
        if not token:
            raise DriverError(f"the login answer for {account.name!r} carries no token")
        values = {**account.known(), "token": token}
        return DriverSession(account, token, str(key) if key else None, data, values, http)

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

    def describe_auth(self) -> str:
        return "Bearer 令牌（Python 驱动）"
