"""The state one scenario carries from step to step: the logged-in session, the last answer, the
values kept for later steps, the browser page, and the step transcript."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from harness.drivers import DriverError, DriverSession
from harness.evidence import EvidenceRecorder
from harness.functional.values import display, resolve
from harness.spec.model import Account, SampleSpec

# How long a browser step waits for the page to show what it expects. A page that meets the
# expectation ends the wait at once, so only a product that does not is slowed by a longer one.
BROWSER_TIMEOUT_MS = 15_000


@dataclass
class StepRecord:
    keyword: str
    text: str
    line: int
    ms: float
    outcome: str  # 通过 | 失败 | 异常
    note: str = ""

    def line_text(self) -> str:
        mark = {"通过": "✓", "失败": "✗", "异常": "!"}.get(self.outcome, "?")
        tail = f" — {self.note}" if self.note else ""
        return f"{mark} 第 {self.line} 行 {self.keyword} {self.text}  ({self.ms:.0f} ms){tail}"


@dataclass
class World:
    driver: Any
    spec: SampleSpec
    evidence: EvidenceRecorder
    browser_factory: Callable[[], Any] | None = None
    session: DriverSession | None = None
    last_operation: str | None = None
    last: requests.Response | None = None
    last_call: Any = None  # the request last sent through an operation step (for a resend)
    kept: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    screenshots: int = 0
    _context: Any = None
    _page: Any = None
    _scope_log: Any = None
    _step_started: float = 0.0

    # -- values ------------------------------------------------------------------------------------
    def value(self, text: str) -> str:
        return resolve(text, self.spec, self.kept)

    def shown(self, text: str) -> str:
        """The text as titles and transcripts show it: placeholders resolved, secrets hidden."""
        return display(text, self.spec, self.kept)

    def account(self, name: str) -> Account:
        wanted = self.value(name)
        for a in self.driver.accounts():  # with what provisioning captured on this deployment
            if a.name == wanted:
                return a
        raise DriverError(f"规格中没有名为 {name!r} 的测试账户")

    def need_session(self) -> DriverSession:
        if self.session is None:
            raise DriverError("该步骤需要先登录（以测试账户“…”登录）")
        return self.session

    # -- answers -----------------------------------------------------------------------------------
    def answered(self, operation: str, response: requests.Response) -> requests.Response:
        self.last_operation, self.last = operation, response
        return response

    def send(self, operation: str, session: DriverSession | None, **fields: Any) -> requests.Response:
        """Prepare and send a declared operation through the driver, keeping the request."""
        call = self.driver.prepare(operation, session, **fields)
        self.last_call = call
        return self.answered(operation, self.driver.send(call, session))

    def need_answer(self) -> tuple[str, requests.Response]:
        if self.last is None or self.last_operation is None:
            raise DriverError("还没有应答可检查：先调用一个操作")
        return self.last_operation, self.last

    def field(self, name: str) -> Any:
        """The answer's field, as the spec declares it (driver.returned); absent = the sample fails."""
        op, resp = self.need_answer()
        try:
            return self.driver.returned(resp, op, self.value(name))
        except DriverError as e:
            raise AssertionError(f"应答中没有字段“{name}”：{e}；应答 {resp.status_code}：{resp.text[:300]}") from None

    def answer_text(self) -> str:
        _op, resp = self.need_answer()
        try:
            return json.dumps(resp.json(), ensure_ascii=False)
        except ValueError:
            return resp.text

    def succeeded(self, operation: str | None = None) -> bool:
        """Whether the last answer is the declared success of its operation."""
        op, resp = self.need_answer()
        return bool(self.driver.succeeded(operation or op, resp))

    # -- sessions ----------------------------------------------------------------------------------
    def log_in(self, account: Account) -> requests.Response | None:
        """Log in through the driver (each account with its own cookie jar); the scenario's session
        is the one the login opened, None when the login was not the declared success."""
        resp, session = self.driver.login_session(account)
        if resp is not None:
            self.answered("login", resp)
        self.session = session
        return resp

    # -- browser -----------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        base = self.driver.web_base_url()
        if not base:
            raise DriverError("该样品的驱动没有网页地址（base_url），不能执行浏览器步骤")
        return str(base)

    def page(self) -> Any:
        """The scenario's page: a fresh browser context kept inside the scope guard (an out-of-scope
        request is aborted and listed in the evidence)."""
        if self._page is None:
            if self.browser_factory is None:
                raise DriverError("浏览器不可用")
            self._context = self.browser_factory().page()
            self._page, self._scope_log = self._context.__enter__()
            self._page.set_default_timeout(BROWSER_TIMEOUT_MS)
        return self._page

    @property
    def blocked(self) -> list[str]:
        return list(self._scope_log.refused) if self._scope_log is not None else []

    @property
    def failed_requests(self) -> list[str]:
        return list(self._scope_log.failed) if self._scope_log is not None else []

    @property
    def page_requests(self) -> list[str]:
        return list(self._scope_log.requested) if self._scope_log is not None else []

    def waiting_for(self, timeout_ms: float) -> list[str]:
        """Let the page finish what it asked the sample for; what it still waits for after
        ``timeout_ms`` (URLs), none when it settled."""
        log, page = self._scope_log, self.page()
        deadline = time.monotonic() + timeout_ms / 1000
        while log is not None and log.in_flight and time.monotonic() < deadline:
            page.wait_for_timeout(100)  # lets the page's request events in
        return sorted(set(log.in_flight.values())) if log is not None else []

    def url(self, path: str) -> str:
        path = self.value(path)
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")

    def screenshot(self, title: str) -> None:
        if self._page is None:
            return
        from harness.probes.browser import attach_screenshot

        # Evidence, not the verdict: retried, and a picture that cannot be taken is said so.
        if attach_screenshot(
            self._page, self.evidence, f"截图 {self.screenshots + 1}：{self.shown(title)}", full_page=True
        ):
            self.screenshots += 1

    def close(self) -> None:
        if self._context is not None:
            with contextlib.suppress(Exception):  # the browser may already be gone
                self._context.__exit__(None, None, None)
            self._context = self._page = None

    # -- transcript --------------------------------------------------------------------------------
    def step_started(self) -> None:
        self._step_started = time.perf_counter()

    def step_done(self, keyword: str, text: str, line: int, outcome: str, note: str = "") -> None:
        ms = (time.perf_counter() - self._step_started) * 1000 if self._step_started else 0.0
        self.steps.append(StepRecord(keyword, self.shown(text), line, ms, outcome, self.shown(note)))


def as_decimal(value: Any, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise AssertionError(f"{what} 的值“{value}”不是数值") from None
