"""The pytest plugin: fixtures for the deployed target, its driver and the evidence recorder; the
clause marker; and the one hook that turns an outcome into a verdict and records it at once.

Inactive unless ``--sample-spec`` is given, so plain pytest runs of other code are untouched.
"""

from __future__ import annotations

import traceback
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.config import lab_config
from harness.deploy import GUARD, DeployError, Deployment, Target, deployer_for
from harness.deploy.scope import record_refusals
from harness.drivers import build_driver
from harness.evidence import EvidenceRecorder
from harness.plan import CheckRef, Plan, PlanError, build_plan, targets_for
from harness.runs import close_run, open_run, update_run
from harness.spec import LoadedSpec, SpecError, load_spec
from harness.store import Evidence, Verdict, session
from harness.verdicts import NOT_APPLICABLE_PREFIX, REVIEW_PREFIX

_STATE = pytest.StashKey["HarnessState"]()
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_RECORDER = pytest.StashKey[EvidenceRecorder]()
_GUARD_MARK = pytest.StashKey[int]()


@dataclass
class HarnessState:
    loaded: LoadedSpec
    run_id: str
    run_dir: Path
    backend: str
    targets: list[Target]
    only: list[str] | None
    plan: Plan | None = None
    deployments: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("harness", "fintech type-test harness")
    g.addoption("--sample-spec", help="the sample spec (YAML) to test; enables the harness")
    g.addoption("--harness-run", help="record into this existing run ID instead of opening a new run")
    g.addoption(
        "--harness-backend", help="deploy with this backend instead of the spec's (process, container, terminal)"
    )
    g.addoption("--harness-only", help="comma-separated clause IDs: run only the checks deciding these (retests)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the catalogue items this check decides")
    spec_path = config.getoption("--sample-spec", None)
    if not spec_path:
        return
    try:
        loaded = load_spec(spec_path)
        from harness.drivers.validate import driver_problems

        if driver_problems(loaded):
            raise SpecError(driver_problems(loaded))
    except SpecError as e:
        raise pytest.UsageError(f"broken sample spec:\n{e}") from None
    backend = config.getoption("--harness-backend") or loaded.spec.deployment.backend
    try:
        targets = targets_for(loaded, backend)
    except PlanError as e:
        raise pytest.UsageError(f"plan error:\n{e}") from None
    for b in {t.backend for t in targets}:
        for line in deployer_for(b).cleanup_stale():
            print(f"harness: {line}")
    run_id = config.getoption("--harness-run") or open_run(loaded).id
    only_opt = config.getoption("--harness-only")
    config.stash[_STATE] = HarnessState(
        loaded=loaded,
        run_id=run_id,
        run_dir=lab_config().run_dir(run_id),
        backend=backend,
        targets=targets,
        only=[c.strip() for c in only_opt.split(",") if c.strip() and c.strip() != "-"] if only_opt else None,
    )


def _state(config: pytest.Config) -> HarnessState | None:
    return config.stash.get(_STATE, None)


def clause_ids(item: pytest.Item) -> tuple[str, ...]:
    return tuple(str(a) for m in item.iter_markers("clause") for a in m.args)


def _model(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    target = callspec.params.get("deployment") if callspec else None
    return target.model if isinstance(target, Target) else "-"


def check_id(item: pytest.Item) -> str:
    """The node ID without the target parameter: the same check on two models has one ID."""
    nodeid, model = item.nodeid, _model(item)
    for a, b in ((f"[{model}]", ""), (f"-{model}]", "]"), (f"[{model}-", "[")):
        if a in nodeid:
            return nodeid.replace(a, b, 1)
    return nodeid


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    state = _state(metafunc.config)
    if state is not None and "deployment" in metafunc.fixturenames:
        metafunc.parametrize(
            "deployment", state.targets, indirect=True, ids=[t.model for t in state.targets], scope="session"
        )


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _state(config)
    if state is None:
        return
    refs = {check_id(i): CheckRef(check_id(i), clause_ids(i)) for i in items}
    try:
        plan = build_plan(state.loaded, list(refs.values()), state.backend, state.only)
    except PlanError as e:
        raise pytest.UsageError(f"plan error:\n{e}") from None
    state.plan = plan
    update_run(state.run_id, plan=plan.to_json())
    if state.only is not None:
        wanted = set(state.only)
        keep = [i for i in items if wanted & set(clause_ids(i))]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    for item in items:
        reason = plan.not_applicable_reason(clause_ids(item))
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=NOT_APPLICABLE_PREFIX + reason))


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sample_spec(request: pytest.FixtureRequest) -> LoadedSpec:
    state = _state(request.config)
    if state is None:
        pytest.skip("not a harness run: pass --sample-spec")
    return state.loaded


@pytest.fixture(scope="session")
def spec(sample_spec: LoadedSpec) -> Any:
    return sample_spec.spec


@pytest.fixture(scope="session")
def params(spec: Any) -> Any:
    """The parameters the sample declared; checks compare what they observe against these."""
    return spec.parameters


@pytest.fixture(scope="session")
def deployment(request: pytest.FixtureRequest, sample_spec: LoadedSpec) -> Iterator[Deployment]:
    state = _state(request.config)
    assert state is not None
    target: Target = request.param
    deployer = deployer_for(target.backend)
    workdir = state.run_dir / "deploy" / target.model
    info: dict[str, Any] = {"model": target.model, "backend": target.backend, "started": datetime.now().isoformat()}
    state.deployments[target.model] = info
    try:
        dep = deployer.deploy(sample_spec, target, workdir)
    except DeployError as e:
        info.update(status="error", error=str(e).splitlines()[0])
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "deploy-error.txt").write_text(str(e), encoding="utf-8")
        _save_deployments(state)
        raise
    info.update(status="deployed", **dep.info)
    _save_deployments(state)
    GUARD.allow_deployment(dep)
    try:
        yield dep
    finally:
        GUARD.revoke_deployment(dep)
        deployer.teardown(dep)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "sample-output.log").write_text(dep.logs() if _safe_logs(dep) else "", encoding="utf-8")
        info.update(dep.info, finished=datetime.now().isoformat())
        _save_deployments(state)


def _safe_logs(dep: Deployment) -> bool:
    try:
        dep.logs()
    except Exception:  # noqa: BLE001 - the sample is gone; keeping what we have matters more
        return False
    return True


def _save_deployments(state: HarnessState) -> None:
    update_run(state.run_id, deployments=list(state.deployments.values()))


@pytest.fixture
def evidence(request: pytest.FixtureRequest, deployment: Deployment) -> EvidenceRecorder:
    state = _state(request.config)
    assert state is not None
    rec = EvidenceRecorder(run_dir=state.run_dir, check_id=check_id(request.node), model=deployment.target.model)
    request.node.stash[_RECORDER] = rec
    request.node.stash[_GUARD_MARK] = GUARD.mark()
    _allure_labels(request.node, state, deployment.target.model)
    return rec


@pytest.fixture
def driver(spec: Any, deployment: Deployment, evidence: EvidenceRecorder) -> Any:
    return build_driver(spec, deployment, GUARD, on_response=lambda r, note: evidence.http(r, note))


def _allure_labels(item: pytest.Item, state: HarnessState, model: str) -> None:
    try:
        import allure
    except ImportError:
        return
    from harness.catalogue import load_catalogue

    cat = load_catalogue(state.plan.basis if state.plan else "JR/T 0199-2020")
    for cid in clause_ids(item):
        allure.dynamic.label("clause", cid)
        if cid in cat.ids():
            it = cat.item(cid)
            allure.dynamic.label("chapter", f"{it.chapter} {cat.chapter(it.chapter).title}")
            allure.dynamic.severity({"critical": "critical", "major": "normal", "minor": "minor"}[it.severity])
    allure.dynamic.label("sample", f"{state.loaded.spec.sample.name} {state.loaded.spec.sample.version}")
    allure.dynamic.label("model", model)
    allure.dynamic.parameter("model", model)  # keeps the same check on two models apart


# -- the verdict ---------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    state = _state(item.config)
    if state is None:
        return report
    reports = item.stash.setdefault(_REPORTS, {})
    reports[report.when] = report
    if call.excinfo is not None:
        # An assertion is the sample failing a requirement; any other exception is the lab's.
        is_product = report.when == "call" and call.excinfo.errisinstance(AssertionError)
        item.stash.setdefault(_EXC, {})[report.when] = (is_product, _describe(call.excinfo))
    if report.when == "teardown":
        _record(item, state, reports)
    return report


_EXC = pytest.StashKey[dict[str, tuple[bool, str]]]()


def _describe(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    if excinfo.errisinstance(AssertionError):
        return str(excinfo.value) or "assertion failed"
    if excinfo.errisinstance(DeployError):
        return f"部署失败 (deploy failed): {excinfo.value}"
    tb = "".join(traceback.format_exception_only(excinfo.type, excinfo.value)).strip()
    return f"{tb}\n{excinfo.getrepr(style='short')}"


def _skipped(report: pytest.TestReport, otherwise: str) -> tuple[str, str]:
    """A skip is "not applicable" only when the plan or the check said so; any other skip means
    the check did not look at the sample, which is the lab's problem."""
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if reason.startswith(NOT_APPLICABLE_PREFIX):
        return "not_applicable", reason.removeprefix(NOT_APPLICABLE_PREFIX)
    if reason.startswith(REVIEW_PREFIX):
        return "review", reason.removeprefix(REVIEW_PREFIX)
    return "error", f"{otherwise}: {reason}"


def decide(item: pytest.Item, reports: dict[str, pytest.TestReport], rec: EvidenceRecorder | None) -> tuple[str, str]:
    """(outcome, detail) for one check: pass | fail | error | not_applicable."""
    excs = item.stash.get(_EXC, {})
    setup = reports.get("setup")
    if setup is not None and setup.skipped:
        return _skipped(setup, "check did not run")
    if setup is not None and setup.failed:
        return "error", excs.get("setup", (False, "setup failed"))[1]
    call = reports.get("call")
    if call is not None and call.skipped:
        outcome, text = _skipped(call, "check skipped itself")
        if outcome == "review" and (rec is None or not (rec.items or rec.observations)):
            return "error", "the check handed the item to an engineer without recording what it observed"
        return outcome, text
    if call is not None and call.failed:
        is_product, text = excs.get("call", (False, "failed"))
        outcome = "fail" if is_product else "error"
    elif call is not None and call.passed:
        outcome, text = "pass", ""
    else:
        return "error", "check did not run"
    teardown = reports.get("teardown")
    if teardown is not None and teardown.failed and outcome == "pass":
        outcome, text = "error", excs.get("teardown", (False, "teardown failed"))[1]
    if outcome in ("pass", "fail") and (rec is None or not (rec.items or rec.observations)):
        # A verdict on the sample must rest on something the check looked at.
        return "error", "the check left no evidence, so its verdict cannot stand" + (f" ({text})" if text else "")
    return outcome, text


def _record(item: pytest.Item, state: HarnessState, reports: dict[str, pytest.TestReport]) -> None:
    rec = item.stash.get(_RECORDER, None)
    outcome, detail = decide(item, reports, rec)
    refused = record_refusals(rec, GUARD, item.stash[_GUARD_MARK]) if rec is not None else ""
    if refused and outcome in ("pass", "fail"):
        outcome, detail = "error", refused + (f" (it would have been {outcome}: {detail})" if detail else "")
    if rec is not None and outcome in ("fail", "error") and detail:
        rec.note_failure(detail)
    started = datetime.fromtimestamp(reports["setup"].start) if "setup" in reports else datetime.now()
    finished = datetime.fromtimestamp(reports["teardown"].stop) if "teardown" in reports else datetime.now()
    summary = rec.summary("zh") if rec else ""
    summary_en = rec.summary("en") if rec else ""
    with session() as s:
        v = Verdict(
            run_id=state.run_id,
            check_id=check_id(item),
            clause_ids=list(clause_ids(item)),
            model=_model(item),
            outcome=outcome,
            summary=summary,
            summary_en=summary_en,
            detail=detail,
            started=started,
            finished=finished,
        )
        s.add(v)
        s.flush()
        for e in rec.items if rec else []:
            s.add(
                Evidence(
                    run_id=state.run_id,
                    verdict_id=v.id,
                    check_id=v.check_id,
                    model=v.model,
                    kind=e.kind,
                    title=e.title,
                    path=e.path,
                    sha256=e.sha256,
                    size=e.size,
                    created=finished,
                )
            )
    state.counts[outcome] = state.counts.get(outcome, 0) + 1
    _attach_to_allure(rec, state)


def _attach_to_allure(rec: EvidenceRecorder | None, state: HarnessState) -> None:
    if rec is None:
        return
    try:
        import allure
    except ImportError:
        return
    for e in rec.items:
        try:
            allure.attach.file(str(state.run_dir / e.path), name=e.title)
        except Exception:  # noqa: BLE001 - allure not active in this session; the lab DB has it
            return


# Suites that could not be collected (an import error in a check module): the lab's fault, not an
# interruption. `harness run` reads this to exit 3 with the cause, instead of pytest's "interrupted".
COLLECTION_ERRORS: list[str] = []


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        COLLECTION_ERRORS.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if state is None:
        return
    interrupted = exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR)
    close_run(state.run_id, "aborted" if interrupted else "finished")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    if state is None:
        return
    c = state.counts
    terminalreporter.write_line(
        f"harness run {state.run_id}: "
        + ", ".join(f"{c.get(k, 0)} {k}" for k in ("pass", "fail", "error", "not_applicable", "review"))
    )
