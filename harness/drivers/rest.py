"""The declarative REST driver: everything it knows about a sample comes from the spec's `driver`.

Requests are built from the declared operations' templates over the call's fields and the session's
values (the account's declared values, the token, what the login, provisioning or an earlier step
captured); credentials are added as the declared auth schemes say; anti-CSRF tokens are fetched
where declared; signed operations are signed as the declared scheme says; multi-step operations
(flows) send their earlier steps while the last one is prepared.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import requests

from harness.deploy.base import Deployment, lab_session
from harness.deploy.scope import ScopeGuard
from harness.drivers import signing as signer
from harness.drivers.base import Call, DriverError, DriverSession
from harness.drivers.http import ResponseHook, answer_json, dig, fresh_values, jsonable, with_values
from harness.drivers.rest_requests import RestRequests
from harness.drivers.rest_wire import _names_for, _render, from_wire_amount, to_wire_amount
from harness.spec.model import Account, LoginOperation, RestDriver, Success
from harness.templating import TemplateError, render, render_obj

# Kept importable from here: older modules and the conformance check use these names.
sign = signer.sign
canonical_string = signer.canonical_string
_jsonable = jsonable
__all__ = ["RestDriverImpl", "canonical_string", "dig", "from_wire_amount", "sign", "to_wire_amount"]

_SESSION_COOKIE = re.compile(r"sess|sid|token|auth|login", re.IGNORECASE)


class RestDriverImpl(RestRequests):
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

    # -- sessions --------------------------------------------------------------------------------
    def can_login(self) -> bool:
        return self.desc.login is not None

    def tries_passwords(self) -> bool:
        return self.can_login() or self.password_probe() is not None

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
        login the driver prepared. A session that only cookies carry cannot be carried over to another
        client; one whose token also goes in a header or the query (a bearer token beside the web
        face's cookie) can: its requests authenticate without the jar."""
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

    def describe_auth(self, language: str = "zh") -> str:
        kinds = {
            "bearer": ("Bearer 令牌", "bearer token"),
            "header": ("请求头凭证", "credential header"),
            "cookie": ("Cookie 会话", "cookie session"),
            "basic": ("HTTP Basic 认证", "HTTP Basic authentication"),
            "query": ("查询参数密钥", "query-parameter key"),
        }
        words = [kinds[s.kind][1 if language == "en" else 0] for s in self.desc.auth_schemes()]
        return " + ".join(words) if language == "en" else "＋".join(words)
