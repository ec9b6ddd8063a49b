"""功能测试: the sample answers as its own interface document (OpenAPI) says.

Schemathesis generates the requests and judges the answers (no server errors, documented status
codes, content types and schemas, invalid input rejected) plus the lab's stack-trace check; the
harness supplies authentication (a fresh session per ordinary test account), the signing envelope
and the declared-limit amounts, all through the driver protocol (a REST description and a Python
driver alike), and keeps every request inside the scope guard.
"""

import pytest

from harness.deploy import GUARD
from harness.functional.conformance import ConformanceRun
from harness.plan import API_CONFORMANCE
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

MAX_EXAMPLES = 6  # fuzzed cases per operation and account, besides the coverage cases
TIME_BUDGET_S = 60


@pytest.mark.clause(API_CONFORMANCE)
def test_answers_match_the_interface_document(driver, spec, sample_spec, evidence):
    doc = spec.documentation.openapi
    if not doc:
        not_applicable(
            "样品文档未包含接口描述（OpenAPI）",
            en="the sample's documentation contains no interface description (OpenAPI)",
        )
    if not driver.web_base_url():
        not_applicable(
            "样品驱动未给出接口的网络地址，无法按接口文档发送请求",
            en="the sample's driver gives no network address of the interface, so no request can be sent by the "
            "interface document",
        )
    accounts = usable_accounts(driver)
    if not accounts:
        not_applicable(
            "样品未声明普通测试账户，无法以测试账户身份检查需认证的接口",
            en="the sample declares no ordinary test account, so the interfaces that need authentication cannot be "
            "checked as a test account",
        )
    run = ConformanceRun(
        spec,
        sample_spec.resolve(doc),
        driver,
        GUARD,
        max_examples=MAX_EXAMPLES,
        time_budget_s=TIME_BUDGET_S,
    )
    out = run.run(accounts)
    evidence.attach_json(
        "接口一致性检查概况",
        {
            "document": doc,
            "operations": out.operations,
            "accounts": [a.name for a in accounts],
            "requests": out.requests,
            "seconds": round(out.seconds, 1),
            "status_codes_by_operation": out.by_operation,
            "notes": out.notes,
            "findings": len(out.findings),
        },
    )
    evidence.attach_json("接口一致性请求记录", out.log)
    for i, f in enumerate(out.findings, start=1):
        evidence.attach_text(
            f"问题{i}-{f.operation}",
            f"{f.title}（{', '.join(f.checks)}）\n操作：{f.operation}\n测试账户：{f.account}\n"
            f"应答状态：{f.status}\n来源：{f.source}\n\n{f.message}\n\n最小复现请求：\n{f.curl}\n",
        )
    where = sorted({f.operation for f in out.findings})
    evidence.observe(
        f"按接口文档检查 {len(out.operations)} 个操作，以 {len(accounts)} 个测试账户发送 {out.requests} 个请求，"
        + ("应答均与文档一致" if not out.findings else f"发现 {len(out.findings)} 处与文档不一致：{'、'.join(where)}"),
        en=f"Checked {len(out.operations)} operations of the interface document, sending {out.requests} requests "
        f"as {len(accounts)} test accounts: "
        + (
            "every answer matched the document"
            if not out.findings
            else f"{len(out.findings)} difference(s) from the document: {', '.join(where)}"
        ),
    )
    assert not out.findings, "；".join(f"{f.operation}: {f.title} ({f.status})" for f in out.findings)
