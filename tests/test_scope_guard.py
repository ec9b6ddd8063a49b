"""The scope guard holds at the connection: no redirect, parser differential, page script or probe
reaches an address or port the deployment did not produce.

Each case has a listener on 127.0.0.2 (another address) and one on 127.0.0.1 on a port no
deployment declared; both count the connections they accept, and every case asserts that neither
was reached and that the refusal was recorded. The "sample" is a small in-test HTTP(S) server that
redirects there; a positive control in each case shows the traffic did flow where it was allowed.
"""

from __future__ import annotations

import datetime
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import yaml

from harness.deploy.base import DeployError, Deployment, Target, lab_session, wait_healthy
from harness.deploy.scope import OutOfScope, ScopeGuard, record_refusals, scope_of
from harness.drivers import Call, DriverSession
from harness.drivers.rest import RestDriverImpl
from harness.evidence import EvidenceRecorder
from harness.functional.conformance import ConformanceRun
from harness.probes import ports, sm, tls
from harness.spec import load_spec
from harness.spec.model import HealthCheck
from tests.conftest import SPECS

pytest_plugins = ["pytester"]  # the verdict test runs a small suite in-process


# -- the listeners that must never be reached -------------------------------------------------------
class Listener:
    """A TCP listener that counts the connections it accepts."""

    def __init__(self, host: str):
        self.sock = socket.create_server((host, 0))
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def far() -> Iterator[Listener]:
    lis = Listener("127.0.0.2")
    yield lis
    lis.close()


@pytest.fixture(scope="module")
def undeclared() -> Iterator[Listener]:
    lis = Listener("127.0.0.1")  # the right address, a port the deployment did not declare
    yield lis
    lis.close()


# -- the "sample": answers, redirects elsewhere, serves pages that reach out ------------------------
@dataclass
class Sample:
    port: int
    tls_port: int
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers)

    def url(self, path: str, tls_: bool = False) -> str:
        return f"https://127.0.0.1:{self.tls_port}{path}" if tls_ else f"http://127.0.0.1:{self.port}{path}"


def _handler(sample: Sample, far: Listener, undeclared: Listener) -> type[http.server.BaseHTTPRequestHandler]:
    elsewhere = f"http://127.0.0.2:{far.port}"

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes = b"", ctype: str = "text/html", location: str = "") -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            sample.seen.append((self.path, dict(self.headers)))
            if self.path == "/ok":
                self._answer(200, b"<html><body><p id='t'>in scope</p></body></html>")
            elif self.path == "/form":
                self._answer(200, LOGIN_FORM)
            elif self.path == "/page":
                script = f"""
                  const out = document.getElementById('t');
                  for (const u of ['ws://127.0.0.2:{far.port}/ws', 'ws://127.0.0.1:{undeclared.port}/ws',
                                   'wss://127.0.0.2:{far.port}/ws']) {{
                    try {{ new WebSocket(u); }} catch (e) {{}}
                  }}
                  fetch('{elsewhere}/steal', {{mode: 'no-cors'}}).catch(() => {{}});
                  fetch('http://127.0.0.1:{undeclared.port}/steal', {{mode: 'no-cors'}}).catch(() => {{}});
                  out.textContent = 'page ran';
                """
                self._answer(200, f"<html><body><p id='t'>…</p><script>{script}</script></body></html>".encode())
            else:  # /health, /login, /api/...: elsewhere
                self._answer(302, location=f"{elsewhere}{self.path}")

        def do_POST(self) -> None:
            self.do_GET()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def sample(far: Listener, undeclared: Listener, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    s = Sample(0, 0)
    handler = _handler(s, far, undeclared)
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    secure = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*_self_signed(tmp_path_factory.mktemp("tls")))
    secure.socket = ctx.wrap_socket(secure.socket, server_side=True)
    s.port, s.tls_port = plain.server_port, secure.server_port
    for srv in (plain, secure):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield s
    for srv in (plain, secure):
        srv.shutdown()
        srv.server_close()


class FakeDeployment(Deployment):
    def logs(self) -> str:
        return ""

    def read_file(self, relative: str) -> bytes:
        raise FileNotFoundError(relative)

    def alive(self) -> bool:
        return True


def _deployment(sample: Sample, tmp_path: Path) -> FakeDeployment:
    return FakeDeployment(
        Target("m", "process"), "127.0.0.1", {"http": sample.port, "https": sample.tls_port}, tmp_path
    )


@pytest.fixture
def guard(sample: Sample, tmp_path: Path) -> ScopeGuard:
    g = ScopeGuard()
    g.allow_deployment(_deployment(sample, tmp_path))
    return g


def _refused(g: ScopeGuard, kind: str = "connection") -> list[str]:
    kept, _total = g.refusals_since(0)
    return [r.target for r in kept if r.kind == kind]


def _untouched(*listeners: Listener) -> None:
    assert [(lis.host, lis.port, lis.count) for lis in listeners] == [(lis.host, lis.port, 0) for lis in listeners]


# -- the guard itself ---------------------------------------------------------------------------------
def test_a_deployment_allows_exactly_the_address_and_ports_it_produced(tmp_path):
    dep = FakeDeployment(Target("m", "process"), "127.0.0.1", {"http": 18080, "https": 18443}, tmp_path)
    g = ScopeGuard()
    g.allow_deployment(dep)
    assert g.in_scope("127.0.0.1", 18080) and g.in_scope("::ffff:127.0.0.1", 18443)
    assert not g.in_scope("127.0.0.1", 22) and not g.in_scope("127.0.0.2", 18080)
    with pytest.raises(OutOfScope, match=r"127\.0\.0\.1:5432 is outside this run's scope"):
        g.check("127.0.0.1", 5432)
    g.check_url("https://127.0.0.1:18443/login")
    with pytest.raises(OutOfScope):
        g.check_url("https://127.0.0.1/login")  # the default port 443 was not produced
    other = FakeDeployment(Target("n", "process"), "127.0.0.1", {"http": 19090}, tmp_path)
    g.allow_deployment(other)
    g.revoke_deployment(dep)  # the other deployment on the same address keeps its port
    assert g.in_scope("127.0.0.1", 19090) and not g.in_scope("127.0.0.1", 18080)
    assert len(_refused(g)) == 2


def test_a_terminal_unit_is_its_whole_address_but_the_management_port(tmp_path):
    unit = {"host": "10.213.9.2", "port": 22}
    dep = FakeDeployment(Target("LT", "terminal", unit), "10.213.9.2", {"https": 8443}, tmp_path)
    assert scope_of(dep).ports is None and scope_of(dep).excluded == {22}
    g = ScopeGuard()
    g.allow_deployment(dep)
    assert g.in_scope("10.213.9.2", 8443) and g.in_scope("10.213.9.2", 9999)
    assert not g.in_scope("10.213.9.2", 22) and not g.in_scope("10.213.9.3", 8443)
    assert "10.213.9.2 (every port but 22)" in g.describe()
    g.revoke_deployment(dep)
    assert g.describe() == "nothing deployed"


# -- Python HTTP: the health check, the driver, Schemathesis ------------------------------------------
def _loaded_with_health(url: str) -> Any:
    return SimpleNamespace(
        spec=SimpleNamespace(deployment=SimpleNamespace(health=HealthCheck(url=url, timeout_s=1.0, interval_s=0.1)))
    )


def test_the_health_check_does_not_follow_a_redirect_out_of_scope(sample, far, undeclared, tmp_path):
    dep = _deployment(sample, tmp_path)
    with pytest.raises(DeployError, match=r"answered 302.*a redirect to http://127\.0\.0\.2:\d+/health, not followed"):
        wait_healthy(_loaded_with_health("http://{host}:{ports.http}/health"), dep, lambda: True, lambda: "")
    assert sample.seen and sample.seen[-1][0] == "/health"  # it did ask the sample
    _untouched(far, undeclared)


@pytest.mark.parametrize("url", ["http://127.0.0.2:{far}\\@{host}:{ports.http}/ok", "http://{host}:{undeclared}/ok"])
def test_the_health_check_is_guarded_at_the_connection(sample, far, undeclared, tmp_path, url):
    dep = _deployment(sample, tmp_path)
    url = url.replace("{far}", str(far.port)).replace("{undeclared}", str(undeclared.port))
    with pytest.raises(DeployError, match=r"the health check was refused: refused: http to 127\.0\.0\.[12]:"):
        wait_healthy(_loaded_with_health(url), dep, lambda: True, lambda: "")
    _untouched(far, undeclared)


def test_a_lab_session_refuses_at_the_connection_whatever_the_url_parser_saw(sample, far, undeclared, guard):
    http = lab_session(guard=guard)
    assert http.get(sample.url("/ok"), timeout=5).status_code == 200  # allowed: it flows
    differential = f"http://127.0.0.2:{far.port}\\@127.0.0.1:{sample.port}/ok"
    with pytest.raises(OutOfScope, match=rf"http to 127\.0\.0\.2:{far.port} is outside"):
        http.get(differential, timeout=5)  # urlsplit reads 127.0.0.1; urllib3 dials 127.0.0.2
    with pytest.raises(OutOfScope):
        http.get(f"http://127.0.0.1:{undeclared.port}/", timeout=5)
    with pytest.raises(OutOfScope, match="parser differential"):
        guard.check_url(differential)  # and the early URL check sees the differential itself
    r = http.get(sample.url("/api/x"), timeout=5)  # allow_redirects defaults to True in requests
    assert r.status_code == 302 and not r.history
    _untouched(far, undeclared)
    assert _refused(guard) == [f"127.0.0.2:{far.port}", f"127.0.0.1:{undeclared.port}", differential]
    assert _refused(guard, "redirect") == [f"http://127.0.0.2:{far.port}/api/x"]


def test_the_driver_sees_the_redirect_and_never_follows_it(sample, far, undeclared, guard, tmp_path):
    spec = load_spec(SPECS / "refpay.yaml").spec
    desc = spec.driver.model_copy(update={"base_url": "http://{host}:{ports.http}"})
    driver = RestDriverImpl(desc, _deployment(sample, tmp_path), guard)
    session = DriverSession(spec.account("alice"), token="session-token-of-alice")
    r = driver.call("account", session, account_id="6001")
    assert r.status_code == 302 and r.headers["Location"].startswith(f"http://127.0.0.2:{far.port}/")
    assert sample.seen[-1][1]["Authorization"] == "Bearer session-token-of-alice"  # what a redirect would carry
    bad = Call("account", "GET", f"http://127.0.0.2:{far.port}\\@127.0.0.1:{sample.port}/api/accounts/6001")
    with pytest.raises(OutOfScope):
        driver.send(bad, session)
    _untouched(far, undeclared)
    assert _refused(guard, "redirect") == [f"http://127.0.0.2:{far.port}/api/accounts/6001"]
    assert len(_refused(guard)) == 1


OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/accounts/{account_id}": {
            "get": {
                "parameters": [{"name": "account_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


def _conformance(sample: Sample, guard: ScopeGuard, doc: dict[str, Any], tmp_path: Path) -> ConformanceRun:
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(doc))
    spec = load_spec(SPECS / "refpay.yaml").spec

    class Driver:
        """Only what the conformance run asks of a driver: where, how to authenticate, what not to send."""

        tls_verify = False
        timeout_s = 10.0

        @staticmethod
        def web_base_url() -> str:
            return sample.url("")

        @staticmethod
        def can_login() -> bool:
            return False

        @staticmethod
        def can_logout() -> bool:
            return False

        @staticmethod
        def operations() -> dict[str, Any]:
            return {}  # nothing declared: the document's operations are checked read-only

        @staticmethod
        def session(acct: Any) -> DriverSession:
            return DriverSession(acct, token=f"token-of-{acct.name}")

        @staticmethod
        def accounts() -> list[Any]:
            return list(spec.driver.accounts)

        @staticmethod
        def credentials(s: DriverSession) -> tuple[dict[str, str], dict[str, str]]:
            return {"Authorization": f"Bearer {s.token}"}, {}

        @staticmethod
        def unsafe(method: str, path: str) -> str | None:
            return None

    return ConformanceRun(spec, path, Driver(), guard, max_examples=2, time_budget_s=10)


def test_schemathesis_sees_the_302_and_sends_nothing_elsewhere(sample, far, undeclared, guard, tmp_path):
    before = len(sample.seen)
    out = _conformance(sample, guard, OPENAPI, tmp_path).run([load_spec(SPECS / "refpay.yaml").spec.account("alice")])
    sent = sample.seen[before:]
    assert out.requests > 0 and len(sent) >= out.requests
    assert any(h.get("Authorization") == "Bearer token-of-alice" for _, h in sent)
    assert {s for counts in out.by_operation.values() for s in counts} == {"302"}
    _untouched(far, undeclared)
    redirects = _refused(guard, "redirect")
    assert redirects and all(u.startswith(f"http://127.0.0.2:{far.port}/api/accounts/") for u in redirects)


def test_an_interface_document_pointing_elsewhere_is_refused_before_anything_is_fetched(
    sample, far, undeclared, guard, tmp_path
):
    doc = json.loads(json.dumps(OPENAPI))
    doc["paths"]["/api/accounts/{account_id}"]["get"]["responses"]["200"]["content"] = {
        "application/json": {"schema": {"$ref": f"http://127.0.0.2:{far.port}/schemas.yaml#/Account"}}
    }
    before = len(sample.seen)
    with pytest.raises(OutOfScope, match=rf"refers outside itself.*127\.0\.0\.2:{far.port}"):
        _conformance(sample, guard, doc, tmp_path).run([load_spec(SPECS / "refpay.yaml").spec.account("alice")])
    assert len(sample.seen) == before
    _untouched(far, undeclared)


# -- scanners and probes ------------------------------------------------------------------------------
def test_probes_dial_only_allowed_address_and_port(sample, far, undeclared, guard):
    with pytest.raises(OutOfScope):
        tls.scan("127.0.0.2", far.port, guard)
    with pytest.raises(OutOfScope):
        tls.scan("127.0.0.1", undeclared.port, guard)
    with pytest.raises(OutOfScope):
        sm.probe("127.0.0.1", undeclared.port, guard)
    with pytest.raises(OutOfScope):
        ports.tcp_connect_scan("127.0.0.1", [sample.port, undeclared.port], guard)
    assert ports.tcp_connect_scan("127.0.0.1", [sample.port, sample.tls_port], guard) == sorted(
        [sample.port, sample.tls_port]
    )
    probes = sm.probe("127.0.0.1", sample.tls_port, guard)  # allowed: it reaches the sample's TLS port
    assert len(probes) == 2 and all(not p.supported for p in probes)
    _untouched(far, undeclared)
    assert _refused(guard) == [
        f"127.0.0.2:{far.port}",
        f"127.0.0.1:{undeclared.port}",
        f"127.0.0.1:{undeclared.port}",
        f"127.0.0.1:{undeclared.port}",
    ]


def test_refusals_go_into_the_evidence_and_a_refused_connection_voids_the_verdict(guard, tmp_path, far):
    rec = EvidenceRecorder(run_dir=tmp_path, check_id="t", model="m")
    mark = guard.mark()
    assert record_refusals(rec, guard, mark) == "" and not rec.items
    guard.record("http", f"http://127.0.0.2:{far.port}/x", "302 not followed", kind="redirect")
    assert record_refusals(rec, guard, mark) == ""  # a redirect not followed: the check judged the 302
    assert [i.title for i in rec.items] == ["范围守卫拒绝记录 (scope guard refusals)"]
    with pytest.raises(OutOfScope):
        guard.check("127.0.0.2", far.port, via="browser")
    line = record_refusals(rec, guard, mark)
    assert f"first: browser to 127.0.0.2:{far.port}" in line and "verdict cannot stand" in line
    data = json.loads((tmp_path / rec.items[-1].path).read_text())
    assert [r["kind"] for r in data["refusals"]] == ["redirect", "connection"]


def test_names_are_resolved_once_and_every_address_checked(guard, far):
    with pytest.raises(OutOfScope, match="cannot resolve"):
        guard.addresses("no-such-host.invalid", far.port)
    with pytest.raises(OutOfScope):
        lab_session(guard=guard).get(f"http://localhost:{far.port}/", timeout=5)
    assert far.count == 0


def test_unverified_connections_share_one_tls_context_and_verified_ones_verify(guard, sample):
    # A deployment's self-signed certificate: every new connection reuses one context (no CA store
    # loaded per connection); asking to verify still refuses that certificate.
    import requests

    from harness.deploy.guarded_http import _unverified_context

    http = lab_session(guard=guard)
    for _ in range(3):
        http.get(f"https://127.0.0.1:{sample.tls_port}/ok", timeout=5, headers={"Connection": "close"})
    pools = list(http.get_adapter("https://x").poolmanager.pools._container.values())
    assert pools and all(p.conn_kw["ssl_context"] is _unverified_context() for p in pools)
    strict = lab_session(guard=guard)
    strict.verify = True
    with pytest.raises(requests.exceptions.SSLError):
        strict.get(f"https://127.0.0.1:{sample.tls_port}/ok", timeout=5)


def test_a_lab_session_uses_no_proxy(guard, sample):
    http = lab_session(guard=guard)
    http.proxies = {"http": f"http://127.0.0.1:{sample.port}"}
    with pytest.raises(OutOfScope, match="never goes through a proxy"):
        http.get(sample.url("/ok"), timeout=5)


def test_requests_exceptions_are_not_swallowed_as_connection_errors(guard, far):
    # A refusal must surface as the lab error it is, never as a ConnectionError a caller retries.
    with pytest.raises(OutOfScope) as e:
        lab_session(guard=guard).get(f"http://127.0.0.2:{far.port}/", timeout=5)
    assert not isinstance(e.value, requests.RequestException)


# -- the browser ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser_guard(sample: Sample, tmp_path_factory: pytest.TempPathFactory) -> ScopeGuard:
    g = ScopeGuard()
    g.allow_deployment(_deployment(sample, tmp_path_factory.mktemp("dep")))
    return g


@pytest.fixture(scope="module")
def browser(browser_guard: ScopeGuard) -> Iterator[Any]:
    from harness.probes.browser import ScopedBrowser

    b = ScopedBrowser(browser_guard)
    yield b
    b.close()


def _wait_for(predicate: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_a_login_page_redirecting_elsewhere_never_loads(browser, browser_guard, sample, far, undeclared):
    from harness.probes.browser import fill_login_form

    mark = browser_guard.mark()
    with browser.page() as (page, log):
        page.goto(sample.url("/ok", tls_=True))  # positive control: HTTPS through the proxy's CONNECT
        assert page.locator("#t").inner_text() == "in scope"
        with pytest.raises(Exception) as e:  # a navigation error, never a page to judge
            fill_login_form(page, sample.url("/login", tls_=True), "alice", "secret")
        assert not isinstance(e.value, AssertionError)
        refused = list(log.refused)
    kept, _ = browser_guard.refusals_since(mark)
    assert f"http://127.0.0.2:{far.port}/login" in refused
    assert [r.target for r in kept] == [f"127.0.0.2:{far.port}"] and kept[0].via == "browser"
    _untouched(far, undeclared)


LOGIN_FORM = (
    b"<html><body><form method='post' action='/login'><label>user <input name='username'></label>"
    b"<label>password <input type='password' name='password'></label><button>login</button></form></body></html>"
)


def test_an_ordinary_login_form_leaves_nothing_refused(browser, browser_guard, sample):
    """Chromium's own look-ups (autofill, account, update checks) must not count against a page: a
    refusal voids a check's verdict, so a quiet page must leave none."""
    from harness.probes.browser import fill_login_form

    mark = browser_guard.mark()
    with browser.page() as (page, log):
        fill_login_form(page, sample.url("/form", tls_=True), "alice", "secret")
        page.wait_for_timeout(2000)  # autofill asks its server once the form is seen and typed into
        assert log.requested == [sample.url("/form", tls_=True)]
    assert browser_guard.refusals_since(mark) == ([], 0) and log.refused == []


def test_page_script_cannot_reach_other_addresses_or_ports(browser, browser_guard, sample, far, undeclared):
    mark = browser_guard.mark()
    expected = {
        f"CONNECT 127.0.0.2:{far.port}",  # the WebSockets (chromium tunnels them) ...
        f"CONNECT 127.0.0.1:{undeclared.port}",
        f"http://127.0.0.2:{far.port}/steal",  # ... and the fetches
        f"http://127.0.0.1:{undeclared.port}/steal",
    }
    with browser.page() as (page, log):
        page.goto(sample.url("/page"))
        assert page.locator("#t").inner_text() == "page ran"  # the script did run
        assert _wait_for(lambda: expected <= set(log.refused)), log.refused
    kept, _ = browser_guard.refusals_since(mark)
    assert {r.target for r in kept} == {f"127.0.0.2:{far.port}", f"127.0.0.1:{undeclared.port}"}
    _untouched(far, undeclared)


def test_two_browsers_at_once_do_not_collide(browser_guard, sample, tmp_path):
    from harness.probes.browser import ScopedBrowser, screenshot

    results: dict[int, Any] = {}

    def work(n: int) -> None:
        b = ScopedBrowser(browser_guard)
        try:
            with b.page() as (page, _log):
                page.goto(sample.url("/ok", tls_=True))
                shot = tmp_path / f"shot-{n}.png"
                results[n] = (b._proxy.port, b._tmp, page.locator("#t").inner_text(), screenshot(page, shot), shot)
        except Exception as e:  # noqa: BLE001 - reported by the assertion below
            results[n] = e
        finally:
            b.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    (port1, tmp1, text1, err1, shot1), (port2, tmp2, text2, err2, shot2) = results[1], results[2]
    assert port1 != port2 and tmp1 != tmp2
    assert text1 == text2 == "in scope" and err1 is None and err2 is None
    assert shot1.read_bytes()[:8] == shot2.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not Path(tmp1).exists() and not Path(tmp2).exists()  # each removed its own


class _FlakyPage:
    """Fails to capture `failures` times, then writes the picture."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls = 0

    def screenshot(self, path: str, full_page: bool = False) -> None:
        from playwright.sync_api import Error

        self.calls += 1
        if self.calls <= self.failures:
            raise Error("Page.screenshot: Protocol error (Page.captureScreenshot): Unable to capture screenshot")
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n")


def test_a_screenshot_is_retried_and_a_failed_one_is_said_not_an_error(tmp_path, monkeypatch):
    from harness.probes import browser as b

    monkeypatch.setattr(b.time, "sleep", lambda s: None)
    rec = EvidenceRecorder(run_dir=tmp_path, check_id="t", model="m")
    flaky = _FlakyPage(b.SCREENSHOT_ATTEMPTS - 1)
    assert b.attach_screenshot(flaky, rec, "登录页") is True
    assert flaky.calls == b.SCREENSHOT_ATTEMPTS and [i.kind for i in rec.items] == ["screenshot"]
    broken = _FlakyPage(99)
    assert b.attach_screenshot(broken, rec, "登录后页面") is False
    assert broken.calls == b.SCREENSHOT_ATTEMPTS
    note = rec.items[-1]
    assert note.kind == "text" and note.title == "登录后页面（截图未能生成）"
    text = (tmp_path / note.path).read_text(encoding="utf-8")
    assert "Unable to capture screenshot" in text and "not the verdict" in text
    assert not list(rec.dir.glob("*.png"))[1:]  # only the one picture that was taken


# -- the verdict: a refused connection during a check voids it -----------------------------------------
SWALLOWING_SUITE = """
import pytest
from harness.deploy import GUARD, OutOfScope
from harness.probes import sm

@pytest.mark.clause("11.tls.protocol")
def test_swallows_a_refusal(deployment, evidence):
    try:
        sm.probe("127.0.0.2", deployment.ports["https"], GUARD)
    except OutOfScope:
        pass  # a check that hides the refusal must not pass on what it saw
    evidence.observe("看了样品", en="looked at the sample")

@pytest.mark.clause("11.tls.protocol")
def test_quiet(deployment, evidence):
    evidence.observe("看了样品", en="looked at the sample")
"""


def test_a_check_during_which_a_connection_was_refused_is_an_error(pytester, tmp_path):
    from harness.media import tree_sha256
    from harness.store import Evidence, Verdict, session

    base = yaml.safe_load((SPECS / "refpay.yaml").read_text(encoding="utf-8"))
    media = [{**m, "path": str((SPECS / m["path"]).resolve())} for m in base["media"]]
    media = [{**m, "sha256": tree_sha256(Path(m["path"]))} for m in media]
    spec = tmp_path / "refpay.yaml"
    spec.write_text(yaml.safe_dump({"extends": str(SPECS / "refpay.yaml"), "media": media}, allow_unicode=True))
    pytester.makepyfile(test_rogue=SWALLOWING_SUITE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--sample-spec", str(spec), "test_rogue.py")
    run_id = next(w for w in str(result.stdout).split() if w.startswith("R-")).rstrip(":")
    with session() as s:
        verdicts = {v.check_id.split("::")[-1]: v for v in s.query(Verdict).filter(Verdict.run_id == run_id)}
        kinds = {
            e.check_id.split("::")[-1] + ":" + e.title for e in s.query(Evidence).filter(Evidence.run_id == run_id)
        }
    assert verdicts["test_quiet"].outcome == "pass"
    rogue = verdicts["test_swallows_a_refusal"]
    assert rogue.outcome == "error" and "127.0.0.2" in rogue.detail and "cannot stand" in rogue.detail
    assert "test_swallows_a_refusal:范围守卫拒绝记录 (scope guard refusals)" in kinds
