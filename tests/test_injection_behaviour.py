"""The injection check (test_suites/network/test_injection.py) run in-process against a small in-test
product, in a safe and in a vulnerable build of the same interface: a note lookup that pastes the URL's
identifier into SQL (boolean-blind), an audit write that pastes a tag into an INSERT (seen only by
time: its answer never changes), a search and a login that take query-operator objects (NoSQL). The
vulnerable build must be caught on each, by the behaviour the check judges; the safe build must pass.
The products' SQL is real (SQLite, with a SLEEP function standing in for a server's)."""

from __future__ import annotations

import importlib.util
import json
import re
import secrets
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from harness.checks import injection
from harness.deploy.base import Deployment, Target
from harness.deploy.scope import ScopeGuard
from harness.drivers import RestDriverImpl
from harness.spec.model import RestDriver

ROOT = Path(__file__).resolve().parent.parent


def _check_module() -> Any:
    spec = importlib.util.spec_from_file_location("suite_injection", ROOT / "test_suites/network/test_injection.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up while being defined
    spec.loader.exec_module(mod)
    return mod


def _matches(value: Any, cond: Any) -> bool:
    """A document store's condition: a plain value, or an operator object."""
    if not isinstance(cond, dict):
        return bool(value == cond)
    ops = {
        "$ne": lambda a: value != a,
        "$eq": lambda a: value == a,
        "$gt": lambda a: str(value) > str(a),
        "$lt": lambda a: str(value) < str(a),
        "$regex": lambda a: re.search(str(a), str(value)) is not None,
    }
    return all(ops[k](a) if k in ops else False for k, a in cond.items())


class Board:
    """Users, notes and an audit table; ``vulnerable`` pastes inputs into queries."""

    def __init__(self, vulnerable: bool) -> None:
        self.vulnerable = vulnerable
        self.users = {"alice": "a-Pass#1", "bob": "b-Pass#2"}
        self.tokens: dict[str, str] = {}
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.create_function("SLEEP", 1, lambda s: time.sleep(float(s)) or 0)
        self.db.executescript(
            "CREATE TABLE notes (id TEXT, owner TEXT, body TEXT, created TEXT);"
            "INSERT INTO notes VALUES ('n-a1', 'alice', 'alice shopping list', '2024-01-01');"
            "INSERT INTO notes VALUES ('n-a2', 'alice', 'alice travel plan', '2024-02-01');"
            "INSERT INTO notes VALUES ('n-b1', 'bob', 'bob secret recipe', '2024-03-01');"
            "CREATE TABLE audit (tag TEXT);"
        )
        self.lock = threading.Lock()

    def sql(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock:
            return list(self.db.execute(query, args).fetchall())


def _handler(board: Board) -> type[BaseHTTPRequestHandler]:
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _out(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _user(self) -> str | None:
            return board.tokens.get(self.headers.get("Authorization", "").removeprefix("Bearer "))

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            user = self._user()
            if user is None:
                return self._out(401, {"error": "unauthorized"})
            try:
                if url.path.startswith("/api/notes/"):
                    nid = unquote(url.path.rsplit("/", 1)[1])
                    if board.vulnerable:
                        rows = board.sql(f"SELECT id, body FROM notes WHERE owner = '{user}' AND id = '{nid}'")
                    else:
                        rows = board.sql("SELECT id, body FROM notes WHERE owner = ? AND id = ?", (user, nid))
                    if not rows:
                        return self._out(404, {"error": "no such note"})
                    return self._out(200, {"id": rows[0][0], "body": rows[0][1]})
            except sqlite3.Error:
                return self._out(500, {"error": "internal error"})
            self._out(404, {"error": "not found"})

        def do_DELETE(self) -> None:
            user = self._user()
            if user is None:
                return self._out(401, {"error": "unauthorized"})
            nid = unquote(urlsplit(self.path).path.rsplit("/", 1)[1])
            try:
                if board.vulnerable:
                    board.sql(f"DELETE FROM notes WHERE owner = '{user}' AND id = '{nid}'")
                else:
                    board.sql("DELETE FROM notes WHERE owner = ? AND id = ?", (user, nid))
            except sqlite3.Error:
                return self._out(500, {"error": "internal error"})
            return self._out(200, {"ok": True})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            url = urlsplit(self.path)
            if url.path == "/api/login":
                u, p = body.get("username"), body.get("password")
                if not board.vulnerable and not (isinstance(u, str) and isinstance(p, str)):
                    return self._out(400, {"error": "bad request"})
                who = next((n for n, pw in board.users.items() if _matches(n, u) and _matches(pw, p)), None)
                if who is None:
                    return self._out(401, {"error": "wrong user name or password"})
                token = secrets.token_hex(8)
                board.tokens[token] = who
                return self._out(200, {"token": token})
            user = self._user()
            if user is None:
                return self._out(401, {"error": "unauthorized"})
            if url.path == "/api/search":
                q = body.get("q")
                if not board.vulnerable and not isinstance(q, str):
                    return self._out(400, {"error": "q must be text"})
                rows = board.sql("SELECT id, body FROM notes WHERE owner = ?", (user,))
                return self._out(200, {"items": [{"id": i, "body": b} for i, b in rows if _matches(b, q)]})
            if url.path == "/api/audit":
                tag = str(body.get("tag"))
                try:
                    if board.vulnerable:
                        board.sql(f"INSERT INTO audit VALUES ('{tag}')")
                    else:
                        board.sql("INSERT INTO audit VALUES (?)", (tag,))
                except sqlite3.Error:
                    pass  # the answer never says: only time shows what the statement did
                return self._out(200, {"ok": True})
            self._out(404, {"error": "not found"})

    return H


class _Dep(Deployment):
    def logs(self) -> str:
        return ""

    def read_file(self, relative: str) -> bytes:
        raise FileNotFoundError(relative)

    def alive(self) -> bool:
        return True


SPEC = {
    "base_url": "http://{host}:{ports.http}",
    "login": {"method": "POST", "path": "/api/login", "body": {"username": "{username}", "password": "{password}"}},
    "operations": {
        "note": {"method": "GET", "path": "/api/notes/{note_id}"},
        "search": {"method": "POST", "path": "/api/search", "kind": "read", "body": {"q": "{q}"}},
        "audit": {"method": "POST", "path": "/api/audit", "body": {"tag": "{tag}"}},
        "drop": {"method": "DELETE", "path": "/api/notes/{note_id}"},
    },
    "accounts": [
        {"name": "alice", "username": "alice", "password": "a-Pass#1", "values": {"note_id": "n-a1"}},
        {"name": "bob", "username": "bob", "password": "b-Pass#2", "values": {"note_id": "n-b1"}},
    ],
}


@pytest.fixture
def board(request: pytest.FixtureRequest) -> Iterator[RestDriverImpl]:
    state = Board(vulnerable=request.param)
    request.node.board_state = state
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [server.server_address[1]])
    dep = _Dep(Target("m", "process"), "127.0.0.1", {"http": server.server_address[1]}, Path("/tmp"))
    try:
        yield RestDriverImpl(RestDriver.model_validate(SPEC), dep, guard)
    finally:
        server.shutdown()


class _Evidence:
    def __init__(self) -> None:
        self.observed: list[str] = []
        self.attached: dict[str, Any] = {}

    def observe(self, text: str, en: str | None = None) -> None:
        self.observed.append(en or text)

    def attach_json(self, title: str, obj: Any, kind: str = "json") -> None:
        self.attached[title] = obj


def _alice_notes(request: pytest.FixtureRequest) -> list[tuple[Any, ...]]:
    return request.node.board_state.sql("SELECT id FROM notes WHERE owner = 'alice'")


@pytest.fixture
def quick_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    # One-second sleeps keep the test short; the judgement is the same.
    monkeypatch.setattr(injection, "SLEEP_S", 1)
    monkeypatch.setattr(injection, "MIN_DELAY_S", 0.8)


@pytest.mark.parametrize("board", [True], indirect=True, ids=["vulnerable"])
def test_vulnerable_build_is_caught_on_every_input(
    board: RestDriverImpl, quick_sleep: None, request: pytest.FixtureRequest
) -> None:
    check = _check_module()
    ev = _Evidence()
    with pytest.raises(AssertionError) as failed:
        check.test_inputs_resist_sql_and_command_injection(board, SimpleNamespace(limits=None), ev)
    message = str(failed.value)
    assert "note.note_id (path)" in message  # boolean-blind in the request line
    assert "audit.tag (body)" in message and "delayed the answer" in message  # seen only by time
    assert "search.q (body)" in message  # a query operator object
    assert "login: both" in message  # a query operator object logs in without the password
    findings = ev.attached["注入判定"]["发现"]
    assert len(findings) >= 4, findings
    assert ("n-a1",) in _alice_notes(request)  # a delete is probed on invalid values only: nothing was deleted


@pytest.mark.parametrize("board", [False], indirect=True, ids=["safe"])
def test_safe_build_passes_with_payloads_sent(
    board: RestDriverImpl, quick_sleep: None, request: pytest.FixtureRequest
) -> None:
    check = _check_module()
    ev = _Evidence()
    check.test_inputs_resist_sql_and_command_injection(board, SimpleNamespace(limits=None), ev)
    judged = ev.attached["注入判定"]
    assert judged["发现"] == [] and judged["超出时间预算未覆盖"] == []
    assert {(r["操作"], r["输入"]) for r in judged["逐项"]} >= {("note", "note_id"), ("search", "q"), ("audit", "tag")}
    assert "no sign of injection" in ev.observed[-1]
    assert ("n-a1",) in _alice_notes(request)
