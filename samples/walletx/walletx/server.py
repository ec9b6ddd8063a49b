"""HTTPS front: routing, the {"code", "msg", "data"} envelope, security headers and TLS."""

from __future__ import annotations

import json
import logging
import re
import signal
import socket
import socketserver
import ssl
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from walletx import __version__
from walletx.db import Database
from walletx.service import Refusal, Session, WalletService
from walletx.settings import Settings

log = logging.getLogger("walletx")
MAX_BODY = 32 * 1024
SESSION_HEADER = "X-Wallet-Token"
SIGNATURE_HEADER = "X-Signature"
WALLET_NO = re.compile(r"[A-Za-z0-9]{1,64}")
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
}


class Handler(BaseHTTPRequestHandler):
    server: WalletServer
    protocol_version = "HTTP/1.1"
    server_version = "WalletX"
    sys_version = ""
    timeout = 30
    body: bytes = b""

    def version_string(self) -> str:
        return "WalletX"

    @property
    def svc(self) -> WalletService:
        return self.server.svc

    def log_message(self, format: str, *args: Any) -> None:
        # The request line may carry a wallet number but never a token or a secret.
        log.info("http client=%s %s", self.client_address[0], format % args)

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        super().end_headers()

    # --- answers ----------------------------------------------------------------------------
    def reply(self, status: int, payload: dict[str, Any] | None) -> None:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def ok(self, data: dict[str, Any], status: int = 200) -> None:
        self.reply(status, {"code": 0, "msg": "成功", "data": data})

    def refuse(self, status: int, code: int, msg: str) -> None:
        self.reply(status, {"code": code, "msg": msg})

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unknown method) also get the JSON envelope."""
        self.close_connection = True
        try:
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.refuse(code, code * 10, {400: "请求格式错误", 501: "不支持的请求方法"}.get(code, phrase))

    # --- request parts ----------------------------------------------------------------------
    def _read_body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise Refusal(413 if length > MAX_BODY else 400, 4130 if length > MAX_BODY else 4000, "请求格式错误")
        return self.rfile.read(length) if length else b""

    def json_body(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body.decode("utf-8"))
        except ValueError:
            raise Refusal(400, 4000, "请求格式错误") from None
        if not isinstance(data, dict):
            raise Refusal(400, 4000, "请求格式错误")
        return data

    def token(self) -> str | None:
        return self.headers.get(SESSION_HEADER)

    def session(self) -> Session:
        return self.svc.sessions.use(self.token())

    # --- dispatch ---------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")

    def dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self.query = parse_qs(parts.query)
        self.body = b""
        try:
            self.body = self._read_body()
            matched = False
            for route_method, pattern, func in ROUTES:
                m = pattern.fullmatch(parts.path)
                if m is None:
                    continue
                matched = True
                if route_method == method:
                    func(self, *(unquote(g) for g in m.groups()))
                    return
            if matched:
                raise Refusal(405, 4050, "请求方法不允许")
            raise Refusal(404, 4040, "资源不存在")
        except Refusal as r:
            self.refuse(r.status, r.code, r.msg)
        except Exception:  # noqa: BLE001 - the last-resort handler: log the trace, never show it
            log.error("event=internal_error method=%s path=%s\n%s", method, parts.path, traceback.format_exc())
            self.close_connection = True
            self.refuse(500, 5000, "系统繁忙，请稍后再试")

    # --- endpoints --------------------------------------------------------------------------
    def ping(self) -> None:
        self.ok({"status": "UP", "version": __version__})

    def sign_in(self) -> None:
        body = self.json_body()
        name, credential = body.get("loginName"), body.get("secret")
        if not isinstance(name, str) or not isinstance(credential, str) or not name or len(name) > 64:
            raise Refusal(400, 4001, "参数错误")
        self.ok(self.svc.sign_in(name, credential, self.client_address[0]), status=201)

    def sign_out(self) -> None:
        token = self.token()
        if not token:
            raise Refusal(401, 4012, "会话无效或已过期，请重新登录")
        self.svc.sign_out(token)
        self.reply(204, None)

    @staticmethod
    def _wallet_no(raw: str) -> str:
        if not WALLET_NO.fullmatch(raw):
            raise Refusal(400, 4001, "参数错误")
        return raw

    def wallet(self, wallet_no: str) -> None:
        s = self.session()
        self.ok(self.svc.wallet(s, self._wallet_no(wallet_no)))

    def ledger(self, wallet_no: str) -> None:
        s = self.session()
        wallet_no = self._wallet_no(wallet_no)
        limits = self.query.get("limit")
        self.ok(self.svc.ledger(s, wallet_no, limits[0] if limits else None))

    def pay(self) -> None:
        s = self.session()
        self.ok(self.svc.pay(s, self.json_body(), self.headers.get(SIGNATURE_HEADER)), status=201)


Route = tuple[str, re.Pattern[str], Callable[..., None]]


def _r(method: str, pattern: str, func: Callable[..., None]) -> Route:
    return method, re.compile(pattern), func


ROUTES: list[Route] = [
    _r("GET", r"/v2/ping", Handler.ping),
    _r("POST", r"/v2/auth/sessions", Handler.sign_in),
    _r("DELETE", r"/v2/auth/sessions", Handler.sign_out),
    _r("GET", r"/v2/wallets/([^/]+)", Handler.wallet),
    _r("GET", r"/v2/wallets/([^/]+)/ledger", Handler.ledger),
    _r("POST", r"/v2/payments", Handler.pay),
]


def tls_context(cfg: Settings) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cfg.cert_path, cfg.key_path)
    return ctx


class WalletServer(ThreadingHTTPServer):
    # socketserver's default listen backlog is 5, too few for concurrent clients on a busy host.
    request_queue_size = 128
    daemon_threads = True

    def __init__(self, cfg: Settings, svc: WalletService) -> None:
        self.svc = svc
        self.tls = tls_context(cfg)
        if ":" in cfg.bind:
            self.address_family = socket.AF_INET6
        super().__init__((cfg.bind, cfg.port), Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # no reverse DNS lookup (offline containers)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(Handler.timeout)
        conn = self.tls.wrap_socket(request, server_side=True)  # handshake in the worker thread
        try:
            Handler(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        last = traceback.format_exc(limit=0).strip().splitlines()[-1]
        log.warning("event=connection_error client=%s error=%s", client_address[0], last)


def run(cfg: Settings, master: bytes) -> int:
    server = WalletServer(cfg, WalletService(cfg, Database(cfg.db_path), master))

    def stop(signum: int, _frame: Any) -> None:
        log.info("event=stopping signal=%s", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log.info(
        "event=started port=%s host=%s version=%s max_failures=%d idle_seconds=%g",
        port,
        host,
        __version__,
        cfg.max_failures,
        cfg.idle_seconds,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    log.info("event=stopped")
    return 0
