"""Building the REST driver's requests: templates over the session's values, credentials as the
declared auth schemes say, anti-CSRF tokens, flows, and signing.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import requests

from harness.drivers import signing as signer
from harness.drivers.base import FOREIGN_ORIGIN, Call, DriverError, DriverSession, SigningInfo
from harness.drivers.http import answer_json, dig, html_input_value
from harness.drivers.rest_operations import RestOperations
from harness.drivers.rest_wire import _origin, _render, _role_unsafe, _same_path, to_wire_amount
from harness.spec.model import AuthScheme, CsrfToken, Signing
from harness.templating import TemplateError, render, render_obj


class RestRequests(RestOperations):
    """Requests built from the declared operations, with credentials, anti-CSRF tokens and signatures."""

    base_url: str

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

    def stamp(self) -> dict[str, Any]:
        s = self.desc.signing
        if s is None:
            return {}
        now = time.time()
        out: dict[str, Any] = {}
        if s.nonce_field:
            out[s.nonce_field] = uuid.uuid4().hex
        if s.timestamp_field:
            out[s.timestamp_field] = int(now * 1000) if s.timestamp_unit == "ms" else int(now)
        return out

    def _sign(self, call: Call, session: DriverSession | None) -> None:
        s = self._scheme()
        stamp = self.stamp()
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

    def wire_value(self, operation: str, name: str, value: Any) -> Any:
        op = self.operation(operation)
        if op.amounts is not None and name in op.amounts.fields:
            return to_wire_amount(op.amounts, value)
        return value
