"""What every driver of an HTTP product shares, whatever builds its requests (the spec's REST
description, or a Python driver's own code): each account's own HTTP session and cookie jar, sending
inside the scope guard with an evidence transcript, redirects never followed, answers judged against
declared success rules, accounts provisioned through the product's API once per deployment."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import requests

from harness.deploy.base import Deployment, lab_session
from harness.deploy.scope import ScopeGuard
from harness.drivers.base import Call, DriverError, DriverSession
from harness.spec.model import ACCOUNT_FIELDS, Account, Success

ResponseHook = Callable[[requests.Response, str], None]


def dig(obj: Any, path: str) -> Any:
    """Follow a dotted path ("data.token", "items.0.id") into a JSON answer; KeyError if absent."""
    cur = obj
    if path in ("$", ""):
        return cur  # the whole answer (a create that answers with a bare ID)
    for part in path.removeprefix("$.").split("."):
        if isinstance(cur, list) and part.lstrip("-").isdigit():
            try:
                cur = cur[int(part)]
            except IndexError:
                raise KeyError(path) from None
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            raise KeyError(path)
    return cur


def jsonable(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [jsonable(v) for v in obj]
    return obj


def answer_json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def meets(rule: Success | None, expect_status: int, resp: requests.Response) -> bool:
    """Whether an answer is the declared success (status, fields, redirect target, cookie)."""
    statuses = [expect_status] if rule is None or rule.status is None else rule.status
    statuses = statuses if isinstance(statuses, list) else [statuses]
    if resp.status_code not in statuses:
        return False
    if rule is None:
        return True
    body = answer_json(resp) if (rule.fields or rule.present or rule.absent) else None
    for path, want in rule.fields.items():
        try:
            if _text(dig(body, path)) != want:
                return False
        except KeyError:
            return False
    for path in rule.present:
        try:
            if dig(body, path) in (None, "", [], {}):
                return False
        except KeyError:
            return False
    for path in rule.absent:
        try:
            if dig(body, path) not in (None, "", [], {}, False):
                return False
        except KeyError:
            continue
    text = resp.text if (rule.body_contains or rule.body_lacks) else ""
    if any(t not in text for t in rule.body_contains) or any(t in text for t in rule.body_lacks):
        return False
    location = resp.headers.get("Location", "")
    if rule.location is not None and rule.location not in location:
        return False
    if rule.location_not is not None and location and rule.location_not in location:
        return False
    return not (rule.cookie is not None and rule.cookie not in resp.cookies)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "" if v is None else str(v)


_PROVISIONED: dict[tuple[int, str], dict[str, Account]] = {}
_PROVISION_FAILED: dict[tuple[int, str], DriverError] = {}
_PROVISION_LOCK = threading.Lock()


def fresh_values(templates: dict[str, str]) -> dict[str, str]:
    """Values for a fresh account: each ``{random}`` is the same new token within one account."""
    token = secrets.token_hex(4)
    return {k: v.replace("{random}", token) for k, v in templates.items()}


def with_values(account: Account, values: dict[str, Any]) -> Account:
    """The account with captured values: a name of the account's own fields updates the field."""
    own = {k: str(v) for k, v in values.items() if k in ACCOUNT_FIELDS}
    rest = {k: str(v) for k, v in values.items() if k not in ACCOUNT_FIELDS}
    return account.model_copy(update={**own, "values": {**account.values, **rest}})


MAX_THROTTLE_WAIT_S = 130.0


def _retry_after(resp: requests.Response) -> float | None:
    """Seconds a throttling answer (429) asks the client to wait; None for any other answer."""
    if resp.status_code != 429:
        return None
    raw = resp.headers.get("Retry-After", "")
    try:
        return min(max(float(raw), 0.5), 65.0)
    except ValueError:
        return 5.0


class HttpDriver:
    """The shared machinery; subclasses build the requests (``prepare``) and log in.

    ``patient``: wait out the product's throttling (429, Retry-After) and resend, so a product that
    rate-limits the lab host is not judged by throttled answers. A check that observes throttling
    itself (login rate limiting) turns it off."""

    patient = True

    def __init__(
        self,
        deployment: Deployment,
        guard: ScopeGuard,
        on_response: ResponseHook | None,
        declared: list[Account],
        tls_verify: bool = False,
        timeout_s: float = 10.0,
    ):
        self.deployment = deployment
        self.guard = guard
        self.on_response = on_response
        self.declared = declared
        self.tls_verify = tls_verify
        self.timeout_s = timeout_s

    # -- accounts --------------------------------------------------------------------------------
    def _provision_key(self) -> tuple[int, str]:
        return (id(self.deployment), str(self.deployment.workdir))

    def accounts(self) -> list[Account]:
        """The declared test accounts, those marked ``provision`` created through the product's API
        on this deployment (once; later calls see the same accounts and their captured values)."""
        if not any(a.provision for a in self.declared):
            return list(self.declared)
        key = self._provision_key()
        with _PROVISION_LOCK:
            if key in _PROVISION_FAILED:
                raise _PROVISION_FAILED[key]  # once per deployment: the next check learns it at once
            done = _PROVISIONED.setdefault(key, {})
            try:
                for a in self.declared:
                    if a.provision and a.name not in done:
                        done[a.name] = self.provision_account(a)
            except DriverError as e:
                _PROVISION_FAILED[key] = e
                raise
            return [done.get(a.name, a) for a in self.declared]

    def account(self, name: str) -> Account:
        for a in self.accounts():
            if a.name == name:
                return a
        raise DriverError(f"no test account named {name!r}")

    def provision_account(self, account: Account) -> Account:
        raise DriverError("this driver cannot create accounts through the product (no provisioning declared)")

    def fresh_account(self, purpose: str) -> Account | None:
        """A new account made through the product's API for a check that uses one up (lockout), or
        None when the product documents no way to make one."""
        return None

    def can_login(self) -> bool:
        return False

    def tries_passwords(self) -> bool:
        """Whether a password can be tried (``login(account, password)``); by default through a
        login only."""
        return self.can_login()

    # -- sending ---------------------------------------------------------------------------------
    def new_http(self) -> requests.Session:
        return lab_session(self.tls_verify, self.guard)

    def http_for(self, session: DriverSession | None) -> requests.Session:
        """The account's own HTTP session; a fresh one (no cookies) for an anonymous request, and
        one holding exactly the frozen or forged cookies for such a session."""
        if session is not None and session.http is not None:
            return session.http
        http = self.new_http()
        if session is not None and session.jar:
            host = self.deployment.host
            for name, value in session.jar.items():
                http.cookies.set(name, value, domain=host)
        return http

    def send(self, call: Call, session: DriverSession | None = None, note: str = "") -> requests.Response:
        if call.preanswered is not None:
            # An earlier step of a multi-step operation was already refused: that is the answer.
            return call.preanswered
        return self.transmit(self.http_for(session), call, note)

    def transmit(self, http: requests.Session, call: Call, note: str = "") -> requests.Response:
        """Send one request on a given HTTP session (a login's own jar, an account's)."""
        self.guard.check_url(call.url)
        headers = dict(call.headers)
        data: bytes | dict[str, str] | None = None
        if call.form is not None:
            data = call.form
        elif call.json is not None:
            headers.setdefault("Content-Type", "application/json")
            data = json.dumps(jsonable(call.json), ensure_ascii=False).encode()
        waited = 0.0
        while True:
            try:
                resp = http.request(
                    call.method,
                    call.url,
                    headers=headers,
                    params=call.params or None,
                    data=data,
                    timeout=self.timeout_s,
                    allow_redirects=False,
                    verify=self.tls_verify,
                )
            except requests.Timeout as e:
                raise SampleTimeout(f"{call.method} {call.url}: no answer within {self.timeout_s:g} s ({e})") from None
            if self.on_response is not None:
                self.on_response(resp, note or call.operation)
            wait = _retry_after(resp)
            if not self.patient or wait is None or waited + wait > MAX_THROTTLE_WAIT_S:
                return resp
            # The product throttles the lab host (all of the lab's requests come from one address):
            # its own rate limit at work, not an answer to this request. Wait as told and resend.
            time.sleep(wait)
            waited += wait
            note = f"{note or call.operation}（样品限速，等待 {wait:g} 秒后重发）"

    def call(self, operation: str, session: DriverSession | None, **fields: Any) -> requests.Response:
        return self.send(self.prepare(operation, session, **fields), session)

    def prepare(self, operation: str, session: DriverSession | None, **fields: Any) -> Call:
        raise NotImplementedError

    def get_url(self, path: str, note: str = "", session: DriverSession | None = None) -> requests.Response:
        """A plain GET of a path on the sample (pages, headers, error probes)."""
        base = self.web_base_url() or ""
        call = Call("GET", "GET", base.rstrip("/") + "/" + path.lstrip("/"))
        return self.send(call, session, note or f"GET {path}")

    def web_base_url(self) -> str | None:
        return None

    def web_login_path(self) -> str | None:
        return None

    def web_login_success(self) -> Success | None:
        return None


class SampleTimeout(DriverError):
    """The sample did not answer in time. A lab error by default; availability checks, which send a
    control request, decide whether it is the product's."""


_CSRF_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE | re.DOTALL)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def html_input_value(html: str, name: str) -> str | None:
    """The value of the first ``<input name=...>`` in a page (a hidden CSRF token)."""
    for tag in _CSRF_INPUT.findall(html):
        attrs = {m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None) for m in _ATTR.finditer(tag)}
        if attrs.get("name") == name:
            return attrs.get("value", "")
    meta = re.search(
        rf"""<meta\b[^>]*name\s*=\s*["']{re.escape(name)}["'][^>]*content\s*=\s*["']([^"']*)["']""", html, re.I
    )
    return meta.group(1) if meta else None
