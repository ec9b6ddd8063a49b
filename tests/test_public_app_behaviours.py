"""What public applications taught the harness, each proven on a small in-test product (in-process,
no deployment) that behaves the same way:

- a server that closes its kept-alive connection after every answer without saying so (OctoPrint
  1.8 under Tornado): the next request on it meets a reset before any answer and is sent again on a
  new connection, as browsers do; a reset on a fresh connection is still the product's answer;
- cookie and anti-CSRF names a product derives from the port it serves on (``session_P<port>``);
- HTTP Basic on every request and no login (Kinto): passwords can still be tried, through the read
  the credentials alone decide, and the lockout check judges a wrong password that is accepted as
  the product's failure once an unknown user was refused;
- objects whose IDs the client chooses: creating one under the ID of another account's object must
  neither hand back nor change that object; nested objects are named by the owner's whole address.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.deploy.base import Deployment, Target, lab_session
from harness.deploy.scope import ScopeGuard
from harness.drivers import RestDriverImpl
from harness.spec.model import Parameters, RestDriver


class _Dep(Deployment):
    def logs(self) -> str:
        return ""

    def read_file(self, relative: str) -> bytes:
        raise FileNotFoundError(relative)

    def alive(self) -> bool:
        return True


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def _driver(port: int, desc: dict[str, Any]) -> RestDriverImpl:
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [port])
    dep = _Dep(Target("m", "process"), "127.0.0.1", {"http": port}, Path("/tmp"))
    return RestDriverImpl(RestDriver.model_validate({"base_url": "http://{host}:{ports.http}", **desc}), dep, guard)


# -- connections a server closes after every answer -------------------------------------------------
def _closing_server(reset_fresh: bool = False) -> tuple[socket.socket, int, threading.Event]:
    """A raw HTTP/1.1 server that answers one request per connection and closes it without a
    ``Connection: close`` header; with ``reset_fresh`` it resets every connection unanswered."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    stop = threading.Event()

    def run() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.recv(65536)
                if reset_fresh:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    continue
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
                time.sleep(0.01)

    threading.Thread(target=run, daemon=True).start()
    return srv, srv.getsockname()[1], stop


def test_a_request_on_a_kept_alive_connection_the_server_closed_is_sent_again() -> None:
    srv, port, stop = _closing_server()
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [port])
    http = lab_session(False, guard)
    try:
        answers = [http.get(f"http://127.0.0.1:{port}/x", timeout=5).status_code for _ in range(20)]
        answers += [http.post(f"http://127.0.0.1:{port}/y", data=b"{}", timeout=5).status_code for _ in range(5)]
    finally:
        stop.set()
        srv.close()
    assert answers == [200] * 25


def test_a_reset_on_a_fresh_connection_is_not_sent_again() -> None:
    srv, port, stop = _closing_server(reset_fresh=True)
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [port])
    try:
        with pytest.raises(requests.ConnectionError):
            lab_session(False, guard).get(f"http://127.0.0.1:{port}/x", timeout=5)
    finally:
        stop.set()
        srv.close()


# -- names derived from the port ----------------------------------------------------------------------
def _port_cookie_handler(state: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _cookies(self) -> dict[str, str]:
            out = {}
            for part in (self.headers.get("Cookie") or "").split(";"):
                if "=" in part:
                    k, v = part.strip().split("=", 1)
                    out[k] = v
            return out

        def _out(self, status: int, body: Any, cookies: dict[str, str] | None = None) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            for k, v in (cookies or {}).items():
                self.send_header("Set-Cookie", f"{k}={v}; Path=/")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            port = self.server.server_address[1]
            if self.path == "/page":
                return self._out(200, {}, {f"csrf_P{port}": "t0k"})
            user = state["sessions"].get(self._cookies().get(f"session_P{port}"))
            return self._out(200, {"name": user})

        def do_POST(self) -> None:
            port = self.server.server_address[1]
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            # Double-submit: the header must echo the cookie, on every state change and the login.
            if self.headers.get("X-CSRF") != self._cookies().get(f"csrf_P{port}"):
                return self._out(400, {"error": "csrf"})
            if self.path == "/login" and body.get("pass") == "pw-" + body.get("user", ""):
                sid = secrets.token_hex(8)
                state["sessions"][sid] = body["user"]
                return self._out(200, {"name": body["user"]}, {f"session_P{port}": sid})
            if self.path == "/note":
                user = state["sessions"].get(self._cookies().get(f"session_P{port}"))
                state["notes"].append((user, body.get("note")))
                return self._out(200 if user else 403, {})
            return self._out(403, {"error": "no"})

    return H


def test_cookie_and_csrf_names_may_carry_the_port() -> None:
    state: dict[str, Any] = {"sessions": {}, "notes": []}
    server, port = _serve(_port_cookie_handler(state))
    csrf = {"source": "cookie", "name": "csrf_P{ports.http}", "send_as": "header", "send_name": "X-CSRF"}
    try:
        d = _driver(
            port,
            {
                "auth": {"kind": "cookie", "cookie": "session_P{ports.http}"},
                "csrf": csrf,
                "login": {
                    "method": "POST",
                    "path": "/login",
                    "body": {"user": "{username}", "pass": "{password}"},
                    "csrf": {**csrf, "page": "/page"},
                    "token_from": None,
                    "success": {"present": ["name"]},
                },
                "operations": {
                    "me": {"method": "GET", "path": "/me", "success": {"present": ["name"]}},
                    "note": {"method": "POST", "path": "/note", "body": {"note": "{note}"}},
                },
                "accounts": [{"name": "alice", "username": "alice", "password": "pw-alice"}],
            },
        )
        s = d.session(d.accounts()[0])
        assert s.credential_cookie == f"session_P{port}"
        assert d.succeeded("me", d.call("me", s))
        assert d.succeeded("note", d.call("note", s, note="hello"))
    finally:
        server.shutdown()
    assert state["notes"] == [("alice", "hello")]


# -- HTTP Basic, no login; client-chosen IDs ----------------------------------------------------------
class Vault:
    """Accounts checked by HTTP Basic on every request; buckets with IDs the client chooses. Two
    flaws can be switched on: a password cache keyed by the user name alone (any password passes
    for a while after a correct one), and a create that answers with the existing bucket of another
    account when given its ID."""

    def __init__(self, cache_flaw: bool = False, create_flaw: bool = False) -> None:
        self.users: dict[str, str] = {}
        self.buckets: dict[str, dict[str, Any]] = {}
        self.verified: set[str] = set()
        self.cache_flaw, self.create_flaw = cache_flaw, create_flaw


def _vault_handler(v: Vault) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _out(self, status: int, body: Any) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def _user(self) -> str | None:
            auth = self.headers.get("Authorization") or ""
            if not auth.startswith("Basic "):
                return None
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            if v.cache_flaw and user in v.verified:
                return user
            if v.users.get(user) == pw:
                v.verified.add(user)
                return user
            return None

        def _body(self) -> dict[str, Any]:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

        def do_GET(self) -> None:
            user = self._user()
            parts = self.path.strip("/").split("/")
            if user is None:
                return self._out(401, {"error": "unauthorized"})
            if parts[0] == "accounts" and parts[1:] == [user]:
                return self._out(200, {"id": user})
            if parts[0] == "buckets" and len(parts) == 2:
                b = v.buckets.get(parts[1])
                if b is None or b["owner"] != user:
                    return self._out(403, {"error": "forbidden"})
                return self._out(200, {"data": b["data"]})
            return self._out(403, {"error": "forbidden"})

        def do_PUT(self) -> None:
            parts = self.path.strip("/").split("/")
            if parts[0] == "accounts" and len(parts) == 2 and parts[1] not in v.users:
                v.users[parts[1]] = self._body()["data"]["password"]
                return self._out(201, {"id": parts[1]})
            return self._out(403, {"error": "forbidden"})

        def do_POST(self) -> None:
            user = self._user()
            if user is None:
                return self._out(401, {"error": "unauthorized"})
            data = self._body()["data"]
            existing = v.buckets.get(data["id"])
            if existing is not None:
                if existing["owner"] != user and not v.create_flaw:
                    return self._out(403, {"error": "forbidden"})
                return self._out(200, {"data": existing["data"]})
            v.buckets[data["id"]] = {"owner": user, "data": dict(data)}
            return self._out(201, {"data": data})

        def do_PATCH(self) -> None:
            user = self._user()
            parts = self.path.strip("/").split("/")
            b = v.buckets.get(parts[-1])
            if user is None or b is None or b["owner"] != user:
                return self._out(403, {"error": "forbidden"})
            b["data"].update(self._body()["data"])
            return self._out(200, {"data": b["data"]})

    return H


VAULT = {
    "auth": {"kind": "basic"},
    "operations": {
        "account": {"method": "GET", "path": "/accounts/{username}"},
        "signup": {
            "method": "PUT",
            "path": "/accounts/{username}",
            "auth": False,
            "body": {"data": {"password": "{password}"}},
            "expect_status": 201,
            "unsafe": "creates accounts",
        },
        "bucket": {"method": "GET", "path": "/buckets/{bucket}"},
        "create_bucket": {
            "method": "POST",
            "path": "/buckets",
            "body": {"data": {"id": "{bucket}", "holder": "{holder}"}},
            "expect_status": 201,
            "returns": {"bucket": "data.id"},
        },
        "update_bucket": {"method": "PATCH", "path": "/buckets/{bucket}", "body": {"data": {"holder": "{holder}"}}},
    },
    "provision": {
        "steps": [{"operation": "signup"}, {"operation": "create_bucket"}],
        "values": {"bucket": "lab{random}", "holder": "Lab {random}"},
    },
    "objects": {
        "bucket": {
            "id": "bucket",
            "create": "create_bucket",
            "read": "bucket",
            "update": "update_bucket",
            "fields": {"bucket": "{username}-{random}", "holder": "{holder}"},
        }
    },
    "accounts": [
        {
            "name": "alice",
            "username": "alice",
            "password": "Alice-pw-1",
            "provision": True,
            "values": {"bucket": "alice-b", "holder": "Alice Anders"},
        },
        {
            "name": "bob",
            "username": "bob",
            "password": "Bob-pw-1",
            "provision": True,
            "values": {"bucket": "bob-b", "holder": "Bob Roberts"},
        },
    ],
}


@pytest.fixture
def vault(request: pytest.FixtureRequest) -> Iterator[tuple[Vault, RestDriverImpl]]:
    v = Vault(**getattr(request, "param", {}))
    server, port = _serve(_vault_handler(v))
    try:
        yield v, _driver(port, VAULT)
    finally:
        server.shutdown()


class _Evidence:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def observe(self, zh: str, en: str | None = None) -> None:
        self.seen.append(en or zh)

    def attach_json(self, *a: Any, **k: Any) -> None:
        pass


def test_basic_without_login_still_tries_passwords(vault: tuple[Vault, RestDriverImpl]) -> None:
    _v, d = vault
    alice = d.account("alice")
    assert not d.can_login() and d.tries_passwords() and d.password_probe() == "account"
    assert d.succeeded("login", d.login(alice))
    assert not d.succeeded("login", d.login(alice, "wrong"))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")  # the suite registers its marks itself
@pytest.mark.parametrize("vault", [{}, {"cache_flaw": True}], indirect=True, ids=["checked", "cached"])
def test_lockout_judges_an_accepted_wrong_password_as_the_products(vault: tuple[Vault, RestDriverImpl]) -> None:
    from test_suites.transaction.test_auth import test_login_locks_at_declared_threshold as lockout

    v, d = vault
    ev = _Evidence()
    with pytest.raises(AssertionError) as failed:
        lockout(d, None, Parameters(lockout_threshold=3), ev)
    # Without the cache: no lockout at all; with it: the wrong password right after the right one.
    assert ("wrong password was accepted" in str(failed.value)) == v.cache_flaw
    assert "still logs in" in str(failed.value) or v.cache_flaw


@pytest.mark.filterwarnings("ignore::pytest.PytestUnknownMarkWarning")
@pytest.mark.parametrize("vault", [{}, {"create_flaw": True}], indirect=True, ids=["refused", "handed-back"])
def test_creating_under_another_accounts_id(vault: tuple[Vault, RestDriverImpl]) -> None:
    from test_suites.transaction.test_authorization import _objects

    v, d = vault
    a, b = d.account("alice"), d.account("bob")
    sa, sb = d.session(a), d.session(b)
    rows: list[Any] = []
    breaches: list[Any] = []
    notes: list[str] = []
    _objects(d, a, b, sa, sb, d.object_ids(), rows, breaches, notes)
    over = [r for r in rows if r["操作"] == "create_bucket"]
    assert over and over[0]["指向"] == {"bucket": "bob-b"}
    assert bool(breaches) == v.create_flaw
    # The ordinary update by ID was tried on a fresh bucket of bob's and refused either way.
    assert any(r["操作"] == "update_bucket" and r["判定"] == "对方对象未变" for r in rows)
    assert v.buckets["bob-b"]["data"]["holder"] == "Bob Roberts"


# -- a forged credential must differ in what the product decodes ----------------------------------------
def test_a_last_character_changed_changes_the_decoded_signature() -> None:
    """A signed cookie (payload.timestamp.signature, Base64 without padding) whose last character
    carries padding bits only: replacing 'A' by 'B' there decodes to the same signature, so the
    product rightly accepts it (OctoPrint's session cookie). The forgery must change a bit that counts."""
    from harness.checks.tokens import flip_char

    def decoded(sig: str) -> bytes:
        return base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))

    for size in (20, 32, 21):  # HMAC-SHA1, -SHA256, and one that leaves four padding bits
        for _ in range(64):
            sig = base64.urlsafe_b64encode(secrets.token_bytes(size)).rstrip(b"=").decode()
            cookie = f".eJxdkcFu.axFqWQ.{sig}"
            forged = flip_char(cookie, len(cookie) - 1)
            assert forged != cookie and decoded(forged.rsplit(".", 1)[1]) != decoded(sig)
    assert set(flip_char("deadbeef0011", 11)) <= set("0123456789abcdef")  # a hex token stays hex
