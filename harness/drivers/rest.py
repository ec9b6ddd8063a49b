"""The declarative REST driver: everything it knows about a sample comes from the spec's `driver`."""

from __future__ import annotations

import base64
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from harness.deploy.base import Deployment, lab_session
from harness.deploy.scope import ScopeGuard
from harness.drivers.base import Call, DriverError, DriverSession
from harness.spec.model import Account, AmountEncoding, Operation, RestDriver, Signing
from harness.templating import TemplateError, render, render_obj

ResponseHook = Callable[[requests.Response, str], None]


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path ("data.token", "items.0.id") into a JSON answer; KeyError if absent."""
    cur = obj
    for part in path.split("."):
        if isinstance(cur, list) and part.isdigit():
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise KeyError(path)
    return cur


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonable(v) for v in obj]
    return obj


def canonical_string(signing: Signing, body: dict[str, Any]) -> str:
    names = [*signing.fields, signing.nonce_field, signing.timestamp_field]
    names = list(dict.fromkeys(names))  # keep order, drop repeats
    if signing.canonical == "sorted-kv":
        return signing.separator.join(f"{n}={_text(body.get(n))}" for n in sorted(names))
    return signing.separator.join(_text(body.get(n)) for n in names)


_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def to_wire_amount(enc: AmountEncoding, value: Any) -> Any:
    """A decimal amount as the sample writes it (``minor-units``: 1.00 -> 100 with exponent 2).

    A value that is not a whole number of minor units becomes a JSON number with a fraction
    (0.001 -> 0.1) and anything that is not a plain finite number (text, NaN, "1e3") is left as it
    is: the sample, not the driver, must refuse a malformed amount."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        if not _PLAIN_NUMBER.fullmatch(value.strip()):
            return value
        value = value.strip()
    elif not isinstance(value, int | float | Decimal):
        return value
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return value
    if not d.is_finite():
        return value
    minor = d.scaleb(enc.exponent)
    if minor == minor.to_integral_value():
        return int(minor)
    return float(minor)


def from_wire_amount(enc: AmountEncoding, raw: Any) -> Decimal:
    """An amount the sample returned in minor units, as a decimal amount (100 -> 1.00)."""
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not re.fullmatch(r"-?\d+", str(raw).strip()):
        raise ValueError(f"{raw!r} is not a whole number of minor units")
    return Decimal(int(str(raw).strip())).scaleb(-enc.exponent)


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def sign(signing: Signing, key: str, body: dict[str, Any]) -> str:
    digest = "sha256" if signing.algorithm == "hmac-sha256" else "sm3"
    mac = hmac.new(key.encode(), canonical_string(signing, body).encode(), digest).digest()
    return mac.hex() if signing.encoding == "hex" else base64.b64encode(mac).decode()


class RestDriverImpl:
    def __init__(
        self,
        desc: RestDriver,
        deployment: Deployment,
        guard: ScopeGuard,
        on_response: ResponseHook | None = None,
    ):
        self.desc = desc
        self.deployment = deployment
        self.guard = guard
        self.base_url = deployment.url(desc.base_url).rstrip("/")
        self.http = lab_session(desc.tls_verify, guard)
        self.on_response = on_response

    # -- requests ------------------------------------------------------------------------------
    def has(self, operation: str) -> bool:
        return operation in self.desc.operations

    def operation(self, name: str) -> Operation:
        if name == "login":
            return self.desc.login
        if name == "logout" and self.desc.logout is not None:
            return self.desc.logout
        try:
            return self.desc.operations[name]
        except KeyError:
            raise DriverError(f"the spec declares no operation {name!r}") from None

    def _auth_headers(self, session: DriverSession | None) -> dict[str, str]:
        if session is None:
            return {}
        a = self.desc.auth
        if a.kind == "cookie":
            return {"Cookie": f"{a.cookie or 'session'}={session.token}"}
        return {a.header: f"{a.prefix}{session.token}"}

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call:
        op = self.operation(operation)
        values: dict[str, Any] = {}
        if session is not None:
            acct = session.account
            values.update(account_id=acct.account_id, from_account=acct.account_id, username=acct.username)
        values.update(fields)
        if op.amounts is not None:
            for name in op.amounts.fields:
                if name in values:
                    values[name] = to_wire_amount(op.amounts, values[name])
        try:
            path = render(op.path, values)
            body = render_obj(op.body, values) if op.body is not None else None
            params = {k: render(v, values) for k, v in op.query.items()}
            headers = {k: render(v, values) for k, v in op.headers.items()}
        except TemplateError as e:
            raise DriverError(f"operation {operation!r}: {e}") from None
        if op.auth:
            if session is None:
                raise DriverError(f"operation {operation!r} needs a logged-in session")
            headers.update(self._auth_headers(session))
        call = Call(operation, op.method, self.base_url + path, headers, body, params)
        if op.signed:
            self._sign(call, session)
        return call

    def _sign(self, call: Call, session: DriverSession | None) -> None:
        s = self.desc.signing
        assert s is not None  # the spec model guarantees it for signed operations
        body = call.json if call.json is not None else {}
        now = time.time()
        body[s.nonce_field] = uuid.uuid4().hex
        body[s.timestamp_field] = int(now * 1000) if s.timestamp_unit == "ms" else int(now)
        key = self.signing_key(session)
        signature = sign(s, key, body)
        if s.signature_in == "body":
            body[s.signature_field] = signature
        else:
            call.headers[s.signature_field] = signature
        call.json = body

    def signing_key(self, session: DriverSession | None) -> str:
        s = self.desc.signing
        if s is None:
            raise DriverError("the spec declares no signing scheme")
        if s.key == "session":
            if session is None or not session.sign_key:
                raise DriverError("signing needs the session key the login answer carries")
            return session.sign_key
        if session is None or not session.account.sign_secret:
            raise DriverError("signing by account needs the account's sign_secret in the spec")
        return session.account.sign_secret

    def resign(self, call: Call, session: DriverSession) -> Call:
        """Recompute the signature over the call's current fields (used to isolate one defect)."""
        s = self.desc.signing
        assert s is not None and call.json is not None
        new = call.copy()
        assert new.json is not None
        sig = sign(s, self.signing_key(session), new.json)
        if s.signature_in == "body":
            new.json[s.signature_field] = sig
        else:
            new.headers[s.signature_field] = sig
        return new

    def send(self, call: Call, session: DriverSession | None = None, note: str = "") -> requests.Response:
        self.guard.check_url(call.url)
        headers = dict(call.headers)
        data = None
        if call.json is not None:
            headers.setdefault("Content-Type", "application/json")
            data = json.dumps(_jsonable(call.json), ensure_ascii=False).encode()
        resp = self.http.request(
            call.method,
            call.url,
            headers=headers,
            params=call.params or None,
            data=data,
            timeout=self.desc.timeout_s,
            allow_redirects=False,
            verify=self.desc.tls_verify,
        )
        if self.on_response is not None:
            self.on_response(resp, note or call.operation)
        return resp

    def call(self, operation: str, session: DriverSession | None, **fields: Any) -> requests.Response:
        return self.send(self.prepare(operation, session, **fields), session)

    def get_url(self, path: str, note: str = "") -> requests.Response:
        """A plain GET of a path on the sample (pages, headers, error probes)."""
        url = self.base_url + path
        self.guard.check_url(url)
        resp = self.http.get(url, timeout=self.desc.timeout_s, allow_redirects=False, verify=self.desc.tls_verify)
        if self.on_response is not None:
            self.on_response(resp, note or f"GET {path}")
        return resp

    # -- answers -------------------------------------------------------------------------------
    def returned(self, response: requests.Response, operation: str, name: str) -> Any:
        op = self.operation(operation)
        path = op.returns.get(name, name)
        try:
            value = dig(response.json(), path)
        except (ValueError, KeyError, IndexError):
            raise DriverError(
                f"{operation}: the answer ({response.status_code}) has no field {path!r} declared for {name!r}"
            ) from None
        if op.amounts is not None and name in op.amounts.returns:
            try:
                return from_wire_amount(op.amounts, value)
            except ValueError as e:
                raise DriverError(f"{operation}: {name} ({path}): {e}") from None
        return value

    def signed_fields(self) -> list[str]:
        return list(self.desc.signing.fields) if self.desc.signing else []

    # -- sessions ------------------------------------------------------------------------------
    def login(self, account: Account, password: str | None = None) -> requests.Response:
        fields = {"username": account.username, "password": account.password if password is None else password}
        return self.send(self.prepare("login", None, **fields), note="login")

    def session(self, account: Account) -> DriverSession:
        resp = self.login(account)
        if resp.status_code != self.desc.login.expect_status:
            raise DriverError(
                f"cannot log in as declared test account {account.name!r}: {resp.status_code} {resp.text[:200]}"
            )
        try:
            data = resp.json()
            token = str(dig(data, self.desc.login.token_from))
            key = self.desc.login.sign_key_from
            sign_key = str(dig(data, key)) if key else None
        except (ValueError, KeyError) as e:
            raise DriverError(f"login answer lacks the declared field {e}") from None
        return DriverSession(account=account, token=token, sign_key=sign_key, login_answer=data)

    def logout(self, session: DriverSession) -> requests.Response:
        if self.desc.logout is None:
            raise DriverError("the spec declares no logout operation")
        return self.send(self.prepare("logout", session), session, note="logout")
