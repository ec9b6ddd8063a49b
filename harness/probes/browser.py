"""A headless browser kept inside the run's scope: Debian's chromium driven by Playwright.

Two layers keep it in: every connection chromium makes goes through the harness's forward proxy
(``harness.probes.proxy``: launched with ``--proxy-server`` and ``--proxy-bypass-list=<-loopback>``,
so loopback is not exempt), which dials only (address, port) pairs the scope guard allows; that
covers what ``page.route`` cannot see (redirects the browser follows, WebSockets). Before that,
every request the page makes passes ``page.route`` (an out-of-scope URL is aborted and recorded,
and in-scope requests are listed for the checks). WebRTC may not send UDP outside the proxy, service
workers are blocked, the environment's proxy variables are dropped, and ``playwright install`` is
never used: the lab's browser is the distribution package at ``/usr/bin/chromium``.

Two runs at once do not collide: each browser has its own proxy port, its own temporary directory
(chromium's TMPDIR, removed at close) and Playwright's own per-launch profile directory.

A screenshot is evidence, not the verdict: ``attach_screenshot`` retries it, and if it still fails
says so in the evidence instead of turning the check into an error.

The web-login helper finds the form generically (the password input, the text input before it, the
form's submit control), so no sample's selectors are written here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.deploy.scope import OutOfScope, ScopeGuard
from harness.probes.proxy import ScopeProxy
from harness.probes.tls import ProbeError

CHROMIUM = os.environ.get("HARNESS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    # Chromium keeps only the last --disable-features, so Playwright's own list (as of 1.65: no
    # HTTPS upgrades, optimization hints, network-time queries, search preconnects, ...) is repeated
    # here with ours: AutofillServerCommunication, whose form look-ups would otherwise leave from
    # the page's own context (the scope proxy refuses them, which voids the check's verdict).
    "--disable-features="
    + ",".join(
        [
            "AvoidUnnecessaryBeforeUnloadCheckSync",
            "DestroyProfileOnBrowserClose",
            "HttpsUpgrades",
            "HttpsFirstBalancedModeAutoEnable",
            "LensOverlay",
            "MediaRouter",
            "PaintHolding",
            "ThirdPartyStoragePartitioning",
            "AvoidCorsURLLoaderRestartOnRedirect",
            "OptimizationHints",
            "NetworkTimeServiceQuerying",
            "AimEnabled",
            "PreconnectToSearch",
            "AutofillServerCommunication",
        ]
    ),
]
LOCAL_SCHEMES = ("data", "blob", "about")
SCREENSHOT_ATTEMPTS = 3
_PASSWORD_HINT = re.compile(r"pass(word|wd|code)?|pwd|口令|密码", re.IGNORECASE)


@dataclass
class ScopeLog:
    """What the page asked for: allowed request URLs and refused (out-of-scope) ones."""

    requested: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # Requests the page sent and has no answer to yet (navigations included): a page still waiting
    # for the sample has not given its answer, so an expectation it does not meet yet is no verdict.
    in_flight: dict[int, str] = field(default_factory=dict)
    # Requests to the sample that got no answer at all (a reset or closed connection, a timeout): a
    # page that lost its script or its data is not the page the product serves.
    failed: list[str] = field(default_factory=list)

    def started(self, request: Any) -> None:
        self.in_flight[id(request)] = request.url

    def ended(self, request: Any) -> None:
        self.in_flight.pop(id(request), None)

    def lost(self, request: Any) -> None:
        self.ended(request)
        why = str(request.failure or "")
        # The page's own navigation cancelling its requests, and the scope guard's refusals, are
        # not answers lost on the way.
        if not any(benign in why for benign in ("ERR_ABORTED", "ERR_BLOCKED_BY_CLIENT")):
            self.failed.append(f"{request.url}（{why or '无应答'}）")


class ScopedBrowser:
    """One chromium for a test module; each check gets a fresh context (no shared cookies/storage)."""

    def __init__(self, guard: ScopeGuard):
        self.guard = guard
        self._pw: Any = None
        self._browser: Any = None
        self._proxy: ScopeProxy | None = None  # the pages' way out
        self._background: ScopeProxy | None = None  # chromium's own traffic: refused, all of it
        self._tmp: str | None = None
        self._log: ScopeLog | None = None  # the page being worked on, for the proxy's refusals

    def _proxy_refused(self, what: str) -> None:
        log = self._log
        if log is not None:
            log.refused.append(what)

    def _ensure(self) -> Any:
        if self._browser is None:
            if not os.path.exists(CHROMIUM):
                raise ProbeError(f"no browser at {CHROMIUM} (apt-get install chromium); never `playwright install`")
            from playwright.sync_api import Error as PwError
            from playwright.sync_api import sync_playwright

            try:
                self._proxy = ScopeProxy(self.guard, on_refused=self._proxy_refused).start()
                # What chromium does of its own accord (update checks, account look-ups) is not the
                # sample's page and goes nowhere: a proxy whose guard allows nothing, kept out of
                # the run's record. Pages get their own proxy per context (see page()).
                self._background = ScopeProxy(ScopeGuard(), via="chromium itself").start()
            except OSError as e:
                self.close()
                raise ProbeError(str(e)) from None
            self._tmp = tempfile.mkdtemp(prefix="harness-chromium-")
            env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
            env["TMPDIR"] = self._tmp
            args = [*CHROMIUM_ARGS, f"--proxy-server={self._background.url}", "--proxy-bypass-list=<-loopback>"]
            try:
                self._pw = sync_playwright().start()
                self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=args, headless=True, env=env)
            except PwError as e:
                self.close()
                raise ProbeError(f"chromium did not start: {e}") from None
        return self._browser

    def close(self) -> None:
        try:
            if self._browser is not None:
                try:
                    self._browser.close()
                finally:
                    self._browser = None
            if self._pw is not None:
                try:
                    self._pw.stop()
                finally:
                    self._pw = None
        finally:
            for proxy in (self._proxy, self._background):
                if proxy is not None:
                    proxy.stop()
            self._proxy = self._background = None
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    @contextmanager
    def page(self) -> Iterator[tuple[Any, ScopeLog]]:
        """A fresh context and page whose every request is checked against the scope guard."""
        browser = self._ensure()
        log = ScopeLog()
        context = browser.new_context(
            ignore_https_errors=True,  # test deployments use self-signed certificates
            service_workers="block",
            locale="zh-CN",
            viewport={"width": 1280, "height": 900},
            # Playwright adds <-loopback> to a context's bypass list: loopback goes through it too.
            proxy={"server": self._proxy.url if self._proxy else "http://0.0.0.0:9"},
        )
        guard = self.guard

        def route(r: Any) -> None:
            url = r.request.url
            parts = urlsplit(url)
            if parts.scheme in LOCAL_SCHEMES:
                r.continue_()
                return
            try:
                guard.check_url(url, via="browser")
            except OutOfScope:
                log.refused.append(url)
                r.abort("blockedbyclient")
                return
            log.requested.append(url)
            r.continue_()

        context.route("**/*", route)
        context.on("request", log.started)
        context.on("requestfinished", log.ended)
        context.on("requestfailed", log.lost)
        self._log = log
        try:
            page = context.new_page()
            page.set_default_timeout(10_000)
            yield page, log
        finally:
            self._log = None
            context.close()


def screenshot(page: Any, path: Path, full_page: bool = False, attempts: int = SCREENSHOT_ATTEMPTS) -> str | None:
    """Write a screenshot, retrying: chromium under load sometimes answers "Unable to capture
    screenshot". None when written, else what went wrong the last time."""
    from playwright.sync_api import Error as PwError

    last = ""
    for attempt in range(attempts):
        try:
            page.screenshot(path=str(path), full_page=full_page)
            return None
        except PwError as e:
            last = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if attempt + 1 < attempts:
            time.sleep(0.5 * (attempt + 1))  # not page.wait_for_timeout: the page itself may be gone
    return last


def attach_screenshot(page: Any, evidence: Any, title: str, full_page: bool = False) -> bool:
    """A screenshot as evidence of a check; when it cannot be taken, the evidence says so and the
    check goes on (its verdict rests on what it read from the page, never on the picture)."""
    path = evidence.new_path(title, ".png")
    problem = screenshot(page, path, full_page)
    if problem is None:
        evidence.attach_file(path, title, kind="screenshot")
        return True
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)
    evidence.attach_text(
        f"{title}（截图未能生成）",
        f"截图 {SCREENSHOT_ATTEMPTS} 次均未成功：{problem}\n"
        "截图只是证据，不是判定依据；本项的判定依据见其他记录。\n\n"
        f"The screenshot failed {SCREENSHOT_ATTEMPTS} times: {problem}\n"
        "A screenshot is evidence, not the verdict; the verdict rests on the other records of this check.\n",
    )
    return False


@dataclass
class PasswordField:
    """The password input of a login form, as the browser sees it."""

    found: bool
    input_type: str = ""
    autocomplete: str | None = None  # the input's own attribute
    form_autocomplete: str | None = None  # its form's attribute
    descriptor: str = ""

    @property
    def effective_autocomplete(self) -> str:
        """HTML: an input without its own (non-empty) autocomplete inherits its form's on/off."""
        own = (self.autocomplete or "").strip().lower()
        if own:
            return own
        return (self.form_autocomplete or "on").strip().lower() or "on"


def find_password_field(page: Any) -> tuple[Any, PasswordField]:
    """The login form's password input: an ``input[type=password]``, else an input whose name, id,
    placeholder, label or autocomplete says password (then it is shown in clear)."""
    loc = page.locator("input[type=password]")
    if loc.count() == 0:
        candidates = page.locator("input:not([type=hidden])")
        loc = None
        for i in range(candidates.count()):
            c = candidates.nth(i)
            desc = " ".join(
                str(c.get_attribute(a) or "") for a in ("name", "id", "placeholder", "aria-label", "autocomplete")
            )
            if _PASSWORD_HINT.search(desc):
                loc = c
                break
        if loc is None:
            return None, PasswordField(found=False)
    el = loc.first
    info = el.evaluate(
        "e => ({type: e.type, ac: e.getAttribute('autocomplete'),"
        " fac: e.form ? e.form.getAttribute('autocomplete') : null,"
        " desc: e.outerHTML.slice(0, 300)})"
    )
    return el, PasswordField(True, info["type"], info["ac"], info["fac"], info["desc"])


def fill_login_form(page: Any, url: str, username: str, password: str) -> tuple[Any, PasswordField]:
    """Open the login page and type the credentials as a user would (not yet submitted)."""
    page.goto(url, wait_until="domcontentloaded")
    pw_el, field_info = find_password_field(page)
    if pw_el is None:
        raise ProbeError(f"no password input on the login page {url}")
    user_el = _username_field(page, pw_el)
    if user_el is not None:
        user_el.fill(username)
    pw_el.fill(password)
    return pw_el, field_info


def submit_login(page: Any, pw_el: Any, login_url: str, timeout_s: float = 10.0, success: Any = None) -> None:
    """Submit the form and wait until the page leaves it and the network is idle; ProbeError if the
    declared account cannot log in through the page: a login that did not succeed is never judged
    as the logged-in page. Success: the page left the form, shows no password input any more, and
    meets the spec's declared rule for the page after a web login (``success``: a Success whose
    location/location_not apply to the page's URL and body_contains/body_lacks to its text)."""
    submit = pw_el.locator(
        "xpath=ancestor::form[1]//*[self::button[not(@type) or @type='submit'] or self::input[@type='submit']]"
    )
    if submit.count() > 0:
        submit.first.click()
    else:
        pw_el.press("Enter")
    start_path = urlsplit(login_url).path
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if urlsplit(page.url).path != start_path or not pw_el.is_visible():
            break
        page.wait_for_timeout(100)
    else:
        raise ProbeError("网页登录后页面始终停留在登录表单（声明的测试账户无法通过网页登录）")
    from playwright.sync_api import TimeoutError as PwTimeout

    # A page that keeps polling never idles; what it shows by then is enough.
    with contextlib.suppress(PwTimeout):
        page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
    if page.locator("input[type=password]:visible").count() > 0:
        raise ProbeError(f"网页登录后的页面（{page.url}）仍是登录表单：声明的测试账户未能通过网页登录")
    if success is not None:
        text = rendered_text(page)
        wrong = [
            (success.location is not None and success.location not in page.url),
            (success.location_not is not None and success.location_not in page.url),
            any(x not in text for x in success.body_contains),
            any(x in text for x in success.body_lacks),
        ]
        if any(wrong):
            raise ProbeError(
                f"网页登录后的页面（{page.url}）不符合规格声明的登录成功条件：声明的测试账户未能通过网页登录"
            )


def _username_field(page: Any, pw_el: Any) -> Any:
    sel = (
        "input:not([type=hidden]):not([type=password]):not([type=submit]):not([type=button])"
        ":not([type=checkbox]):not([type=radio])"
    )
    in_form = pw_el.locator("xpath=ancestor::form[1]").locator(sel)
    if in_form.count() > 0:
        return in_form.first
    anywhere = page.locator(sel)
    return anywhere.first if anywhere.count() > 0 else None


def wait_for_text(page: Any, markers: list[str], timeout_s: float = 5.0) -> bool:
    """Wait (without page-side eval, which a strict CSP forbids) until the page text shows any marker."""
    markers = [m for m in markers if m]
    if not markers:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        text = page.locator("body").inner_text()
        if any(m in text for m in markers):
            return True
        page.wait_for_timeout(150)
    return False


def rendered_text(page: Any) -> str:
    """What the user sees: the body text plus the values of form fields (read-only fields too)."""
    body = page.locator("body").inner_text()
    values = page.locator("input:not([type=password]):not([type=hidden]), textarea").evaluate_all(
        "els => els.map(e => e.value).filter(v => v)"
    )
    return body + ("\n" + "\n".join(values) if values else "")


def browser_storage(page: Any) -> dict[str, Any]:
    """Cookies, localStorage and sessionStorage of the page's origin (what the browser keeps)."""
    state = page.context.storage_state()
    session = page.evaluate("() => Object.fromEntries(Object.entries(window.sessionStorage))")
    return {"cookies": state.get("cookies", []), "origins": state.get("origins", []), "sessionStorage": session}
