"""The step library: the Chinese phrases a lab engineer writes scenarios with, bound to the spec's
driver. No step knows a sample's URLs or field names: steps name declared operations
(``account``, ``transfer``, ``history``, ``login``, ``logout`` or any other the spec declares),
declared test accounts, and answer fields as the spec's ``returns`` declares them.

Every argument is written in quotes (“…” or "...") and may hold placeholders (see values.py).
The registry ``STEPS`` is what scenario validation matches feature files against, so a step
that is not here is reported with its file and line before anything is deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from pytest_bdd import parsers, step

from harness.deploy import GUARD
from harness.drivers import DriverError
from harness.functional.world import BROWSER_TIMEOUT_MS, World, as_decimal
from harness.spec.model import Account
from harness.verdicts import not_applicable


# An argument in quotes; the name is the regex group (and the step function's parameter).
def q(name: str) -> str:
    return rf"[“\"](?P<{name}>[^”\"]*)[”\"]"


# What a step's argument refers to, for validation against the spec.
ACCOUNT, OPERATION, KEEPS, KEPT = "account", "operation", "keeps", "kept"


@dataclass
class StepDef:
    phrase: str  # how the library lists it (with ‹…› for arguments)
    regex: str
    kinds: dict[str, str]
    browser: bool
    parser: Any = field(repr=False, default=None)

    def match(self, text: str) -> dict[str, str] | None:
        m = re.fullmatch(self.regex, text)
        return m.groupdict() if m else None


STEPS: list[StepDef] = []


def lab_step(phrase: str, regex: str, kinds: dict[str, str] | None = None, browser: bool = False) -> Callable[..., Any]:
    """Register a step for every keyword (假如/当/那么/而且 alike) and in the validation registry."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        parser = parsers.re(regex)
        step(parser, stacklevel=2)(fn)
        fn._lab_browser_step = browser  # type: ignore[attr-defined]  # screenshots after such steps
        STEPS.append(StepDef(phrase, regex, kinds or {}, browser, parser))
        return fn

    return deco


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lab_browser() -> Iterator[Any]:
    """One headless Debian chromium per module and target (harness.probes.browser), started by the
    first browser step. Not per session: Playwright's sync API keeps an event loop running in this
    thread while it lives, which other checks' asyncio and browsers must not find."""
    from harness.probes.browser import ScopedBrowser

    b = ScopedBrowser(GUARD)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def world(request: pytest.FixtureRequest, driver: Any, spec: Any, evidence: Any) -> Iterator[World]:
    w = World(
        driver=driver, spec=spec, evidence=evidence, browser_factory=lambda: request.getfixturevalue("lab_browser")
    )
    try:
        yield w
    finally:
        w.close()


# -- sessions ------------------------------------------------------------------------------------
@lab_step("以测试账户“‹账户›”登录", rf"以测试账户{q('account')}登录", {"account": ACCOUNT})
def login_as(world: World, account: str) -> None:
    acct = world.account(account)
    resp = world.log_in(acct)
    status = "" if resp is None else f"：应答 {resp.status_code}：{resp.text[:300]}"
    assert world.session is not None, f"声明的测试账户 {acct.name} 登录未成功（不符合规格声明的成功条件）{status}"


@lab_step(
    "以测试账户“‹账户›”和密码“‹密码›”尝试登录",
    rf"以测试账户{q('account')}和密码{q('password')}尝试登录",
    {"account": ACCOUNT},
)
def try_login_as(world: World, account: str, password: str) -> None:
    acct = world.account(account)
    world.answered("login", world.driver.login(acct, world.value(password)))


@lab_step("以用户名“‹用户名›”和密码“‹密码›”尝试登录", rf"以用户名{q('username')}和密码{q('password')}尝试登录")
def try_login_user(world: World, username: str, password: str) -> None:
    name = world.value(username)
    declared = {a.username for a in world.driver.accounts()}
    if name in declared:
        raise DriverError(f"用户名 {name!r} 属于声明的测试账户：请用“以测试账户“…”和密码“…”尝试登录”")
    stranger = Account(name="未声明用户", username=name, password=world.value(password), account_id="-")
    world.answered("login", world.driver.login(stranger, stranger.password))


@lab_step("退出登录", r"退出登录")
def logout(world: World) -> None:
    world.answered("logout", world.driver.logout(world.need_session()))


# -- declared operations -------------------------------------------------------------------------
@lab_step("查看账户", r"查看账户")
def view_account(world: World) -> None:
    s = world.need_session()
    world.send("account", s)


@lab_step("查看测试账户“‹账户›”的账户", rf"查看测试账户{q('account')}的账户", {"account": ACCOUNT})
def view_other_account(world: World, account: str) -> None:
    s = world.need_session()
    world.send("account", s, account_id=world.account(account).account_id)


@lab_step("向测试账户“‹账户›”转账“‹金额›”元", rf"向测试账户{q('account')}转账{q('amount')}元", {"account": ACCOUNT})
def transfer_to_account(world: World, account: str, amount: str) -> None:
    s = world.need_session()
    payee = world.account(account)
    world.send("transfer", s, to_account=payee.account_id, amount=world.value(amount))


@lab_step("向账号“‹账号›”转账“‹金额›”元", rf"向账号{q('account_id')}转账{q('amount')}元")
def transfer_to_number(world: World, account_id: str, amount: str) -> None:
    s = world.need_session()
    world.send("transfer", s, to_account=world.value(account_id), amount=world.value(amount))


@lab_step("查看交易记录", r"查看交易记录")
def view_history(world: World) -> None:
    s = world.need_session()
    world.send("history", s)


def _call(world: World, operation: str, fields: dict[str, str]) -> None:
    name = world.value(operation)
    if name == "logout":
        world.answered("logout", world.driver.logout(world.need_session()))
        return
    op = world.driver.info(name)
    session = world.session if op.auth else None
    if op.auth and session is None:
        raise DriverError(f"操作 {name!r} 需要先登录")
    world.send(name, session, **{k: world.value(v) for k, v in fields.items()})


@lab_step("调用操作“‹操作›”", rf"调用操作{q('operation')}", {"operation": OPERATION})
def call_operation(world: World, operation: str) -> None:
    _call(world, operation, {})


@lab_step(
    "调用操作“‹操作›”，字段为：（表格：字段 | 值）",
    rf"调用操作{q('operation')}[，,]\s*字段为[：:]",
    {"operation": OPERATION},
)
def call_operation_with(world: World, operation: str, datatable: list[list[str]]) -> None:
    rows = [r for r in datatable if r]
    if rows and [c.strip() for c in rows[0][:2]] == ["字段", "值"]:
        rows = rows[1:]
    _call(world, operation, {r[0].strip(): r[1] for r in rows if len(r) >= 2})


@lab_step("原样再次发送上一个请求", r"原样再次发送上一个请求")
def resend(world: World) -> None:
    if world.last_call is None or world.last_operation is None:
        raise DriverError("还没有可以重发的请求：先调用一个操作")
    op = world.last_operation
    world.answered(op, world.driver.send(world.last_call, world.session, note=f"{op}（原样重发）"))


# -- the answer ----------------------------------------------------------------------------------
@lab_step("操作成功", r"操作成功")
def succeeded(world: World) -> None:
    op, resp = world.need_answer()
    assert world.succeeded(), (
        f"操作 {op} 未成功（不符合规格声明的成功条件）：应答 {resp.status_code}：{resp.text[:300]}"
    )


@lab_step("操作被拒绝", r"操作被拒绝")
def refused(world: World) -> None:
    op, resp = world.need_answer()
    assert not world.succeeded() and resp.status_code < 500, (
        f"操作 {op} 应被拒绝（非成功应答且非服务器错误），实际应答 {resp.status_code}：{resp.text[:300]}"
    )


@lab_step("应答状态为“‹状态码›”", rf"应答状态为{q('status')}")
def status_is(world: World, status: str) -> None:
    op, resp = world.need_answer()
    want = int(world.value(status))
    assert resp.status_code == want, f"操作 {op} 的应答状态为 {resp.status_code}，应为 {want}：{resp.text[:300]}"


def _q(value: Any) -> str:
    """A value as a step's finding quotes it: the text a reader sees, never a Python repr."""
    if value is None:
        return "（空）"
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
    return f"“{text}”"


def _same(actual: Any, expected: str) -> bool:
    if str(actual) == expected:
        return True
    try:
        return Decimal(str(actual)) == Decimal(expected)
    except ArithmeticError:
        return False


@lab_step("应答字段“‹字段›”为“‹值›”", rf"应答字段{q('name')}为{q('value')}")
def field_is(world: World, name: str, value: str) -> None:
    actual, want = world.field(name), world.value(value)
    assert _same(actual, want), f"应答字段“{name}”为 {_q(actual)}，应为 {_q(want)}"


@lab_step("应答字段“‹字段›”不为空", rf"应答字段{q('name')}不为空")
def field_present(world: World, name: str) -> None:
    actual = world.field(name)
    assert actual not in (None, "", [], {}), f"应答字段“{name}”为空：{_q(actual)}"


@lab_step("应答中含有文字“‹文字›”", rf"应答中含有文字{q('text')}")
def answer_contains(world: World, text: str) -> None:
    want, body = world.value(text), world.answer_text()
    assert want in body, f"应答中没有“{want}”：{body[:300]}"


@lab_step("应答中不含文字“‹文字›”", rf"应答中不含文字{q('text')}")
def answer_lacks(world: World, text: str) -> None:
    want, body = world.value(text), world.answer_text()
    assert want not in body, f"应答中出现了“{want}”：{body[:300]}"


@lab_step("记下应答字段“‹字段›”为“‹名称›”", rf"记下应答字段{q('name')}为{q('key')}", {"key": KEEPS})
def keep_field(world: World, name: str, key: str) -> None:
    world.kept[key] = world.field(name)


@lab_step("记下应答内容为“‹名称›”", rf"记下应答内容为{q('key')}", {"key": KEEPS})
def keep_answer(world: World, key: str) -> None:
    world.kept[key] = world.answer_text()


@lab_step("应答内容与记下的“‹名称›”相同", rf"应答内容与记下的{q('key')}相同", {"key": KEPT})
def answer_same(world: World, key: str) -> None:
    body, kept = world.answer_text(), world.kept[key]
    assert body == kept, f"两次应答内容不同：{_q(kept[:200])} 与 {_q(body[:200])}"


@lab_step("应答字段“‹字段›”等于记下的“‹名称›”", rf"应答字段{q('name')}等于记下的{q('key')}", {"key": KEPT})
def field_equals_kept(world: World, name: str, key: str) -> None:
    actual, kept = world.field(name), world.kept[key]
    assert _same(actual, str(kept)), f"应答字段“{name}”为 {_q(actual)}，记下的“{key}”为 {_q(kept)}"


@lab_step(
    "应答字段“‹字段›”比记下的“‹名称›”少（或多）“‹金额›”",
    rf"应答字段{q('name')}比记下的{q('key')}(?P<direction>少|多){q('amount')}",
    {"key": KEPT},
)
def field_changed_by(world: World, name: str, key: str, direction: str, amount: str) -> None:
    now = as_decimal(world.field(name), f"应答字段“{name}”")
    before = as_decimal(world.kept[key], f"记下的“{key}”")
    delta = as_decimal(world.value(amount), "金额")
    want = before - delta if direction == "少" else before + delta
    assert now == want, f"应答字段“{name}”为 {now}，应为记下的 {before} {direction} {delta} 即 {want}"


def _contains(item: Any, value: Any) -> bool:
    if isinstance(item, dict):
        return any(_same(v, str(value)) for v in item.values())
    return _same(item, str(value))


def _items(world: World, name: str) -> list[Any]:
    items = world.field(name)
    assert isinstance(items, list), f"应答字段“{name}”不是列表：{_q(items)}"
    return items


@lab_step(
    "应答字段“‹字段›”中有一项含有记下的“‹名称›”", rf"应答字段{q('name')}中有一项含有记下的{q('key')}", {"key": KEPT}
)
def list_has_kept(world: World, name: str, key: str) -> None:
    items, kept = _items(world, name), world.kept[key]
    assert any(_contains(i, kept) for i in items), f"应答字段“{name}”的 {len(items)} 项中没有 {_q(kept)}"


@lab_step(
    "应答字段“‹字段›”的第一项含有记下的“‹名称›”",
    rf"应答字段{q('name')}的第一项含有记下的{q('key')}",
    {"key": KEPT},
)
def list_first_has_kept(world: World, name: str, key: str) -> None:
    items, kept = _items(world, name), world.kept[key]
    assert items, f"应答字段“{name}”为空列表，其中没有 {_q(kept)}"
    assert _contains(items[0], kept), f"应答字段“{name}”的第一项不含 {_q(kept)}：{_q(items[0])[:200]}" + (
        "" if any(_contains(i, kept) for i in items) else f"（全部 {len(items)} 项中都没有）"
    )


@lab_step(
    "应答字段“‹字段›”的第一项中“‹键›”为“‹值›”",
    rf"应答字段{q('name')}的第一项中{q('key')}为{q('value')}",
)
def list_first_field(world: World, name: str, key: str, value: str) -> None:
    items = _items(world, name)
    assert items, f"应答字段“{name}”为空列表"
    first, want = items[0], world.value(value)
    assert isinstance(first, dict) and key in first, f"应答字段“{name}”的第一项没有“{key}”：{_q(first)[:200]}"
    assert _same(first[key], want), f"应答字段“{name}”第一项的“{key}”为 {_q(first[key])}，应为 {_q(want)}"


# -- the browser ---------------------------------------------------------------------------------
def _shown(world: World, limit: int = 200) -> str:
    """What the page did show, for a failed expectation (an engineer reads what was there)."""
    try:
        text = " ".join(world.page().locator("body").inner_text(timeout=2000).split())
    except Exception as e:  # noqa: BLE001 - the page may be gone; say so instead
        return f"无法读取（{type(e).__name__}）"
    return text if len(text) <= limit else text[:limit] + "…"


SETTLED_RECHECK_MS = 2000  # the page has its answers: what it shows now is what it shows


def _settled(world: World, expectation: Callable[[float], None]) -> bool:
    """Whether the page meets the expectation once it has the sample's answers. Not met within the
    wait while the page still waits for the sample (a slow answer, a navigation under way) is the
    lab's timeout, and not met by a page that lost requests on the way (its script, its data) is no
    judgement of the page either: errors naming what was pending or lost, never the product's
    failure. Not met by a whole page that has its answers is the product's."""
    try:
        expectation(BROWSER_TIMEOUT_MS)
        return True
    except AssertionError:
        pass
    pending = world.waiting_for(BROWSER_TIMEOUT_MS)
    if pending:
        raise DriverError(
            f"页面等待样品应答超过 {2 * BROWSER_TIMEOUT_MS / 1000:g} 秒仍未完成（{'、'.join(pending[:3])}），无法判断"
        )
    try:
        expectation(SETTLED_RECHECK_MS)
        return True
    except AssertionError:
        pass
    lost = world.failed_requests
    if lost:
        raise DriverError(f"页面的请求没有得到应答（{'、'.join(lost[:3])}），页面不完整，无法判断")
    return False


def _expect() -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    return expect


@lab_step("打开登录页面", r"打开登录页面", browser=True)
def open_login_page(world: World) -> None:
    path = str(world.driver.web_login_path() or "").strip()
    if not path:
        not_applicable(
            "样品未声明网页登录地址（driver.web_login_path）",
            en="the sample declares no web login address (driver.web_login_path)",
        )
    world.page().goto(world.url(path))


@lab_step("打开页面“‹路径›”", rf"打开页面{q('path')}", browser=True)
def open_page(world: World, path: str) -> None:
    world.page().goto(world.url(path))


@lab_step("在“‹标签›”中输入“‹值›”", rf"在{q('label')}中输入{q('value')}", browser=True)
def fill(world: World, label: str, value: str) -> None:
    world.page().get_by_label(world.value(label), exact=True).fill(world.value(value))


@lab_step("点击“‹按钮或链接›”", rf"点击{q('name')}", browser=True)
def click(world: World, name: str) -> None:
    page, text = world.page(), world.value(name)
    for role in ("button", "link"):
        target = page.get_by_role(role, name=text, exact=True)
        if target.count():
            target.first.click()
            return
    page.get_by_text(text, exact=True).first.click()


@lab_step("页面显示“‹文字›”", rf"页面显示{q('text')}", browser=True)
def page_shows(world: World, text: str) -> None:
    want = world.value(text)
    if not _settled(world, lambda t: _expect()(world.page().locator("body")).to_contain_text(want, timeout=t)):
        raise AssertionError(f"页面没有显示“{want}”（{world.page().url}；页面文字：{_shown(world)}）")


@lab_step("页面不显示“‹文字›”", rf"页面不显示{q('text')}", browser=True)
def page_lacks(world: World, text: str) -> None:
    want = world.value(text)
    if not _settled(world, lambda t: _expect()(world.page().locator("body")).not_to_contain_text(want, timeout=t)):
        raise AssertionError(f"页面显示了“{want}”（{world.page().url}）")


@lab_step("页面地址为“‹路径›”", rf"页面地址为{q('path')}", browser=True)
def page_url_is(world: World, path: str) -> None:
    want = world.url(path)
    pattern = re.compile(re.escape(want) + r"([?#].*)?$")
    if not _settled(world, lambda t: _expect()(world.page()).to_have_url(pattern, timeout=t)):
        raise AssertionError(f"页面地址为 {world.page().url}，应为 {want}")


@lab_step("浏览器后退", r"浏览器后退", browser=True)
def go_back(world: World) -> None:
    world.page().go_back()


def phrases() -> list[str]:
    return [s.phrase for s in STEPS]
