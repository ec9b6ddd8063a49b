"""The browser steps judge a page once it has the sample's answers: a page still waiting for the
sample when the wait ends is the lab's timeout (an error naming what was pending), a page that has
its answers and does not show what the use case says is the product's failure, and a slow answer
within the wait is no failure at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from harness.deploy.scope import ScopeGuard
from harness.drivers import DriverError
from harness.functional import steps
from harness.functional.world import World
from harness.probes.browser import ScopedBrowser

# /account answers after DELAY_S; the page that fetches it shows 我的账户 only then.
PAGES = {
    "/slow": '<p id="t">载入中</p><script>fetch("/account").then(r => r.text()).then(t => '
    "{document.getElementById('t').textContent = t})</script>",
    "/plain": "<p>欢迎</p>",
    "/lost": '<p id="t">载入中</p><script src="/app.js"></script>',
}


@pytest.fixture
def site() -> Iterator[tuple[str, dict[str, float]]]:
    delay = {"s": 0.0}

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/app.js":  # the connection closed with no answer
                self.close_connection = True
                return
            if self.path == "/account":
                time.sleep(delay["s"])
                body = "我的账户".encode()
            else:
                body = PAGES.get(self.path, "<p>ok</p>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", delay
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def world(site: tuple[str, dict[str, float]], monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    base, _ = site
    monkeypatch.setattr(steps, "BROWSER_TIMEOUT_MS", 1000)  # the waits, shortened for the test
    monkeypatch.setattr(steps, "SETTLED_RECHECK_MS", 500)
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [int(base.rsplit(":", 1)[1])])
    browser = ScopedBrowser(guard)
    driver = SimpleNamespace(web_base_url=lambda: base)
    w = World(driver=driver, spec=None, evidence=None, browser_factory=lambda: browser)  # type: ignore[arg-type]
    try:
        yield w
    finally:
        w.close()
        browser.close()


def test_a_page_still_waiting_for_the_sample_is_a_lab_error(world, site):
    site[1]["s"] = 3.0  # longer than the shortened wait, twice over
    steps.open_page(world, "/slow")
    with pytest.raises(DriverError, match="/account"):
        steps.page_shows(world, "我的账户")


def test_a_slow_answer_within_the_wait_passes(world, site):
    site[1]["s"] = 1.5  # past the first wait, within the wait for the page's requests
    steps.open_page(world, "/slow")
    steps.page_shows(world, "我的账户")


def test_a_page_that_lost_its_script_on_the_way_is_a_lab_error(world):
    steps.open_page(world, "/lost")
    with pytest.raises(DriverError, match=r"app\.js"):
        steps.page_shows(world, "我的账户")


def test_a_settled_page_that_lacks_the_text_fails(world):
    steps.open_page(world, "/plain")
    with pytest.raises(AssertionError, match=r"页面没有显示“我的账户”.*欢迎"):
        steps.page_shows(world, "我的账户")
    with pytest.raises(AssertionError, match="应为"):
        steps.page_url_is(world, "/account")
    steps.page_url_is(world, "/plain")
    steps.page_lacks(world, "我的账户")
