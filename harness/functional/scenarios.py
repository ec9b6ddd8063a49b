"""Scenario files: which feature file serves which use case, and whether every step in it is one
the step library knows, naming only operations, accounts, parameters and kept values the spec
declares. Problems come back as ``FILE:LINE: message`` lines, all of them, before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.functional.steps import ACCOUNT, KEEPS, KEPT, OPERATION, STEPS, StepDef
from harness.functional.values import static_problems
from harness.spec import LoadedSpec
from harness.spec.model import PythonDriver, UseCase


@dataclass(frozen=True)
class ScenarioProblem:
    file: Path | str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass
class UseCaseScenarios:
    use_case: UseCase
    path: Path
    feature: object  # pytest_bdd.parser.Feature
    names: list[str] = field(default_factory=list)  # scenario names, in file order


def declared_operations(loaded: LoadedSpec) -> set[str]:
    d = loaded.spec.driver
    if isinstance(d, PythonDriver):
        return set(d.operations) | ({"login", "logout"} if d.login else set())
    ops = set(d.operations) | set(d.flows)
    if d.login is not None:
        ops.add("login")
    if d.logout is not None:
        ops.add("logout")
    return ops


def _parse(path: Path) -> tuple[object | None, list[ScenarioProblem]]:
    from pytest_bdd.parser import FeatureParser

    try:
        return FeatureParser(str(path.parent), path.name, "utf-8").parse(), []
    except Exception as e:  # noqa: BLE001 - gherkin's own errors carry "(line:col)"; keep them whole
        line = getattr(e, "line", None)
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return None, [ScenarioProblem(path, line if isinstance(line, int) else None, f"无法解析场景文件：{text}")]


def _step_problems(path: Path, name: str, line: int, loaded: LoadedSpec, kept: set[str]) -> list[str]:
    matches: list[tuple[StepDef, dict[str, str]]] = []
    for sd in STEPS:
        args = sd.match(name)
        if args is not None:
            matches.append((sd, args))
    if not matches:
        return [f"未知步骤“{name}”：步骤库中没有这样的步骤（harness/functional/steps.py 列出全部步骤）"]
    if len(matches) > 1:
        return [f"步骤“{name}”有歧义，可匹配：{'；'.join(sd.phrase for sd, _ in matches)}"]
    sd, args = matches[0]
    problems: list[str] = []
    ops = declared_operations(loaded)
    accounts = {a.name for a in loaded.spec.driver.accounts}
    for arg, value in args.items():
        if value is None:
            continue
        kind = sd.kinds.get(arg)
        if kind == KEEPS:
            kept.add(value)
            continue
        if kind == KEPT:
            if value not in kept:
                problems.append(f"步骤“{name}”引用的“{value}”在此之前没有被记下")
            continue
        problems += [f"步骤“{name}”：{p}" for p in static_problems(value, loaded.spec, kept)]
        if "<" in value:
            continue  # a placeholder: its value is checked above
        if kind == OPERATION and value not in ops:
            problems.append(f"步骤“{name}”调用的操作“{value}”未在规格中声明（已声明：{'、'.join(sorted(ops))}）")
        if kind == ACCOUNT and value not in accounts:
            problems.append(f"步骤“{name}”中的测试账户“{value}”未在规格中声明（已声明：{'、'.join(sorted(accounts))}）")
    return problems


def validate_feature(path: Path, loaded: LoadedSpec) -> tuple[object | None, list[str], list[ScenarioProblem]]:
    """(feature, scenario names, problems) for one feature file."""
    from pytest_bdd.parser import render_string

    feature, problems = _parse(path)
    if feature is None:
        return None, [], problems
    scenarios = getattr(feature, "scenarios", {})
    if not scenarios:
        problems.append(ScenarioProblem(path, None, "场景文件中没有场景"))
    names: list[str] = []
    for sc_name, template in scenarios.items():
        names.append(sc_name)
        contexts = [c for ex in template.examples for c in ex.as_contexts()] or [{}]
        reported: set[tuple[int, str]] = set()
        for ctx in contexts:
            kept: set[str] = set()
            for st in template.steps:
                text = render_string(st.name, ctx)
                msgs = _step_problems(path, text, st.line_number, loaded, kept)
                if st.datatable is not None:
                    cells = [render_string(c, ctx) for row in st.datatable.raw() for c in row]
                    msgs += [f"步骤“{text}”的表格：{m}" for c in cells for m in static_problems(c, loaded.spec, kept)]
                for msg in msgs:
                    if (st.line_number, msg) not in reported:
                        reported.add((st.line_number, msg))
                        problems.append(ScenarioProblem(path, st.line_number, msg))
    return feature, names, problems


def collect(loaded: LoadedSpec) -> tuple[list[UseCaseScenarios], list[ScenarioProblem]]:
    """Every use case of the spec with its scenarios; problems for any use case with neither a
    scenario nor a recorded reason, and for any broken scenario file."""
    spec_file = loaded.path
    found: list[UseCaseScenarios] = []
    problems: list[ScenarioProblem] = []
    for i, uc in enumerate(loaded.spec.documentation.use_cases):
        if not uc.scenario:
            if not (uc.no_scenario_reason and uc.no_scenario_reason.strip()):
                problems.append(
                    ScenarioProblem(
                        spec_file,
                        None,
                        f"documentation.use_cases[{i}] {uc.id}（{uc.title}）既没有场景文件（scenario）"
                        "也没有记录不写场景的理由（no_scenario_reason）",
                    )
                )
            continue
        path = loaded.resolve(uc.scenario)
        if not path.is_file():
            problems.append(
                ScenarioProblem(spec_file, None, f"documentation.use_cases[{i}] {uc.id}：场景文件 {uc.scenario} 不存在")
            )
            continue
        feature, names, p = validate_feature(path, loaded)
        problems += p
        if feature is not None and not p:
            found.append(UseCaseScenarios(uc, path, feature, names))
    return found, problems
