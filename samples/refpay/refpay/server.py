"""HTTPS server: routing, JSON I/O, security headers, TLS and lifecycle."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import signal
import socket
import socketserver
import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from refpay import __version__, pages
from refpay.audit import AuditForwarder
from refpay.auth import AuthService, Principal
from refpay.config import Config
from refpay.errors import ApiError
from refpay.passwords import MD5, PBKDF2, hash_password, verify_password
from refpay.seed import SEED_USERS
from refpay.store import Store
from refpay.transfers import TransferService
from refpay.validators import fmt_amount, mask_card, mask_id_number, mask_phone, parse_amount

log = logging.getLogger("refpay")
MAX_BODY = 64 * 1024
WRITE_BEHIND_S = 60.0  # 'ack-before-write': how often the in-memory copy reaches disk
SLOW_PATH_BUSY = 2  # 'slow-path': more API requests than this in progress ...
SLOW_PATH_S = 3.0  # ... and an account read takes this long
SLOW_RECOVERY_S = 40.0  # 'slow-restart': the data scan after an unclean stop
SECURITY_HEADERS = {
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# The web session: the login's token as an HttpOnly cookie, and the anti-CSRF token the page's script
# reads from a second cookie and sends back in X-CSRF-Token on every state-changing request.
SESSION_COOKIE = "refpay_session"
CSRF_COOKIE = "refpay_csrf"
CSRF_HEADER = "X-CSRF-Token"
PASSWORD_MIN_LENGTH = 8
RESET_CODE_TTL_S = 600
RESET_CODE_ATTEMPTS = 5


class App:
    """Business layer behind the HTTP handler."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.store = Store(cfg.db_path, WRITE_BEHIND_S if cfg.has("ack-before-write") else None)
        if cfg.shared_state:
            self.store.share_state()
        self.password_scheme = MD5 if cfg.has("weak-password-hash") else PBKDF2
        self.store.sync_password_scheme(SEED_USERS, self.password_scheme)
        self.store.flush()
        self.busy = 0  # API requests in progress ('slow-path' defect)
        self._busy_lock = threading.Lock()
        self.auth = AuthService(cfg, self.store)
        self.transfers = TransferService(cfg, self.store)
        self.audit = AuditForwarder(cfg.host) if cfg.has("cleartext-audit") else None

    def audit_event(self, event: str, account_id: str, **extra: object) -> None:
        """'cleartext-audit' defect only: report the event, with full PII, over plain UDP."""
        if self.audit is None:
            return
        user = self.store.user_by_account(account_id)
        if user is None:
            return
        self.audit.send(
            event,
            user=user["username"],
            account=account_id,
            card=user["card_number"],
            id_number=user["id_number"],
            phone=user["phone"],
            **extra,
        )

    @contextmanager
    def in_progress(self) -> Iterator[None]:
        with self._busy_lock:
            self.busy += 1
        try:
            yield
        finally:
            with self._busy_lock:
                self.busy -= 1

    def account_view(self, who: Principal, account_id: str) -> dict[str, Any]:
        if self.cfg.has("slow-path") and self.busy > SLOW_PATH_BUSY:
            # Planted: under concurrent use the view is rebuilt the slow way.
            time.sleep(SLOW_PATH_S)
        user = self._owned(who, account_id)
        account_id = user["account_id"]
        account = self.store.account(account_id)
        card = user["card_number"]
        if not self.cfg.has("unmasked-card"):
            card = mask_card(card)
        full = user["card_number"]
        logged_card = full if self.cfg.has("log-leak") else mask_card(full)
        log.info(
            "event=account_view user=%s account=%s card=%s",
            who.username,
            account_id,
            logged_card,
        )
        view = {
            "account_id": account_id,
            "owner": account["owner"],
            "card_number": card,
            "id_number": mask_id_number(user["id_number"]),
            "phone": mask_phone(user["phone"]),
            "balance": account["balance"],
        }
        if self.cfg.has("overexposure"):
            # Planted: the stored record leaks into the answer (hash and internal flags).
            view.update(password_hash=user["password_hash"], failed_logins=user["failed_logins"], locked=user["locked"])
        return view

    def transactions(self, who: Principal, account_id: str) -> dict[str, Any]:
        account_id = self._owned(who, account_id)["account_id"]
        rows = self.store.transactions(account_id, skip_newest=self.cfg.has("history-missing"))
        return {
            "transactions": [
                {
                    "transfer_id": r["id"],
                    "from_account": r["from_account"],
                    "to_account": r["to_account"],
                    "amount": r["amount"],
                    "created_at": r["created_at"],
                }
                for r in rows
            ]
        }

    def profile(self, who: Principal) -> dict[str, Any]:
        row = self.store.profile(who.username)
        if row is None:
            raise ApiError(404, "账户不存在")
        return {"account_id": row["account_id"], "owner": row["username"], "nickname": row["nickname"]}

    def update_profile(self, who: Principal, body: dict[str, Any]) -> dict[str, Any]:
        """Only the nickname can be changed; any other field of the body is ignored."""
        nickname = body.get("nickname")
        if not isinstance(nickname, str) or not 1 <= len(nickname.strip()) <= 32:
            raise ApiError(400, "昵称无效")
        if any(ord(c) < 32 or ord(c) == 127 for c in nickname):
            raise ApiError(400, "昵称无效")
        self.store.set_nickname(who.username, nickname.strip())
        if self.cfg.has("mass-assignment") and "balance" in body:
            # Planted: the handler copies the body onto the account record, balance included.
            balance = parse_amount(str(body["balance"]), allow_non_positive=True)
            if balance is not None:
                self.store.set_balance(who.account_id, fmt_amount(balance))
        log.info("event=profile_updated user=%s", who.username)
        return self.profile(who)

    def change_password(self, who: Principal, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """The account's owner changes its password: the current password proves it is the owner."""
        user = self._owned(who, account_id)
        current, new = body.get("current_password"), body.get("new_password")
        if not isinstance(new, str) or not (current is None or isinstance(current, str)):
            raise ApiError(400, "请求参数错误")
        if not self.cfg.has("password-change-no-proof") and not (
            isinstance(current, str) and verify_password(current, user["password_hash"])
        ):
            log.info("event=password_change_refused reason=bad_current_password user=%s", user["username"])
            raise ApiError(403, "原口令错误")
        if not PASSWORD_MIN_LENGTH <= len(new) <= 128:
            raise ApiError(400, "新口令不符合要求")
        self.store.set_password_hash(user["username"], hash_password(new, self.password_scheme))
        log.info("event=password_changed user=%s", user["username"])
        return {"status": "changed"}

    def request_reset(self, body: dict[str, Any]) -> dict[str, Any]:
        """Send a six-digit reset code by SMS to the account's phone. The answer is the same whether
        or not the user exists, and never carries the code."""
        username = body.get("username")
        if not isinstance(username, str) or not username:
            raise ApiError(400, "请求参数错误")
        answer: dict[str, Any] = {"status": "sent"}
        user = self.store.find_user(username)
        if user is None:
            return answer
        code = f"{secrets.randbelow(10**6):06d}"
        digest = hashlib.sha256(code.encode()).hexdigest()
        self.store.set_reset_code(username, digest, int(time.time()) + RESET_CODE_TTL_S)
        self.sms(user["phone"], f"refpay 验证码 {code}，10 分钟内有效，请勿告诉他人。")
        log.info("event=password_reset_requested user=%s", username)
        if self.cfg.has("reset-code-in-answer"):
            answer["code"] = code  # Planted: a debugging aid left in the answer.
        return answer

    def reset_password(self, body: dict[str, Any]) -> dict[str, Any]:
        username, code, new = body.get("username"), body.get("code"), body.get("new_password")
        if not (isinstance(username, str) and isinstance(code, str) and isinstance(new, str)):
            raise ApiError(400, "请求参数错误")
        row = self.store.reset_code(username)
        if row is None or row["expires"] < time.time() or row["attempts"] >= RESET_CODE_ATTEMPTS:
            raise ApiError(400, "验证码无效或已过期")
        if not hmac.compare_digest(hashlib.sha256(code.encode()).hexdigest(), row["code_hash"]):
            self.store.count_reset_attempt(username)
            raise ApiError(400, "验证码无效或已过期")
        if not PASSWORD_MIN_LENGTH <= len(new) <= 128:
            raise ApiError(400, "新口令不符合要求")
        self.store.set_password_hash(username, hash_password(new, self.password_scheme))
        self.store.drop_reset_code(username)
        log.info("event=password_reset user=%s", username)
        return {"status": "reset"}

    def sms(self, phone: str, text: str) -> None:
        """The SMS gateway stand-in: messages go to DATA_DIR/sms-outbox.txt (not a log of ours)."""
        with (self.cfg.data_dir / "sms-outbox.txt").open("a", encoding="utf-8") as f:
            f.write(f"{mask_phone(phone)}\t{text}\n")

    def _owned(self, who: Principal, account_id: str) -> Any:
        user = self.store.user_by_account(account_id, injectable=self.cfg.has("sqli-lookup"))
        if user is None:
            raise ApiError(404, "账户不存在")
        if user["account_id"] != who.account_id and not self.cfg.has("idor"):
            log.warning("event=access_denied user=%s account=%s", who.username, account_id)
            raise ApiError(403, "无权访问")
        return user


Route = tuple[str, re.Pattern[str], Callable[..., None]]


class Handler(BaseHTTPRequestHandler):
    server: RefpayServer
    protocol_version = "HTTP/1.1"
    server_version = "refpay"
    sys_version = ""  # never advertise the Python version
    timeout = 30
    _body: bytes = b""

    def version_string(self) -> str:
        return "refpay"

    # --- plumbing --------------------------------------------------------
    @property
    def app(self) -> App:
        return self.server.app

    def log_message(self, format: str, *args: Any) -> None:
        log.info("http client=%s %s", self.client_address[0], format % args)

    def end_headers(self) -> None:
        if not self.app.cfg.has("no-security-headers"):
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
        super().end_headers()

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for cookie in cookies or []:
            self.send_header("Set-Cookie", cookie)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(
        self,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
        cookies: list[str] | None = None,
    ) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers, cookies)

    def _read_body(self) -> bytes:
        """Read the whole body up front so an early error never leaves unread
        bytes on a keep-alive connection."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            if length > MAX_BODY:
                raise ApiError(413, "请求过大")
            raise ApiError(400, "请求格式错误")
        return self.rfile.read(length) if length else b""

    def _json_body(self, *, strict: bool = True) -> dict[str, Any]:
        raw = self._body
        if not strict:
            # 'stack-trace' defect: parse errors escape as an unhandled exception.
            return json.loads(raw)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "请求格式错误") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "请求格式错误")
        return data

    def _cookie(self, name: str) -> str | None:
        try:
            jar = SimpleCookie(self.headers.get("Cookie") or "")
        except CookieError:
            return None
        morsel = jar.get(name)
        return morsel.value if morsel is not None else None

    def _principal(self) -> Principal:
        """The bearer token, or else the web session's cookie. A request the browser authenticates
        by itself (the cookie) must prove it comes from our page when it changes anything: the
        anti-CSRF token of its session in X-CSRF-Token."""
        authorization = self.headers.get("Authorization")
        cookie = None if authorization else self._cookie(SESSION_COOKIE)
        if cookie is None:
            return self.app.auth.authenticate(authorization)
        who = self.app.auth.authenticate("Bearer " + cookie)
        if self.command not in ("GET", "HEAD") and not self.app.cfg.has("csrf"):
            sent = self.headers.get(CSRF_HEADER) or ""
            if not hmac.compare_digest(sent.encode(), who.session.csrf_token.encode()):
                log.warning("event=csrf_refused user=%s path=%s", who.username, urlsplit(self.path).path)
                raise ApiError(403, "防跨站令牌无效")
        return who

    # --- dispatch ----------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        self._body = b""
        try:
            self._body = self._read_body()
            allowed = [m for m, pattern, _ in ROUTES if pattern.fullmatch(path)]
            for route_method, pattern, func in ROUTES:
                match = pattern.fullmatch(path)
                if match and route_method == method:
                    args = tuple(unquote(g) for g in match.groups())
                    if path.startswith("/api/"):
                        with self.app.in_progress():
                            func(self, *args)
                    else:
                        func(self, *args)
                    return
            if allowed:
                raise ApiError(405, "方法不允许")
            raise ApiError(404, "未找到")
        except ApiError as err:
            self._json(err.status, {"error": err.message}, err.headers)
        except Exception:  # noqa: BLE001 - last-resort 500 handler must catch everything
            trace = traceback.format_exc()
            log.error("event=unhandled_error method=%s path=%s\n%s", method, path, trace)
            payload = {"error": "内部错误"}
            if self.app.cfg.has("stack-trace"):
                payload["traceback"] = trace
            self.close_connection = True
            self._json(500, payload)

    # --- endpoints ---------------------------------------------------------
    def health(self) -> None:
        self._json(200, {"status": "ok", "version": __version__})

    def login_page(self) -> None:
        self._send(200, pages.LOGIN_HTML.encode("utf-8"), "text/html; charset=utf-8")

    def account_page(self) -> None:
        self._send(200, pages.ACCOUNT_HTML.encode("utf-8"), "text/html; charset=utf-8")

    def app_js(self) -> None:
        self._send(200, pages.app_js(self.app.cfg.has("tamper")).encode("utf-8"), "text/javascript; charset=utf-8")

    def app_css(self) -> None:
        self._send(200, pages.APP_CSS.encode("utf-8"), "text/css; charset=utf-8")

    def favicon(self) -> None:
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def api_login(self) -> None:
        body = self._json_body()
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ApiError(400, "请求参数错误")
        result = self.app.auth.login(username, password, client=self.client_address[0])
        self.app.audit_event("login", result["account_id"])
        session = self.app.auth.authenticate("Bearer " + result["token"]).session
        cookies = [
            f"{SESSION_COOKIE}={result['token']}; Path=/; Secure; HttpOnly; SameSite=Lax",
            f"{CSRF_COOKIE}={session.csrf_token}; Path=/; Secure; SameSite=Lax",
        ]
        self._json(200, result, cookies=cookies)

    def api_logout(self) -> None:
        self.app.auth.logout(self._principal())
        gone = [f"{name}=; Path=/; Secure; Max-Age=0" for name in (SESSION_COOKIE, CSRF_COOKIE)]
        self._json(200, {"status": "logged_out"}, cookies=gone)

    def api_account(self, account_id: str) -> None:
        self._json(200, self.app.account_view(self._principal(), account_id))

    def api_transactions(self, account_id: str) -> None:
        self._json(200, self.app.transactions(self._principal(), account_id))

    def api_profile(self) -> None:
        self._json(200, self.app.profile(self._principal()))

    def api_update_profile(self) -> None:
        who = self._principal()
        self._json(200, self.app.update_profile(who, self._json_body()))

    def api_change_password(self, account_id: str) -> None:
        who = self._principal()
        self._json(200, self.app.change_password(who, account_id, self._json_body()))

    def api_request_reset(self) -> None:
        self._json(200, self.app.request_reset(self._json_body()))

    def api_reset_password(self) -> None:
        self._json(200, self.app.reset_password(self._json_body()))

    def api_transfer(self) -> None:
        who = self._principal()
        body = self._json_body(strict=not self.app.cfg.has("stack-trace"))
        result = self.app.transfers.transfer(who, body)
        self.app.audit_event("transfer", who.account_id, to=body.get("to_account"), amount=body.get("amount"))
        self._json(200, result)


def _route(method: str, pattern: str, func: Callable[..., None]) -> Route:
    return method, re.compile(pattern), func


ROUTES: list[Route] = [
    _route("GET", r"/health", Handler.health),
    _route("GET", r"/|/login", Handler.login_page),
    _route("GET", r"/account", Handler.account_page),
    _route("GET", r"/static/app\.js", Handler.app_js),
    _route("GET", r"/static/app\.css", Handler.app_css),
    _route("GET", r"/favicon\.ico", Handler.favicon),
    _route("POST", r"/api/login", Handler.api_login),
    _route("POST", r"/api/logout", Handler.api_logout),
    _route("GET", r"/api/accounts/([^/]+)", Handler.api_account),
    _route("GET", r"/api/accounts/([^/]+)/transactions", Handler.api_transactions),
    _route("POST", r"/api/accounts/([^/]+)/password", Handler.api_change_password),
    _route("POST", r"/api/password-reset/request", Handler.api_request_reset),
    _route("POST", r"/api/password-reset", Handler.api_reset_password),
    _route("GET", r"/api/profile", Handler.api_profile),
    _route("PUT", r"/api/profile", Handler.api_update_profile),
    _route("POST", r"/api/transfers", Handler.api_transfer),
]


def tls_context(cfg: Config) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cfg.cert_path, cfg.key_path)
    if cfg.has("weak-tls"):
        # SECLEVEL=0 is needed: OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 handshakes) otherwise.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if cfg.has("weak-ciphers"):
            # TLS 1.2 only, but RSA key exchange suites (no forward secrecy) are offered too.
            ctx.set_ciphers("ECDHE+AESGCM:AES128-GCM-SHA256:AES128-SHA")
        else:
            # Forward-secret AEAD suites only, whatever the platform's default list is (Debian's
            # python3 uses OpenSSL's DEFAULT, which offers RSA key exchange).
            ctx.set_ciphers("ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM")
    return ctx


class RefpayServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: a browser opening six connections at once, or
    # the declared concurrent users, overflowed it on a busy host (dropped SYNs, seconds of retries).
    request_queue_size = 128

    def __init__(self, cfg: Config, app: App) -> None:
        self.app = app
        self.ssl_context = tls_context(cfg)
        if ":" in cfg.host:
            self.address_family = socket.AF_INET6
        super().__init__((cfg.host, cfg.port), Handler)

    def server_bind(self) -> None:
        # Skip HTTPServer's getfqdn(): reverse DNS may hang in an offline container.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = (
            str(self.server_address[0]),
            self.server_address[1],
        )

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake runs here, in the worker thread, so a slow client
        # cannot stall the accept loop.
        request.settimeout(Handler.timeout)
        tls = self.ssl_context.wrap_socket(request, server_side=True)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = traceback.format_exc(limit=0).strip().splitlines()[-1]
        log.warning("event=connection_error client=%s error=%s", client_address[0], exc)


class DebugHandler(BaseHTTPRequestHandler):
    """'debug-port' defect: a plain-HTTP status page left in the build."""

    server: DebugServer
    server_version = "refpay-debug"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.info("debug client=%s %s", self.client_address[0], format % args)

    def do_GET(self) -> None:
        app = self.server.app
        body = json.dumps(
            {"debug": True, "version": __version__, "defects": sorted(app.cfg.defects), "db": str(app.cfg.db_path)}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DebugServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cfg: Config, app: App) -> None:
        self.app = app
        if ":" in cfg.host:
            self.address_family = socket.AF_INET6
        super().__init__((cfg.host, 0), DebugHandler)  # any free port: nobody declared it

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]


def _recover(cfg: Config) -> None:
    """A marker file lives while the service runs; found at start, the last stop was a crash.
    SQLite has already recovered its journal by then, so the compliant build only says so."""
    if cfg.running_marker.exists():
        log.warning("event=unclean_shutdown_detected")
        if cfg.has("slow-restart"):
            log.info("event=recovery_scan seconds=%s", SLOW_RECOVERY_S)
            time.sleep(SLOW_RECOVERY_S)
    cfg.running_marker.write_text("running\n")


def serve(cfg: Config) -> int:
    _recover(cfg)
    app = App(cfg)
    server = RefpayServer(cfg, app)
    debug = DebugServer(cfg, app) if cfg.has("debug-port") else None
    if debug is not None:
        threading.Thread(target=debug.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        log.info("event=debug_server port=%s", debug.server_address[1])

    def stop(signum: int, _frame: Any) -> None:
        log.info("event=shutdown signal=%s", signal.Signals(signum).name)
        # shutdown() waits for serve_forever to return, so call it off the main thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log.info(
        "event=started url=https://%s:%s defects=%s version=%s%s",
        host if ":" not in str(host) else f"[{host}]",
        port,
        ",".join(sorted(cfg.defects)) or "none",
        __version__,
        f" instance={cfg.instance} shared_state=yes" if cfg.shared_state else "",
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        app.store.flush()
        cfg.running_marker.unlink(missing_ok=True)
        if debug is not None:
            debug.shutdown()
            debug.server_close()
        if app.audit is not None:
            app.audit.close()
    log.info("event=stopped")
    return 0
