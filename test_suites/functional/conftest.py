"""功能测试 plumbing: the step library, the scenario tests generated from the spec's use cases,
and the step transcript each scenario leaves as evidence.

Broken scenario files (an unknown step, an undeclared operation or account, a placeholder nothing
declares) and use cases with neither a scenario nor a reason are a usage error: the run stops with
exit code 2 and ``FILE:LINE: message`` lines before anything is deployed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.functional import steps as _steps
from harness.functional.collection import STATE, example_row

# The step definitions and the `world` / `lab_browser` fixtures, visible to this suite only.
globals().update({k: v for k, v in vars(_steps).items() if k.startswith("pytestbdd_") or k in ("world", "lab_browser")})


def pytest_configure(config: pytest.Config) -> None:
    STATE.config = config


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if STATE.problems:
        lines = "\n".join(str(p) for p in STATE.problems)
        raise pytest.UsageError(f"scenario errors (功能测试场景有误):\n{lines}")


def _world(request: pytest.FixtureRequest) -> Any:
    try:
        return request.getfixturevalue("world")
    except pytest.FixtureLookupError:
        return None


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    uc = STATE.use_cases.get(getattr(request.node, "originalname", request.node.name))
    try:
        import allure
    except ImportError:
        return
    if uc is not None:
        allure.dynamic.feature(f"{uc.id} {uc.title}（用户文档 {uc.section} 节）")
    allure.dynamic.story(scenario.name)


def pytest_bdd_before_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any
) -> None:
    w = _world(request)
    if w is not None:
        w.step_started()


def pytest_bdd_after_step(
    request: pytest.FixtureRequest, feature: Any, scenario: Any, step: Any, step_func: Any, step_func_args: Any
) -> None:
    w = _world(request)
    if w is None:
        return
    w.step_done(step.keyword.strip(), step.name, step.line_number, "通过")
    if w._page is not None and getattr(step_func, "_lab_browser_step", False):
        w.screenshot(step.name)


def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Any,
    step_func_args: Any,
    exception: Exception,
) -> None:
    w = _world(request)
    if w is None:
        return
    outcome = "失败" if isinstance(exception, AssertionError) else "异常"
    note = str(exception).splitlines()[0][:300] if str(exception) else type(exception).__name__
    w.step_done(step.keyword.strip(), step.name, step.line_number, outcome, note)
    if w._page is not None:
        w.screenshot(f"失败时-{step.name}")


def pytest_bdd_after_scenario(request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
    w = _world(request)
    if w is None:
        return
    uc = STATE.use_cases.get(getattr(request.node, "originalname", request.node.name))
    head = f"{uc.id} {uc.title}（用户文档 {uc.section} 节）\n" if uc is not None else ""
    lines = [f"{head}场景文件：{feature.filename}\n场景：{scenario.name}（第 {scenario.line_number} 行）", ""]
    lines += [r.line_text() for r in w.steps]
    total = len(scenario.steps)
    if len(w.steps) < total:
        lines += [
            f"- 第 {s.line_number} 行 {s.keyword} {w.shown(s.name)}（未执行）" for s in scenario.steps[len(w.steps) :]
        ]
    if w.page_requests:
        lines += ["", "浏览器发出的请求：", *map(w.shown, w.page_requests)]  # a form sent as GET carries what was typed
    if w.failed_requests:
        lines += ["", "没有得到应答的请求：", *map(w.shown, w.failed_requests)]
    if w.blocked:
        lines += ["", "浏览器被拦截的越界请求：", *w.blocked]
    row = example_row(request.node)
    zh_row = en_row = ""
    if row is not None:
        n, values = row
        template = feature.scenarios.get(scenario.name)
        total = sum(len(ex.examples) for ex in getattr(template, "examples", [])) or n
        shown = [w.shown(v) for v in values.values()]
        zh_row = f"（例子 {n}/{total}：" + "，".join(f"{k} {v}" for k, v in zip(values, shown, strict=True)) + "）"
        en_row = f", example {n} of {total} (" + ", ".join(f"“{v}”" for v in shown) + ")"
        lines.insert(
            1, f"例子：第 {n} 个（共 {total} 个）：" + "，".join(f"{k}={v}" for k, v in zip(values, shown, strict=True))
        )
    w.evidence.attach_text("场景步骤记录", "\n".join(lines))
    where_en = f"Scenario at {Path(feature.filename).name} line {scenario.line_number}{en_row}"
    bad = next((r for r in w.steps if r.outcome != "通过"), None)
    if bad is None:
        w.evidence.observe(
            f"场景“{scenario.name}”{zh_row}的 {len(w.steps)} 个步骤均符合预期",
            en=f"{where_en}: all {len(w.steps)} steps as expected",
        )
    else:
        verb = "未通过" if bad.outcome == "失败" else "无法执行"
        w.evidence.observe(
            f"场景“{scenario.name}”{zh_row}第 {bad.line} 行“{bad.keyword} {bad.text}”{verb}：{bad.note}",
            en=f"{where_en}: the step at line {bad.line} "
            + ("did not pass" if bad.outcome == "失败" else "could not be carried out")
            + " (the step transcript in the evidence gives the sample's answer)",
        )
