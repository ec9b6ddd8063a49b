"""JR/T 0199-2020 chapter 10 数据安全 (with JR/T 0171): masked display of C2 information."""

import pytest

from harness.checks.pii import FIELD_KIND, KIND_ZH, masked_properly, redact
from harness.drivers import DriverError
from harness.suite_support import require_operations, usable_accounts
from harness.verdicts import not_applicable


@pytest.mark.clause("10.masking.display")
def test_personal_information_is_masked_in_account_view(driver, spec, params, evidence):
    require_operations(driver, "account")
    checked = 0
    problems = []
    problems_en = []
    for acct in usable_accounts(driver):
        pii = {f: getattr(acct, f) for f in params.masking if getattr(acct, f, None)}
        if not pii:
            continue
        s = driver.session(acct)
        resp = driver.call("account", s, account_id=acct.account_id)
        for fname, original in pii.items():
            if original in resp.text:
                problems.append(f"{acct.name} 的{_zh(fname)}完整出现在应答中")
                problems_en.append(f"{acct.name}: {fname} appears in full in the answer")
            try:
                shown = str(driver.returned(resp, "account", fname))
            except DriverError:
                continue  # not shown at all satisfies masking; the full value was searched for above
            checked += 1
            pre, suf = params.masking[fname]
            if not masked_properly(shown, original, (pre, suf)):
                safe = redact(shown, known=[(original, FIELD_KIND.get(fname, fname))])  # evidence keeps C2 masked
                problems.append(f"{acct.name} 的{_zh(fname)}显示为 {safe}，未按保留前{pre}后{suf}位屏蔽")
                problems_en.append(
                    f"{acct.name}: {fname} is shown as {safe}, not masked to the first {pre} and last {suf} characters"
                )
    if checked == 0 and not problems:
        not_applicable(
            "测试账户未声明卡号、证件号或手机号，或账户接口不返回这些信息",
            en="the test accounts declare no card, ID or phone number, or the account interface does not return them",
        )
    evidence.observe(
        f"检查 {checked} 个个人金融信息字段"
        + ("，均已屏蔽" if not problems else f"，发现 {len(problems)} 处未屏蔽：{'；'.join(problems)}"),
        en=f"Checked {checked} personal financial information fields: "
        + ("all masked" if not problems else f"{len(problems)} not masked: {'; '.join(problems_en)}"),
    )
    assert not problems, "; ".join(problems)


def _zh(field: str) -> str:
    return KIND_ZH.get(FIELD_KIND.get(field, ""), field)
