"""The declarative REST driver: everything it knows about a sample comes from the spec's `driver`.

Requests are built from the declared operations' templates over the call's fields and the session's
values (the account's declared values, the token, what the login, provisioning or an earlier step
captured); credentials are added as the declared auth schemes say; anti-CSRF tokens are fetched
where declared; signed operations are signed as the declared scheme says; multi-step operations
(flows) send their earlier steps while the last one is prepared."""

from __future__ import annotations

import base64
import re
import string
import time
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

import requests

from harness.deploy.base import Deployment, lab_session
from harness.deploy.scope import ScopeGuard
from harness.drivers import signing as signer
from harness.drivers.base import FOREIGN_ORIGIN, Call, DriverError, DriverSession, OperationInfo, SigningInfo
from harness.drivers.http import (
    HttpDriver,
    ResponseHook,
    answer_json,
    dig,
    fresh_values,
    html_input_value,
    jsonable,
    meets,
    with_values,
)
from harness.spec.model import (
    Account,
    AmountEncoding,
    AuthScheme,
    CsrfToken,
    LoginOperation,
    ObjectKind,
    Operation,
    RestDriver,
    Signing,
    Success,
)
from harness.templating import TemplateError, render, render_obj

# Kept importable from here: older modules and the conformance check use these names.
sign = signer.sign
canonical_string = signer.canonical_string
_jsonable = jsonable
__all__ = ["RestDriverImpl", "canonical_string", "dig", "from_wire_amount", "sign", "to_wire_amount"]

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_SESSION_COOKIE = re.compile(r"sess|sid|token|auth|login", re.IGNORECASE)


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


def _same_path(template: str, path: str) -> bool:
    """Whether a concrete or templated path is the declared template (placeholders match any segment)."""
    rx = re.sub(r"\\\{[^/]*?\\\}", "[^/]+", re.escape(template))
    norm = re.sub(r"\{[^/]*?\}", "x", path)
    return re.fullmatch(rx, norm) is not None or re.fullmatch(rx, path) is not None


def _names_for(desc: RestDriver, values: dict[str, Any]) -> RestDriver:
    """The description with the names a product derives from where it runs filled in: a cookie or
    header named after the port it serves on (``session_P{ports.http}``), whatever the lab chose."""

    def name(text: str | None, what: str) -> str | None:
        if text is None or "{" not in text:
            return text
        try:
            return render(text, values)
        except TemplateError as e:
            raise DriverError(f"{what}: {e} (names may use the deployment's {{host}} and {{ports.NAME}})") from None

    def scheme(s: AuthScheme) -> AuthScheme:
        return s.model_copy(update={"cookie": name(s.cookie, "auth cookie"), "header": name(s.header, "auth header")})

    def csrf(c: CsrfToken | None) -> CsrfToken | None:
        if c is None:
            return None
        return c.model_copy(update={"name": name(c.name, "csrf name"), "send_name": name(c.send_name, "csrf name")})

    def op(o: Operation) -> Operation:
        auth = [scheme(s) for s in o.auth] if isinstance(o.auth, list) else o.auth
        return o.model_copy(
            update={"auth": auth, "credentials": [scheme(s) for s in o.credentials], "csrf": csrf(o.csrf)}
        )

    auth = [scheme(s) for s in desc.auth] if isinstance(desc.auth, list) else scheme(desc.auth)
    return desc.model_copy(
        update={
            "auth": auth,
            "csrf": csrf(desc.csrf),
            "login": op(desc.login) if desc.login is not None else None,
            "logout": op(desc.logout) if desc.logout is not None else None,
            "operations": {n: op(o) for n, o in desc.operations.items()},
        }
    )


def _role_unsafe(op: Operation) -> str | None:
    """Why a password operation is never sent by a generic probe: it would change a test account's
    password (or send reset codes) in the middle of a run. Only the credential checks send it."""
    if op.role is None:
        return None
    return f"{op.role}: changes or resets a password; only the credential checks send it"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _render(template: str, values: dict[str, Any], what: str) -> str:
    try:
        return render(template, values)
    except TemplateError as e:
        raise DriverError(f"{what}: {e}") from None


class RestDriverImpl(HttpDriver):
    def __init__(
        self,
        desc: RestDriver,
        deployment: Deployment,
        guard: ScopeGuard,
        on_response: ResponseHook | None = None,
    ):
        super().__init__(deployment, guard, on_response, list(desc.accounts), desc.tls_verify, desc.timeout_s)
        self.desc = _names_for(desc, deployment.url_values())
        self.base_url = deployment.url(desc.base_url).rstrip("/")
        self.http = lab_session(desc.tls_verify, guard)  # anonymous requests (the conformance check's transport)

    # -- operations ------------------------------------------------------------------------------
    def has(self, operation: str) -> bool:
        return operation in self.desc.operations or operation in self.desc.flows

    def operation(self, name: str) -> Operation:
        """The declared request; for a flow, its last step (the one that moves money). Without a
        login, "login" is the request a password attempt is made with (see ``password_probe``)."""
        if name == "login" and self.desc.login is not None:
            return self.desc.login
        if name == "login" and name not in self.desc.operations and self.password_probe() is not None:
            return self.desc.operations[str(self.password_probe())]
        if name == "logout" and self.desc.logout is not None:
            return self.desc.logout
        if name in self.desc.flows:
            return self.operation(self.desc.flows[name][-1].operation)
        try:
            return self.desc.operations[name]
        except KeyError:
            raise DriverError(f"the spec declares no operation {name!r}") from None

    def info(self, name: str) -> OperationInfo:
        if name in self.desc.flows:
            steps = [self.operation(s.operation) for s in self.desc.flows[name]]
            captured = {c for s in self.desc.flows[name] for c in s.capture} | {c for op in steps for c in op.capture}
            last = steps[-1]
            return OperationInfo(
                name=name,
                kind=last.effective_kind(),
                auth=any(bool(op.auth) or bool(op.credentials) for op in steps),
                by_session=last.auth is True,
                signed=any(op.signed for op in steps),
                unsafe=next((op.unsafe or _role_unsafe(op) for op in steps if op.unsafe or op.role), None),
                method=last.method,
                inputs=tuple(dict.fromkeys(i for op in steps for i in op.inputs() if i not in captured)),
                path_inputs=tuple(dict.fromkeys(i for op in steps for i in op.path_inputs() if i not in captured)),
                body_fields=tuple((last.body or {}).keys()) if isinstance(last.body, dict) else (),
                returns=tuple([*last.returns.values(), *last.capture.values()]),
            )
        op = self.operation(name)
        read = [p for p in [*op.returns.values(), *op.capture.values()] if p not in ("$", "")]
        if isinstance(op, LoginOperation):
            read += [p for p in (op.token_from, op.sign_key_from) if p]
        return OperationInfo(
            name=name,
            kind=op.effective_kind(),
            auth=bool(op.auth) or bool(op.credentials),
            by_session=op.auth is True,
            signed=op.signed,
            unsafe=op.unsafe or _role_unsafe(op),
            method=op.method,
            inputs=tuple(op.inputs()),
            path_inputs=tuple(op.path_inputs()),
            body_fields=tuple((op.body or {}).keys()) if isinstance(op.body, dict) else (),
            returns=tuple(dict.fromkeys(read)),
            role=op.role,
        )

    def operations(self) -> dict[str, OperationInfo]:
        return {n: self.info(n) for n in [*self.desc.operations, *self.desc.flows]}

    def object_ids(self) -> set[str]:
        """The value names that identify an account's own things: the declared object kinds' IDs,
        and every value the accounts hold under different values (their account numbers, user IDs)."""
        ids = {o.id for o in self.desc.objects.values()}
        accts = self.accounts()
        names = (
            {n for a in accts for n in a.known()} - {"password", "balance", "sign_secret"} - self._credential_names()
        )
        for n in names:
            vals = [a.known().get(n) for a in accts]
            if len(accts) > 1 and all(vals) and len(set(vals)) == len(vals):
                ids.add(n)
        if any(a.account_id for a in accts):
            ids |= {"account_id", "from_account"}
        return ids

    def _credential_names(self) -> set[str]:
        """Values that are credentials (named by an auth scheme or the signing key), not identifiers."""
        schemes = [*self.desc.auth_schemes()]
        for op in self.desc.operations.values():
            schemes += op.credentials + (list(op.auth) if isinstance(op.auth, list) else [])
        texts = [t for s in schemes for t in (s.value, s.username, s.password) if t]
        if self.desc.signing is not None and self.desc.signing.key_value:
            texts.append(self.desc.signing.key_value)
        names = {f.split(".")[0] for t in texts for _, f, _, _ in string.Formatter().parse(t) if f}
        return (names - {"username"}) | {"token"}

    def signed_fields(self) -> list[str]:
        return list(self.desc.signing.fields) if self.desc.signing else []

    def objects(self) -> dict[str, ObjectKind]:
        return dict(self.desc.objects)

    # -- building requests -----------------------------------------------------------------------
    def _values(self, session: DriverSession | None, fields: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if session is not None:
            values.update(session.account.known())
            values.update(session.values)
            values["token"] = session.token
            acct = session.account
            if acct.account_id:
                values.setdefault("account_id", acct.account_id)
                values["from_account"] = acct.account_id
        values.update(fields)
        return values

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call:
        if operation in self.desc.flows:
            return self._prepare_flow(operation, session, fields)
        op = self.operation(operation)
        values = self._values(session, fields)
        if op.amounts is not None:
            for name in op.amounts.fields:
                if name in values:
                    values[name] = to_wire_amount(op.amounts, values[name])
        what = f"operation {operation!r}"
        try:
            path = render(op.path, values)
            body = render_obj(op.body, values) if op.body is not None else None
            params = {k: render(v, values) for k, v in op.query.items()}
            headers = {k: render(v, values) for k, v in op.headers.items()}
        except TemplateError as e:
            raise DriverError(f"{what}: {e}") from None
        call = Call(operation, op.method, self.base_url + path, headers, None, params)
        if op.encoding == "form":
            call.form = {k: "" if v is None else str(v) for k, v in (body or {}).items()}
        else:
            call.json = body
        if op.auth:
            if session is None:
                raise DriverError(f"{what} needs a logged-in session")
            schemes = self.desc.auth_schemes() if op.auth is True else list(op.auth)
            self._authenticate(call, schemes, session, what, own=op.auth is not True)
        if op.credentials:
            if session is None:
                raise DriverError(f"{what} needs the session's credentials")
            self._authenticate(call, op.credentials, session, what, own=True)
        csrf = op.csrf or (self.desc.csrf if op.changes_state() and op.auth is True else None)
        if csrf is not None and not (session is not None and session.browser == "cross-site"):
            self._add_csrf(call, csrf, self.http_for(session), session)
        if session is not None and session.browser:
            self._browser_origin(call, session.browser)
        if op.signed:
            self._sign(call, session)
        return call

    def _browser_origin(self, call: Call, browser: str) -> None:
        """Origin and Referer as a browser sends them from the product's own page or a foreign one
        (Origin only on requests other than GET, as browsers do for navigations)."""
        origin = FOREIGN_ORIGIN if browser == "cross-site" else _origin(self.base_url)
        call.headers["Referer"] = origin + "/"
        if call.method.upper() != "GET":
            call.headers["Origin"] = origin

    def _prepare_flow(self, name: str, session: DriverSession | None, fields: dict[str, Any]) -> Call:
        """Send every step of a multi-step operation but the last, capturing what later steps
        name; the last step is returned unsent (the checks replay and tamper with it)."""
        steps = self.desc.flows[name]
        values = dict(fields)
        for st in steps[:-1]:
            extra = {k: _render(v, {**self._values(session, values)}, f"flow {name!r}") for k, v in st.fields.items()}
            call = self.prepare(st.operation, session, **{**values, **extra})
            resp = self.send(call, session, note=f"{name}：{st.operation}")
            if not self.succeeded(st.operation, resp):
                last = Call(name, call.method, call.url, preanswered=resp)
                return last
            values.update(self._captured(st.operation, resp, {**self.operation(st.operation).capture, **st.capture}))
        last_step = steps[-1]
        extra = {k: _render(v, self._values(session, values), f"flow {name!r}") for k, v in last_step.fields.items()}
        call = self.prepare(last_step.operation, session, **{**values, **extra})
        call.operation = name
        return call

    def _captured(self, operation: str, resp: requests.Response, capture: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not capture:
            return out
        data = answer_json(resp)
        for name, path in capture.items():
            try:
                out[name] = dig(data, path)
            except KeyError:
                raise DriverError(
                    f"{operation}: the answer ({resp.status_code}) has no field {path!r} to capture as {name!r}"
                ) from None
        return out

    def _authenticate(
        self, call: Call, schemes: list[AuthScheme], session: DriverSession, what: str, own: bool = False
    ) -> None:
        """Add the credentials of ``schemes``. ``own``: credentials of the operation itself (Basic on an
        API beside a cookie-session web face), rendered from the account's values; a forged session
        keeps them, a session stripped of every credential does not."""
        if session.forged and not session.token:
            return  # a negative control: no credential at all
        if session.browser:
            return  # a browser's request carries the session's cookies (its jar) and nothing else
        values = self._values(session, {})
        if session.forged and self.desc.login is None and not own:
            # A login-less credential (an API key, Basic credentials) forged as a whole: send the
            # forged text where the first scheme puts its credential, and nothing else.
            self._forged_credential(call, self.desc.auth_schemes()[0], session.token)
            return
        for s in schemes:
            if s.kind in ("bearer", "header"):
                call.headers[s.header] = s.prefix + _render(s.value, values, what)
            elif s.kind == "basic":
                pair = f"{_render(s.username, values, what)}:{_render(s.password, values, what)}"
                call.headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            elif s.kind == "query":
                assert s.param is not None  # the model guarantees it
                call.params[s.param] = _render(s.value, values, what)
            # cookie: the account's own jar (or the frozen/forged cookies) carries it: see http_for

    def credentials(self, session: DriverSession) -> tuple[dict[str, str], dict[str, str]]:
        """The headers and query parameters the session's credentials add to a request (its
        cookies travel in ``session.http``): for tools that send requests of their own."""
        call = Call("auth", "GET", self.base_url)
        self._authenticate(call, self.desc.auth_schemes(), session, "auth")
        return call.headers, call.params

    def unsafe(self, method: str, path: str) -> str | None:
        """Why a request must never be sent by a generic tool (None when it may be)."""
        from fnmatch import fnmatchcase

        for pattern in self.desc.unsafe_paths:
            m, _, p = pattern.partition(" ") if " " in pattern else ("*", "", pattern)
            if fnmatchcase(method.upper(), m.upper()) and fnmatchcase(path, p):
                return f"spec: unsafe_paths {pattern!r}"
        for name, op in self.desc.operations.items():
            why = op.unsafe or _role_unsafe(op)
            if why and op.method.upper() == method.upper() and _same_path(op.path, path):
                return f"operation {name}: {why}"
        return None

    @staticmethod
    def _forged_credential(call: Call, s: AuthScheme, text: str) -> None:
        if s.kind == "basic":
            call.headers["Authorization"] = "Basic " + base64.b64encode(text.encode()).decode()
        elif s.kind == "query":
            assert s.param is not None
            call.params[s.param] = text
        elif s.kind in ("bearer", "header"):
            call.headers[s.header] = s.prefix + text

    def _add_csrf(self, call: Call, rule: CsrfToken, http: requests.Session, session: DriverSession | None) -> None:
        token = self.csrf_token(rule, http, session)
        if token is None:
            if session is not None and session.forged:
                return  # a forged or revoked credential: the request goes without, as an attacker's would
            if session is not None and not (session.jar or (session.http is not None and len(session.http.cookies))):
                return  # no cookie at all: nothing a forged page could ride on, nothing for the token to guard
            raise DriverError(f"no anti-CSRF token {rule.name!r} ({rule.source}) for {call.operation!r}")
        name = rule.send_name or rule.name
        if rule.send_as == "header":
            call.headers[name] = token
        elif call.form is not None:
            call.form[name] = token
        elif isinstance(call.json, dict):
            call.json[name] = token
        elif call.json is None and call.method != "GET":
            call.form = {name: token}
        else:
            call.params[name] = token

    def csrf_token(self, rule: CsrfToken, http: requests.Session, session: DriverSession | None = None) -> str | None:
        """The anti-CSRF token as the product hands it out (a page's hidden input, a cookie, a
        header or a JSON field), fetched on the account's own HTTP session."""
        resp = None
        if rule.page:
            path = _render(rule.page, self._values(session, {}), "csrf page") if session is not None else rule.page
            page = Call("csrf", "GET", self.base_url + path)
            resp = self.transmit(http, page, note=f"获取防跨站令牌 {rule.name}")
        if rule.source == "cookie":
            value = http.cookies.get(rule.name)
            return str(value) if value is not None else None
        if resp is None:
            return None
        if rule.source == "header":
            return resp.headers.get(rule.name)
        if rule.source == "json":
            try:
                return str(dig(answer_json(resp), rule.name))
            except KeyError:
                return None
        return html_input_value(resp.text, rule.name)

    # -- signing ---------------------------------------------------------------------------------
    def _scheme(self) -> Signing:
        if self.desc.signing is None:
            raise DriverError("the spec declares no signing scheme")
        return self.desc.signing

    def signing(self) -> SigningInfo | None:
        s = self.desc.signing
        if s is None:
            return None
        return SigningInfo(tuple(s.fields), s.nonce_field, s.timestamp_field, s.signature_field, s.signature_in)

    def signing_key(self, session: DriverSession | None) -> str:
        s = self._scheme()
        if s.key == "session":
            if session is None or not session.sign_key:
                raise DriverError("signing needs the session key the login answer carries")
            return session.sign_key
        if s.key == "account":
            if session is None or not session.account.sign_secret:
                raise DriverError("signing by account needs the account's sign_secret in the spec")
            return session.account.sign_secret
        assert s.key_value is not None  # the model guarantees it
        return _render(s.key_value, self._values(session, {}), "signing key")

    def sign_values(self, values: dict[str, Any], key: str, fields: list[str] | None = None) -> str:
        return signer.sign(self._scheme(), key, values, fields)

    def _sign(self, call: Call, session: DriverSession | None) -> None:
        s = self._scheme()
        now = time.time()
        stamp: dict[str, Any] = {}
        if s.nonce_field:
            stamp[s.nonce_field] = uuid.uuid4().hex
        if s.timestamp_field:
            stamp[s.timestamp_field] = int(now * 1000) if s.timestamp_unit == "ms" else int(now)
        if call.form is not None:
            call.form.update({k: str(v) for k, v in stamp.items()})
        elif isinstance(call.json, dict) or (call.json is None and call.method != "GET"):
            call.json = {**(call.json or {}), **stamp}
        else:
            call.params.update({k: str(v) for k, v in stamp.items()})
        signature = self.sign_values(call.body_values(), self.signing_key(session))
        self._place(call, s, signature)

    @staticmethod
    def _place(call: Call, s: Signing, signature: str) -> None:
        if s.signature_in == "header":
            call.headers[s.signature_field] = signature
        elif s.signature_in == "query":
            call.params[s.signature_field] = signature
        elif call.form is not None:
            call.form[s.signature_field] = signature
        else:
            call.json = {**(call.json or {}), s.signature_field: signature}

    def with_signature(self, call: Call, signature: str) -> Call:
        new = call.copy()
        self._place(new, self._scheme(), signature)
        return new

    def resign(self, call: Call, session: DriverSession) -> Call:
        """Recompute the signature over the call's current values (used to isolate one defect)."""
        s = self._scheme()
        values = {k: v for k, v in call.body_values().items() if k != s.signature_field}
        return self.with_signature(call, self.sign_values(values, self.signing_key(session)))

    # -- answers ---------------------------------------------------------------------------------
    def succeeded(self, operation: str, response: requests.Response) -> bool:
        op = self.operation(operation)
        return meets(op.success, op.expect_status, response)

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

    # -- sessions --------------------------------------------------------------------------------
    def can_login(self) -> bool:
        return self.desc.login is not None

    def tries_passwords(self) -> bool:
        return self.can_login() or self.password_probe() is not None

    def password_probe(self) -> str | None:
        """For a product with no login whose every request carries the password (HTTP Basic): the
        safe, authenticated read that the session's own credentials decide and an account's own
        values fill. Its answer to a wrong password is what a failed login is elsewhere; its declared
        success, what a successful one is. None when there is a login or no such read."""
        if self.desc.login is not None or not any(s.kind == "basic" for s in self.desc.auth_schemes()):
            return None
        accts = self.declared
        fillable = set.intersection(*(set(a.known()) for a in accts)) if accts else set()
        if self.desc.provision is not None:
            fillable |= {"username", "password", *self.desc.provision.values}
        reads = [
            n
            for n, op in self.desc.operations.items()
            if op.effective_kind() == "read" and op.auth is True and not op.unsafe and set(op.inputs()) <= fillable
        ]
        reads.sort(key=lambda n: n != "account")  # the account's own record, where there is one
        return reads[0] if reads else None

    def can_logout(self) -> bool:
        return self.desc.logout is not None

    def _login_op(self) -> LoginOperation:
        if self.desc.login is None:
            raise DriverError("the spec declares no login (credentials go with every request)")
        return self.desc.login

    def _login_on(self, http: requests.Session, account: Account, password: str | None = None) -> requests.Response:
        op = self._login_op()
        values: dict[str, Any] = dict(account.known())
        if password is not None:
            values["password"] = password
        what = "login"
        body = None
        try:
            path = render(op.path, values)
            if op.body is not None:
                body = render_obj(op.body, values)
            params = {k: render(v, values) for k, v in op.query.items()}
            headers = {k: render(v, values) for k, v in op.headers.items()}
        except TemplateError as e:
            raise DriverError(f"{what} for {account.name!r}: {e}") from None
        call = Call("login", op.method, self.base_url + path, headers, None, params)
        if op.encoding == "form":
            call.form = {k: "" if v is None else str(v) for k, v in (body or {}).items()}
        else:
            call.json = body
        if op.csrf is not None:
            token = self.csrf_token(op.csrf, http)
            if token is None:
                raise DriverError(f"the login page gives no anti-CSRF token {op.csrf.name!r} ({op.csrf.source})")
            name = op.csrf.send_name or op.csrf.name
            if op.csrf.send_as == "header":
                call.headers[name] = token
            elif call.form is not None:
                call.form[name] = token
            else:
                call.json = {**(call.json or {}), name: token}
        return self.transmit(http, call, note="login")

    def login(self, account: Account, password: str | None = None) -> requests.Response:
        """One login attempt on a fresh HTTP session (no cookie of another attempt comes along).
        Without a login, one request of the password probe with these credentials."""
        probe = self.password_probe()
        if self.desc.login is None and probe is not None:
            values: dict[str, Any] = dict(account.known())
            if password is not None:
                values["password"] = password
            http = self.new_http()
            attempt = DriverSession(account=account, token="", values=values, http=http)
            return self.transmit(http, self.prepare(probe, attempt), note=f"口令尝试（{probe}）")
        return self._login_on(self.new_http(), account, password)

    def login_succeeded(self, response: requests.Response) -> bool:
        return self.succeeded("login", response)

    def session(self, account: Account) -> DriverSession:
        resp, session = self.login_session(account)
        if session is None:
            assert resp is not None  # only a login can fail
            raise DriverError(
                f"cannot log in as declared test account {account.name!r}: {resp.status_code} {resp.text[:200]}",
                zh=f"声明的测试账户 {account.name} 无法登录（应答 {resp.status_code}）",
            )
        return session

    def login_session(self, account: Account) -> tuple[requests.Response | None, DriverSession | None]:
        """Log in: the login's answer and, when it is the declared success, the session it opened
        (None otherwise). Without a login (Basic, API keys) there is no answer, only the session."""
        http = self.new_http()
        values: dict[str, Any] = dict(account.known())
        if self.desc.login is None:
            credential = self._credential_text(values)
            values["token"] = credential
            return None, DriverSession(account=account, token=credential, values=values, http=http)
        resp = self._login_on(http, account)
        if not self.succeeded("login", resp):
            return resp, None
        return resp, self._session_from(account, http, resp, values)

    def session_from(self, account: Account, answer: Any) -> DriverSession:
        """The session a login answer opens, when another client (the load generator's) sent the
        login the driver prepared. A cookie session cannot be carried over to another client."""
        if all(s.kind == "cookie" for s in self.desc.auth_schemes()):
            raise DriverError("a cookie session cannot be handed to another HTTP client (load generation)")
        if not self.succeeded("login", answer):
            raise DriverError(f"cannot log in as declared test account {account.name!r}: {answer.status_code}")
        session = self._session_from(account, self.new_http(), answer, dict(account.known()))
        if session.http is not None:
            session.http.cookies.clear()  # the other client carries no cookie: the token alone authenticates
        session.credential_cookie = None
        return session

    def _session_from(
        self, account: Account, http: requests.Session, resp: Any, values: dict[str, Any]
    ) -> DriverSession:
        op = self._login_op()
        data = answer_json(resp)
        values.update(self._captured("login", resp, op.capture))
        cookie_scheme = next((s for s in self.desc.auth_schemes() if s.kind == "cookie"), None)
        token: str | None = None
        if op.token_from:
            try:
                token = str(dig(data, op.token_from))
            except KeyError:
                if cookie_scheme is None or "token_from" in op.model_fields_set:
                    raise DriverError(
                        f"login answer lacks the declared field {op.token_from!r}: {resp.text[:200]}"
                    ) from None
        credential_cookie = None
        if cookie_scheme is not None:
            if token is not None and cookie_scheme.cookie:
                # Keep the product's own cookie (with its attributes) when it already carries the token.
                if not any(c.name == cookie_scheme.cookie and c.value == token for c in http.cookies):
                    http.cookies.set(cookie_scheme.cookie, token, domain=self.deployment.host)
                credential_cookie = cookie_scheme.cookie
            else:
                credential_cookie = self._session_cookie(http, resp, cookie_scheme.cookie)
                token = str(http.cookies.get(credential_cookie))
        if token is None:
            raise DriverError("the login answer carries no session token the declared auth could use")
        sign_key = None
        if op.sign_key_from:
            try:
                sign_key = str(dig(data, op.sign_key_from))
            except KeyError:
                raise DriverError(f"login answer lacks the declared field {op.sign_key_from!r}") from None
        values["token"] = token
        return DriverSession(
            account=account,
            token=token,
            sign_key=sign_key,
            login_answer=data if data is not None else {},
            values=values,
            http=http,
            credential_cookie=credential_cookie,
        )

    @staticmethod
    def _session_cookie(http: requests.Session, resp: requests.Response, named: str | None) -> str:
        names = list(dict.fromkeys([*resp.cookies.keys(), *http.cookies.keys()]))
        if named:
            if named not in names:
                raise DriverError(f"the login set no cookie {named!r} (it set: {', '.join(names) or 'none'})")
            return named
        if not names:
            raise DriverError("the login set no cookie for the declared cookie session")
        return next((n for n in names if _SESSION_COOKIE.search(n)), names[0])

    def _credential_text(self, values: dict[str, Any]) -> str:
        """The credential of a login-less scheme (an API key, Basic credentials) as one text."""
        s = self.desc.auth_schemes()[0]
        if s.kind == "basic":
            return f"{_render(s.username, values, 'auth')}:{_render(s.password, values, 'auth')}"
        return _render(s.value, {**values, "token": ""}, "auth")

    def logout(self, session: DriverSession) -> requests.Response:
        if self.desc.logout is None:
            raise DriverError("the spec declares no logout operation")
        return self.send(self.prepare("logout", session), session, note="logout")

    # -- accounts through the product ------------------------------------------------------------
    def provision_account(self, account: Account) -> Account:
        p = self.desc.provision
        if p is None:
            return super().provision_account(account)
        values: dict[str, Any] = dict(account.known())
        session: DriverSession | None = None
        for st in p.steps:
            fields = {k: _render(v, values, f"provision {st.operation}") for k, v in st.fields.items()}
            if st.operation == "login":
                session = self.session(with_values(account, values))
                values.update({k: v for k, v in session.values.items() if k != "token"})
                continue
            op = self.operation(st.operation)
            if op.auth is True and session is None:
                session = self.session(with_values(account, values))
            use = session if op.auth is True else (self._credentials_only(account, values) if op.auth else None)
            call = self.prepare(st.operation, use, **{**values, **fields})
            resp = self.send(call, use, note=f"开立测试账户 {account.name}：{st.operation}")
            if not self.succeeded(st.operation, resp):
                raise DriverError(
                    f"provisioning {account.name!r}: {st.operation} was refused ({resp.status_code} {resp.text[:200]})"
                )
            got = self._captured(st.operation, resp, {**op.capture, **st.capture})
            values.update(got)
            if session is not None:
                session.values.update(got)
        declared = account.known()
        return with_values(account, {k: v for k, v in values.items() if declared.get(k) != v})

    def _credentials_only(self, account: Account, values: dict[str, Any]) -> DriverSession:
        """For an operation with credentials of its own (HTTP Basic beside a web login): the account's
        values, no login."""
        acct = with_values(account, values)
        return DriverSession(account=acct, token="", values=dict(values), http=self.new_http())

    def fresh_account(self, purpose: str) -> Account | None:
        p = self.desc.provision
        if p is None:
            return None
        vals = fresh_values({"username": p.username, "password": p.password, **p.values})
        acct = Account(
            name=f"{purpose}-{uuid.uuid4().hex[:6]}",
            username=vals.pop("username"),
            password=vals.pop("password"),
            values=vals,
            provision=True,
        )
        return self.provision_account(acct)

    # -- the web face ----------------------------------------------------------------------------
    def web_base_url(self) -> str | None:
        return self.base_url

    def web_login_path(self) -> str | None:
        return self.desc.web_login_path

    def web_login_success(self) -> Success | None:
        return self.desc.web_login_success

    def describe_auth(self) -> str:
        kinds = {
            "bearer": "Bearer 令牌",
            "header": "请求头凭证",
            "cookie": "Cookie 会话",
            "basic": "HTTP Basic 认证",
            "query": "查询参数密钥",
        }
        return "＋".join(kinds[s.kind] for s in self.desc.auth_schemes())
