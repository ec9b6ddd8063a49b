"""JR/T 0199-2020 chapter 11 网络安全: error answers give nothing away (stack traces, SQL text,
internal paths, framework versions). Malformed requests go through the driver to every declared
operation: no body, a body of the wrong shape, wrong-typed and oversized fields, odd path values,
and unknown paths. A 5xx status alone is not judged here (that is robustness); what it says is."""

import uuid
from typing import Any

import pytest

from harness.checks import network as judge
from harness.checks.inputs import session_values
from harness.drivers import DriverError
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable

HUGE = "9" * 5000
# English names of judge.ERROR_LEAK_PATTERNS (header names are English already).
_LEAK_EN = {
    "Python 堆栈": "Python stack trace",
    "Java 堆栈": "Java stack trace",
    ".NET 堆栈": ".NET stack trace",
    "Node.js 堆栈": "Node.js stack trace",
    "PHP 错误": "PHP error",
    "Go panic": "Go panic",
    "SQL 语句或数据库错误": "SQL text or database error",
    "服务器内部路径": "server-internal path",
}
# Values every input gets in turn (all of an operation's inputs at once): wrong types and sizes, and
# the query-language shapes real products choke on and then describe (a quote that breaks an SQL
# string, a malformed regular expression in a query operator or in a JSON query condition, JSON
# that does not close, an identifier nothing has).
MALFORMED: list[tuple[str, Any]] = [
    ("对象", {"$": [1]}),
    ("数组", [None]),
    ("超长", HUGE),
    ("超大数", 10**40),
    ("空值", None),
    ("单引号", "'"),
    ("双引号与反斜杠", '"\\'),
    ("不存在的标识", "999999999"),
    ("畸形正则", "a("),
    ("查询运算符：畸形正则", {"$regex": "a("}),
    ("查询运算符：未知运算符", {"$harness": 1}),
    ("JSON 查询条件：畸形正则", '{"x":{"$regex":"a("}}'),
    ("JSON 查询条件：未知运算符", '{"x":{"$harness":1}}'),
    ("未闭合 JSON", '{"x":'),
    ("格式化占位符", "%s%s%s%n{0}${x}"),
]


def _malformed(driver, spec, session):
    """(label, response) for each malformed request."""
    out = []
    token = uuid.uuid4().hex[:8]
    out.append(("未知路径", driver.get_url(f"/harness-nonexistent-{token}", note="未知路径")))
    out.append(("超长未知路径", driver.get_url("/" + "a" * 4000, note="超长路径")))
    out.append(("路径穿越", driver.get_url("/..%2f..%2f..%2fetc%2fpasswd", note="路径穿越")))
    infos = driver.operations()
    ids = driver.object_ids()
    if driver.can_login():
        infos = {"login": driver.info("login"), **infos}
    for name, op in infos.items():
        if op.unsafe:
            continue  # the spec says it destroys or resets data: never sent by a generic probe
        sess = session if op.auth else None
        if op.auth and sess is None:
            continue
        own = session_values(sess)
        fields = {f: f"harness-{token}" for f in op.inputs if f not in own}  # never a real account: no lockout
        # A write keeps the account's own stored values (its e-mail, its name) as they are: a malformed
        # value the product accepted would otherwise change the account other checks use.
        kept = {f: own[f] for f in op.inputs if f in own and op.changes_state() and f not in ids | set(op.path_inputs)}
        try:
            base = driver.prepare(name, sess, **fields)
        except DriverError:
            continue
        if base.json is not None or base.form is not None:
            out.append(
                (f"{name} 空请求体", driver.send(base.copy(json=None, form=None), sess, note=f"{name}：空请求体"))
            )
            out.append(
                (
                    f"{name} 数组请求体",
                    driver.send(base.copy(json=[1, "x"], form=None), sess, note=f"{name}：数组请求体"),
                )
            )
            out.append(
                (
                    f"{name} 字符串请求体",
                    driver.send(base.copy(json="x", form=None), sess, note=f"{name}：字符串请求体"),
                )
            )
        for label, value in MALFORMED:
            wrong = {**{f: value for f in op.inputs}, **kept}
            try:
                call = driver.prepare(name, sess, **wrong)
            except (DriverError, TypeError, ValueError):
                continue
            out.append((f"{name} 字段为{label}", driver.send(call, sess, note=f"{name}：全部字段为{label}")))
    return out


@pytest.mark.clause("11.errors")
def test_errors_do_not_disclose_internals(driver, spec, evidence):
    if not driver.web_base_url():
        not_applicable("样品不是以 HTTP 接口驱动", en="the sample is not driven through an HTTP interface")
    accts = usable_accounts(driver)
    session = driver.session(accts[0]) if accts else None
    answers = _malformed(driver, spec, session)
    table = []
    problems = []
    kinds: dict[str, int] = {}  # what leaked (pattern or header name) -> answers
    for label, resp in answers:
        body, headers = judge.error_leaks(resp.text), judge.header_leaks(resp.headers)
        table.append({"request": label, "status": resp.status_code, "leaks": body + headers})
        if body or headers:
            problems.append(f"{label} → {resp.status_code}: {'; '.join(body + headers)}")
        # The leak's name only (the excerpt stays in the evidence file): "Python 堆栈", "Server".
        for name in {x.split("：", 1)[0] for x in body} | {x.split(":", 1)[0] for x in headers}:
            kinds[name] = kinds.get(name, 0) + 1
    evidence.attach_json("畸形请求与应答判定", table)
    server_errors = sum(1 for t in table if t["status"] >= 500)
    evidence.observe(
        f"发送 {len(answers)} 个畸形请求，5xx 应答 {server_errors} 个，"
        + (
            f"{len(problems)} 个应答泄露内部信息（"
            + "、".join(f"{k} {n} 个" for k, n in kinds.items())
            + "，摘录见证据）"
            if problems
            else "应答均未泄露堆栈、SQL、内部路径或版本信息"
        ),
        en=f"Sent {len(answers)} malformed requests; {server_errors} 5xx answers; "
        + (
            f"{len(problems)} answers disclosed internals ("
            + ", ".join(f"{_LEAK_EN.get(k, k)}: {n}" for k, n in kinds.items())
            + "; excerpts in the evidence)"
            if problems
            else "no answer disclosed a stack trace, SQL, internal path or version"
        ),
    )
    assert not problems, "; ".join(problems)
