"""The sample's web pages, in a real browser (chromium, scoped to the deployment).

- 10.masking.display: the password input masks what is typed (JR/T 0092 5.1 sensitive-data display:
  a password is never echoed), and the pages shown after logging in display C2 masked.
- 10.storage.c3: the browser is not asked to keep the password (JR/T 0171: browsers must not store
  authentication data): its input has autocomplete="off" or "new-password" (an explicit
  "current-password" or the default "on" invites the password manager to save it), and after logging
  in the password is in no cookie, localStorage, sessionStorage or requested URL (a GET form would put
  it into history and server logs).

Not applicable when the spec declares no web login page (driver.web_login_path).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from harness.checks.data import known_values, scan_text, typed_passwords
from harness.checks.pii import FIELD_KIND, masked_renderings, masking_rules, redact
from harness.deploy import GUARD
from harness.probes.browser import (
    ScopedBrowser,
    ScopeLog,
    attach_screenshot,
    browser_storage,
    fill_login_form,
    rendered_text,
    submit_login,
    wait_for_text,
)
from harness.suite_support import accounts
from harness.verdicts import not_applicable

ALLOWED_AUTOCOMPLETE = ("off", "new-password")


@pytest.fixture(scope="module")
def browser() -> Iterator[ScopedBrowser]:
    b = ScopedBrowser(GUARD)  # starts chromium on first use only
    try:
        yield b
    finally:
        b.close()


def _login_url(driver) -> str:
    path = driver.web_login_path()
    if not path:
        not_applicable(
            "样品未声明网页登录页（driver.web_login_path），不涉及网页展示",
            en="the sample declares no web login page (driver.web_login_path): it has no web pages to show",
        )
    return str(driver.web_base_url()).rstrip("/") + path


def _screenshot(page, evidence, title: str, full: bool = False) -> None:
    attach_screenshot(page, evidence, title, full_page=full)  # evidence, not the verdict: retried, never an error


def _scope_record(log: ScopeLog, evidence) -> None:
    if log.refused:
        evidence.attach_json("浏览器被拦截的范围外请求", log.refused)
        evidence.observe(
            f"页面试图访问 {len(log.refused)} 个测试范围外地址，已全部拦截（见证据）",
            en=f"The page tried to reach {len(log.refused)} address(es) outside the test scope; all were blocked "
            "(see the evidence)",
        )


@pytest.mark.clause("10.masking.display")
def test_password_input_masks_what_is_typed(spec, driver, deployment, browser, evidence):
    url = _login_url(driver)
    acct = accounts(driver, 1)[0]
    with browser.page() as (page, log):
        _el, field = fill_login_form(page, url, acct.username, acct.password)
        _screenshot(page, evidence, "登录页（已输入口令）")
        shown = rendered_text(page)
        _scope_record(log, evidence)
    evidence.attach_json("口令输入框", {"type": field.input_type, "html": redact(field.descriptor, [acct.password])})
    echoed = acct.password in shown
    evidence.observe(
        f"网页登录页口令输入框 type={field.input_type}"
        + ("，输入内容以掩码显示" if not echoed else "，输入的口令明文显示"),
        en=f"The web login page's password input has type={field.input_type}"
        + (": what is typed is shown masked" if not echoed else ": the typed password is shown in clear"),
    )
    assert field.input_type == "password" and not echoed, f"口令输入框 type={field.input_type}，输入的口令未被屏蔽"


@pytest.mark.clause("10.storage.c3")
def test_browser_is_not_asked_to_keep_the_password(spec, driver, deployment, browser, evidence):
    url = _login_url(driver)
    acct = accounts(driver, 1)[0]
    pw = acct.password
    with browser.page() as (page, log):
        el, field = fill_login_form(page, url, acct.username, pw)
        submit_login(page, el, url, success=driver.web_login_success())
        _screenshot(page, evidence, "网页登录后页面")
        storage = browser_storage(page)
        _scope_record(log, evidence)
        requested = [*log.requested, page.url]
    problems = []
    ac = field.effective_autocomplete
    if ac not in ALLOWED_AUTOCOMPLETE:
        problems.append(f"口令输入框 autocomplete={ac}（应为 {' 或 '.join(ALLOWED_AUTOCOMPLETE)}），浏览器可能保存口令")
    forms = {pw, quote(pw, safe=""), quote_plus(pw)}
    stored = [k for k, v in _flatten(storage) if any(f in v for f in forms)]
    if stored:
        problems.append(f"登录后浏览器存储中含口令：{'、'.join(stored)}")
    in_urls = [redact(u, forms) for u in requested if any(f in u for f in forms)]
    if in_urls:
        problems.append(f"口令出现在请求地址中（会进入浏览历史与服务器日志）：{in_urls[0]}")
    evidence.attach_json(
        "口令缓存检查",
        {
            "input autocomplete": field.autocomplete,
            "form autocomplete": field.form_autocomplete,
            "effective": ac,
            "browser storage keys": [k for k, _ in _flatten(storage)],
            "requests": [redact(u, forms) for u in requested],
            "problems": problems,
        },
    )
    evidence.observe(
        f"口令输入框 autocomplete 生效值为 {ac}"
        + ("" if ac in ALLOWED_AUTOCOMPLETE else f"（应为 {' 或 '.join(ALLOWED_AUTOCOMPLETE)}，浏览器可能保存口令）")
        + f"；登录后 Cookie、localStorage、sessionStorage 共 {len(_flatten(storage))} 项，请求地址 {len(requested)} 个"
        + ("，均不含口令" if not (stored or in_urls) else f"，其中 {len(stored) + len(in_urls)} 处含口令"),
        en=f"The password input's effective autocomplete is {ac}"
        + (
            ""
            if ac in ALLOWED_AUTOCOMPLETE
            else f" (should be {' or '.join(ALLOWED_AUTOCOMPLETE)}: the browser may keep it)"
        )
        + f"; after login, {len(_flatten(storage))} cookie and storage entries and {len(requested)} requested "
        + (
            "addresses, none holding the password"
            if not (stored or in_urls)
            else f"addresses, {len(stored) + len(in_urls)} holding the password"
        ),
    )
    assert not problems, "; ".join(problems)


def _flatten(storage: dict) -> list[tuple[str, str]]:
    out = [(f"cookie:{c.get('name')}", str(c.get("value", ""))) for c in storage.get("cookies", [])]
    for origin in storage.get("origins", []):
        for item in origin.get("localStorage", []):
            out.append((f"localStorage:{item.get('name')}", str(item.get("value", ""))))
    out += [(f"sessionStorage:{k}", str(v)) for k, v in (storage.get("sessionStorage") or {}).items()]
    return out


@pytest.mark.clause("10.masking.display")
def test_pages_after_login_show_personal_information_masked(spec, driver, params, deployment, browser, evidence):
    url = _login_url(driver)
    acct = accounts(driver, 1)[0]
    masking = masking_rules(params.masking)
    own = [k for k in known_values([acct]) if k.kind in masking or k.field in masking]
    # What would show the page has the account's data: its account ID, or the tail of a C2 value.
    markers = [acct.account_id] + [k.value[-4:] for k in own]
    with browser.page() as (page, log):
        el, _field = fill_login_form(page, url, acct.username, acct.password)
        submit_login(page, el, url, success=driver.web_login_success())
        ready = wait_for_text(page, markers)
        text = rendered_text(page)
        _screenshot(page, evidence, "网页登录后页面（整页）", full=True)
        _scope_record(log, evidence)
    passwords = typed_passwords(driver.accounts())
    leaks = scan_text(text, "网页", passwords, known_values(driver.accounts()), masking)
    shown_masked = [
        f"{FIELD_KIND.get(k.field, k.field)}:{e.token}" for k in own for e in masked_renderings(text, k.value)
    ]
    evidence.attach_text(
        "页面文本（已脱敏）",
        redact(text, passwords.values(), [(k.value, k.kind) for k in known_values(driver.accounts())]),
    )
    evidence.attach_json(
        "页面检查结果", {"页面显示的屏蔽信息": [redact(s) for s in shown_masked], "发现": [x.as_dict() for x in leaks]}
    )
    where = "页面已展示账户信息" if ready else "页面未出现该账户的账号或证件尾号"
    where_en = "the page showed the account's data" if ready else "the page showed neither its account ID nor ID tail"
    c3 = sum(1 for x in leaks if x.cls == "C3")
    evidence.observe(
        f"以 {acct.name} 经网页登录后检查页面文本（{where}，{len(shown_masked)} 处屏蔽显示）："
        + (
            "未发现未屏蔽的个人金融信息"
            if not leaks
            else f"发现 {len(leaks)} 处：{'；'.join(x.what for x in leaks[:4])}"
        ),
        en=f"Logged in on the web as {acct.name} and read the page's text ({where_en}; {len(shown_masked)} masked "
        "renderings): "
        + (
            "no unmasked personal financial information"
            if not leaks
            else f"{len(leaks)} finding(s): {c3} of C3 information, {len(leaks) - c3} of unmasked or under-masked C2"
        ),
    )
    assert not leaks, "; ".join(sorted({x.what for x in leaks}))
