"""The REST driver against a small in-test product speaking every authentication kind the spec can
describe: a form login with a CSRF token and a cookie session, HTTP Basic, an API key in the query,
a user token plus a per-wallet key captured from another answer; success declared by the body (a
200 with an error code is a failure); accounts provisioned through the product's API; a two-step
payment (create an order, then pay it); signing in documented forms, proven by a worked example."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from harness.deploy.base import Deployment, Target
from harness.deploy.scope import ScopeGuard
from harness.drivers import DriverError, RestDriverImpl
from harness.drivers.signing import canonical_string, example_problem, sign
from harness.spec.model import RestDriver, Signing


class Shop:
    """State of the fake product: users, sessions, wallets, orders; and what each request carried."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, str] = {}  # session cookie -> user
        self.tokens: dict[str, str] = {}  # bearer token -> user
        self.csrf: dict[str, str] = {}  # pre-login cookie -> csrf token
        self.orders: dict[str, dict[str, Any]] = {}
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, name: str, password: str) -> dict[str, Any]:
        u = {
            "name": name,
            "password": password,
            "id": f"u-{secrets.token_hex(3)}",
            "wallet": f"w-{secrets.token_hex(3)}",
        }
        u["wallet_key"] = secrets.token_hex(8)
        u["api_key"] = f"k-{name}"
        u["balance"] = 100
        self.users[name] = u
        return u


def handler(shop: Shop) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _out(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _cookies(self) -> dict[str, str]:
            out = {}
            for part in (self.headers.get("Cookie") or "").split(";"):
                if "=" in part:
                    k, v = part.strip().split("=", 1)
                    out[k] = v
            return out

        def _user(self) -> dict[str, Any] | None:
            cookies = self._cookies()
            if cookies.get("sid") in shop.sessions:
                return shop.users[shop.sessions[cookies["sid"]]]
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                name, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
                u = shop.users.get(name)
                return u if u and u["password"] == pw else None
            if auth.startswith("Bearer ") and auth[7:] in shop.tokens:
                return shop.users[shop.tokens[auth[7:]]]
            key = parse_qs(urlsplit(self.path).query).get("api_key", [""])[0]
            return next((u for u in shop.users.values() if u["api_key"] == key), None)

        def _body(self) -> dict[str, Any]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                return {k: v[0] for k, v in parse_qs(raw).items()}
            return json.loads(raw) if raw else {}

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            with shop.lock:
                shop.seen.append({"path": path, "cookie": self.headers.get("Cookie", "")})
            if path == "/login":
                pre, tok = secrets.token_hex(4), secrets.token_hex(6)
                shop.csrf[pre] = tok
                page = f'<form method=post><input type="hidden" name="csrf_token" value="{tok}"></form>'
                return self._out(200, page, {"Set-Cookie": f"pre={pre}"})
            u = self._user()
            if u is None:
                return self._out(200, {"code": 401, "error": "not logged in"})  # 200 with an error body
            if path == "/me":
                return self._out(200, {"code": 0, "data": {"id": u["id"], "name": u["name"], "balance": u["balance"]}})
            if path.startswith("/wallets/"):
                wid = path.rsplit("/", 1)[1]
                if wid != u["wallet"] or self.headers.get("X-Wallet-Key") != u["wallet_key"]:
                    return self._out(403, {"code": 403})
                return self._out(200, {"code": 0, "balance": u["balance"]})
            return self._out(404, {"code": 404})

        def do_POST(self) -> None:
            path = urlsplit(self.path).path
            body = self._body()
            if path == "/login":
                pre = self._cookies().get("pre", "")
                u = shop.users.get(body.get("user", ""))
                if shop.csrf.get(pre) != body.get("csrf_token") or not u or u["password"] != body.get("pw"):
                    return self._out(302, "", {"Location": "/login?failed=1"})
                sid = secrets.token_hex(8)
                shop.sessions[sid] = u["name"]
                return self._out(302, "", {"Location": "/home", "Set-Cookie": f"sid={sid}; HttpOnly"})
            if path == "/api/token":
                u = shop.users.get(body.get("user", ""))
                if not u or u["password"] != body.get("pw"):
                    return self._out(200, {"code": 401, "error": "bad credentials"})
                tok = secrets.token_hex(8)
                shop.tokens[tok] = u["name"]
                return self._out(200, {"code": 0, "data": {"token": tok, "user_id": u["id"]}})
            if path == "/api/register":
                if body.get("user") in shop.users:
                    return self._out(200, {"code": 409})
                u = shop.add(body["user"], body["pw"])
                return self._out(
                    200, {"code": 0, "data": {"id": u["id"], "wallet": u["wallet"], "key": u["wallet_key"]}}
                )
            u = self._user()
            if u is None:
                return self._out(200, {"code": 401})
            if path == "/orders":
                oid = secrets.token_hex(4)
                shop.orders[oid] = {"owner": u["name"], "amount": int(body["amount"]), "paid": False}
                return self._out(200, {"code": 0, "order": {"id": oid}})
            if path.startswith("/orders/") and path.endswith("/pay"):
                order = shop.orders.get(path.split("/")[2])
                if not order or order["owner"] != u["name"] or self.headers.get("X-Pay-Pin") != "2468":
                    return self._out(200, {"code": 403})
                order["paid"] = True
                u["balance"] -= order["amount"]
                return self._out(200, {"code": 0, "balance": u["balance"]})
            return self._out(404, {"code": 404})

    return H


class _Dep(Deployment):
    def logs(self) -> str:
        return ""

    def read_file(self, relative: str) -> bytes:
        raise FileNotFoundError(relative)

    def alive(self) -> bool:
        return True


@pytest.fixture
def shop() -> Iterator[tuple[Shop, int]]:
    state = Shop()
    state.add("alice", "a-pw")
    state.add("bob", "b-pw")
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield state, server.server_address[1]
    finally:
        server.shutdown()


def driver_for(port: int, desc: dict[str, Any]) -> RestDriverImpl:
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [port])
    dep = _Dep(Target("m", "process"), "127.0.0.1", {"http": port}, Path("/tmp"))
    return RestDriverImpl(RestDriver.model_validate({"base_url": "http://{host}:{ports.http}", **desc}), dep, guard)


OK = {"fields": {"code": "0"}}


def test_form_login_with_csrf_gives_each_account_its_own_cookie_jar(shop: tuple[Shop, int]) -> None:
    state, port = shop
    d = driver_for(
        port,
        {
            "auth": {"kind": "cookie", "cookie": "sid"},
            "login": {
                "method": "POST",
                "path": "/login",
                "encoding": "form",
                "body": {"user": "{username}", "pw": "{password}"},
                "csrf": {"page": "/login", "source": "html", "name": "csrf_token"},
                "expect_status": 302,
                "success": {"location_not": "/login", "cookie": "sid"},
            },
            "operations": {"me": {"method": "GET", "path": "/me", "success": OK, "returns": {"name": "data.name"}}},
            "accounts": [
                {"name": "alice", "username": "alice", "password": "a-pw"},
                {"name": "bob", "username": "bob", "password": "b-pw"},
            ],
        },
    )
    alice, bob = (d.session(a) for a in d.accounts())
    assert alice.credential_cookie == "sid" and alice.token != bob.token
    state.seen.clear()
    assert d.returned(d.call("me", alice), "me", "name") == "alice"
    assert d.returned(d.call("me", bob), "me", "name") == "bob"
    assert d.returned(d.call("me", alice), "me", "name") == "alice"
    sent = [s["cookie"] for s in state.seen if s["path"] == "/me"]
    assert f"sid={alice.token}" in sent[0] and bob.token not in sent[0] and alice.token not in sent[1]
    # a wrong password: the product redirects back to the login page, which the spec says is a failure
    bad = d.login(d.accounts()[0], "wrong")
    assert bad.status_code == 302 and not d.succeeded("login", bad)
    # a 200 with an error code is no success either; the revoked/forged credential travels alone
    anon = alice.without_credentials()
    assert not d.succeeded("me", d.call("me", anon))
    assert d.succeeded("me", d.call("me", alice.with_token(alice.token)))
    assert not d.succeeded("me", d.call("me", alice.with_token("forged")))


def test_basic_and_query_keys_need_no_login(shop: tuple[Shop, int]) -> None:
    _, port = shop
    accts = [{"name": "alice", "username": "alice", "password": "a-pw", "values": {"api_key": "k-alice"}}]
    me = {"me": {"method": "GET", "path": "/me", "success": OK, "returns": {"name": "data.name"}}}
    basic = driver_for(port, {"auth": {"kind": "basic"}, "operations": me, "accounts": accts})
    s = basic.session(basic.accounts()[0])
    assert not basic.can_login() and basic.returned(basic.call("me", s), "me", "name") == "alice"
    assert not basic.succeeded("me", basic.call("me", s.with_token("alice:wrong")))
    assert not basic.succeeded("me", basic.call("me", s.without_credentials()))
    query = driver_for(
        port, {"auth": {"kind": "query", "param": "api_key", "value": "{api_key}"}, "operations": me, "accounts": accts}
    )
    s = query.session(query.accounts()[0])
    assert query.succeeded("me", query.call("me", s))
    assert not query.succeeded("me", query.call("me", s.with_token("k-nobody")))


def test_provisioned_accounts_a_token_and_a_captured_wallet_key_together(shop: tuple[Shop, int]) -> None:
    state, port = shop
    d = driver_for(
        port,
        {
            "auth": [
                {"kind": "bearer"},
                {"kind": "header", "header": "X-Wallet-Key", "prefix": "", "value": "{wallet_key}"},
            ],
            "login": {
                "method": "POST",
                "path": "/api/token",
                "body": {"user": "{username}", "pw": "{password}"},
                "success": OK,
                "token_from": "data.token",
                "capture": {"user_id": "data.user_id"},
            },
            "operations": {
                "register": {
                    "method": "POST",
                    "path": "/api/register",
                    "auth": False,
                    "success": OK,
                    "body": {"user": "{username}", "pw": "{password}"},
                },
                "wallet": {
                    "method": "GET",
                    "path": "/wallets/{wallet_id}",
                    "success": OK,
                    "returns": {"balance": "balance"},
                },
                "create_order": {
                    "method": "POST",
                    "path": "/orders",
                    "body": {"amount": "{amount}"},
                    "success": OK,
                    "capture": {"order_id": "order.id"},
                },
                "pay_order": {
                    "method": "POST",
                    "path": "/orders/{order_id}/pay",
                    "success": OK,
                    "credentials": [{"kind": "header", "header": "X-Pay-Pin", "prefix": "", "value": "{pin}"}],
                    "returns": {"balance": "balance"},
                },
            },
            "flows": {"pay": [{"operation": "create_order"}, {"operation": "pay_order"}]},
            "provision": {
                "steps": [{"operation": "register", "capture": {"wallet_id": "data.wallet", "wallet_key": "data.key"}}],
                "values": {"pin": "2468"},
            },
            "accounts": [
                {"name": "carol", "username": "carol", "password": "c-pw", "provision": True, "values": {"pin": "2468"}}
            ],
        },
    )
    (carol,) = d.accounts()
    assert "carol" in state.users and carol.values["wallet_id"] == state.users["carol"]["wallet"]
    assert d.accounts()[0].values == carol.values  # provisioned once per deployment
    s = d.session(carol)
    assert s.values["user_id"] == state.users["carol"]["id"]
    assert d.returned(d.call("wallet", s), "wallet", "balance") == 100
    paid = d.call("pay", s, amount=30)
    assert d.succeeded("pay", paid) and d.returned(paid, "pay", "balance") == 70
    refused = d.call("pay", s.with_token("forged"), amount=30)  # step one is refused: its answer stands
    assert not d.succeeded("pay", refused) and state.users["carol"]["balance"] == 70
    fresh = d.fresh_account("lockout")
    assert fresh is not None and fresh.username in state.users and fresh.values["wallet_key"]
    with pytest.raises(DriverError):
        d.call("wallet", d.session(fresh.model_copy(update={"password": "nope"})))


def test_signing_in_the_documented_forms() -> None:
    # "amount={amount}&to={to}&key={key}", MD5, upper-case hex: a common payment-gateway form
    s = Signing(
        algorithm="md5",
        canonical="template",
        template="amount={amount}&to={to}&key={key}",
        nonce_field=None,
        timestamp_field=None,
        encoding="hex-upper",
    )
    assert s.fields == ["amount", "to"]
    assert canonical_string(s, {"amount": "1.00", "to": "6002"}, "K") == "amount=1.00&to=6002&key=K"
    assert (
        sign(s, "K", {"amount": "1.00", "to": "6002"}) == hashlib.md5(b"amount=1.00&to=6002&key=K").hexdigest().upper()
    )
    assert canonical_string(s, {"amount": "1.00", "to": "6002"}, "K", fields=["to"]) == "to=6002&key=K"
    ordered = Signing(fields=["b", "a"], canonical="ordered-kv", nonce_field="n", timestamp_field=None)
    assert canonical_string(ordered, {"a": 1, "b": 2, "n": "x"}) == "b=2&a=1&n=x"
    js = Signing(fields=["b", "a"], canonical="json-sorted", nonce_field=None, timestamp_field=None)
    assert canonical_string(js, {"a": 1, "b": "2"}) == '{"a":1,"b":"2"}'
    good = s.model_copy(
        update={
            "example": {
                "values": {"amount": "1.00", "to": "6002"},
                "key": "K",
                "signature": sign(s, "K", {"amount": "1.00", "to": "6002"}),
            }
        }
    )
    assert example_problem(Signing.model_validate(good.model_dump())) is None
    bad = good.model_dump()
    bad["example"]["signature"] = "0" * 32
    assert "canonical string" in (example_problem(Signing.model_validate(bad)) or "")
