"""The pytest plugin: fixtures for the deployed target, its driver and the evidence recorder; the
clause marker; and the one hook that turns an outcome into a verdict and records it at once.

Inactive unless ``--sample-spec`` is given, so plain pytest runs of other code are untouched.

Everything it records goes through the results room (harness.results) as plain values. Around each
check it looks whether the sample still runs: a sample that died is recorded once (exit status and
output), and no later check on it can pass. A failure to record (a full or unwritable data disk, a
lost database) stops the session cleanly, so the sample is torn down and the run ends as aborted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness import clock, results
from harness.config import lab_config
from harness.deploy import GUARD, DeployError, Deployment, Target, deployer_for
from harness.deploy.base import SampleDied
from harness.deploy.inventory import targets_for
from harness.deploy.scope import record_refusals
from harness.drivers import build_driver
from harness.errors import HarnessError
from harness.evidence import EvidenceRecorder
from harness.plan import CheckRef, Plan, PlanError, build_plan
from harness.results import NOT_APPLICABLE_PREFIX, EvidenceRef, Outcome, RunStatus, VerdictInput
from harness.results.outcomes import split_reason
from harness.runs import open_run
from harness.side_outputs import allure_labels, attach_to_allure, drop_side_outputs
from harness.spec import LoadedSpec, SpecError, load_spec
from harness.verdicts import decide, describe, error_kind, lab_error, on_dead_sample

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
    dead: dict[str, str] = field(default_factory=dict)  # model -> why its sample is no longer running
    stopped: set[str] = field(default_factory=set)  # models whose deployment was torn down on purpose
    broken_suites: list[str] = field(default_factory=list)  # modules that could not be collected
    record_failure: str | None = None  # why verdicts could no longer be recorded
    heartbeat: results.Heartbeat | None = None


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("harness", "fintech type-test harness")
    g.addoption("--sample-spec", help="the sample spec (YAML) to test; enables the harness")
    g.addoption("--harness-run", help="record into this existing run ID instead of opening a new run")
    g.addoption(
        "--harness-backend", help="deploy with this backend instead of the spec's (process, container, terminal)"
    )
    g.addoption("--harness-only", help="comma-separated clause IDs: run only the checks deciding these (retests)")
    g.addoption("--harness-units", help="MODEL=UNIT,...: only these terminal models, each on this unit (a lab job)")


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
        units = config.getoption("--harness-units")
        targets = targets_for(loaded, backend, dict(u.split("=", 1) for u in units.split(",")) if units else None)
    except PlanError as e:
        raise pytest.UsageError(f"plan error:\n{e}") from None
    results.open_lab()  # before anything is written into the data directory: a new one gets a database
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
        heartbeat=results.Heartbeat(run_id).start(),
    )
    config.pluginmanager.register(_CollectionWatch(config.stash[_STATE]), "harness-collection-watch")


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
        plan = build_plan(state.loaded, list(refs.values()), state.targets, state.only)
    except PlanError as e:
        raise pytest.UsageError(f"plan error:\n{e}") from None
    state.plan = plan
    results.save_plan(state.run_id, plan)
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
    info: dict[str, Any] = {"model": target.model, "backend": target.backend, "started": clock.now().isoformat()}
    state.deployments[target.model] = info
    try:
        dep = deployer.deploy(sample_spec, target, workdir)
    except DeployError as e:
        info.update(status="error", error=str(e).splitlines()[0])
        _keep(workdir / "deploy-error.txt", str(e))
        _save_deployments(state)
        raise
    info.update(status="deployed", **dep.info)
    _save_deployments(state)
    GUARD.allow_deployment(dep)
    try:
        yield dep
    finally:
        # The sample goes first, whatever else fails after (a full disk must not orphan it).
        state.stopped.add(target.model)  # an orderly stop, not a death
        GUARD.revoke_deployment(dep)
        deployer.teardown(dep)
        _keep(workdir / "sample-output.log", _logs(dep))
        info.update(dep.info, finished=clock.now().isoformat())
        _save_deployments(state)


def _logs(dep: Deployment) -> str:
    try:
        return dep.logs()
    except Exception:  # noqa: BLE001 - the sample is gone; keeping what we have matters more
        return ""


def _keep(path: Path, text: str) -> None:
    """Write a lab-side file; a full or unwritable disk is reported, never raised from a teardown."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        print(f"harness: could not write {path}: {e.strerror or e}")


def _save_deployments(state: HarnessState) -> None:
    try:
        results.save_deployments(state.run_id, list(state.deployments.values()))
    except (HarnessError, OSError) as e:
        state.record_failure = state.record_failure or str(e)


@pytest.fixture
def evidence(request: pytest.FixtureRequest, deployment: Deployment) -> EvidenceRecorder:
    state = _state(request.config)
    assert state is not None
    rec = EvidenceRecorder(run_dir=state.run_dir, check_id=check_id(request.node), model=deployment.target.model)
    request.node.stash[_RECORDER] = rec
    request.node.stash[_GUARD_MARK] = GUARD.mark()
    sample = f"{state.loaded.spec.sample.name} {state.loaded.spec.sample.version}"
    allure_labels(clause_ids(request.node), state.plan.basis if state.plan else None, sample, deployment.target.model)
    return rec


@pytest.fixture
def driver(spec: Any, deployment: Deployment, evidence: EvidenceRecorder) -> Any:
    return build_driver(spec, deployment, GUARD, on_response=lambda r, note: evidence.http(r, note))


# -- is the sample still there? ------------------------------------------------------------------
def _deployment_of(item: pytest.Item) -> Deployment | None:
    dep = getattr(item, "funcargs", {}).get("deployment")
    return dep if isinstance(dep, Deployment) else None


def _still_running(state: HarnessState, item: pytest.Item, when: str) -> str | None:
    """None while the item's sample runs; otherwise why not. A death is recorded once per target,
    with the sample's exit status and the last of its output."""
    dep = _deployment_of(item)
    if dep is None:
        return None
    model = dep.target.model
    if model in state.dead:
        return state.dead[model]
    if model in state.stopped:
        return None
    try:
        if dep.alive():
            return None
    except Exception:  # noqa: BLE001 - cannot tell (the engine hiccuped): judge by the check alone
        return None
    status = dep.exit_status()
    cause = f"样品已停止运行（退出状态 {'未知' if status is None else status}），在 {check_id(item)} {when}发现"
    state.dead[model] = cause
    output = _logs(dep)
    tail = "\n".join(output.strip().splitlines()[-40:])
    _keep(dep.workdir / "sample-died.txt", f"{cause}\nexit status: {status}\n--- last output ---\n{tail}\n")
    info = state.deployments.setdefault(model, {"model": model})
    info["died"] = {"noticed": clock.now().isoformat(), "during": check_id(item), "exit_status": status}
    _save_deployments(state)
    _say(
        item.config,
        f"harness: the sample on {model} is no longer running (exit status {status}); "
        f"every later check on it is an error. Its output: {dep.workdir / 'sample-died.txt'}",
    )
    return cause


def _say(config: pytest.Config, line: str) -> None:
    """One line on the terminal, also from inside a check (where output is captured)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.ensure_newline()
        reporter.write_line(line)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _look(item, "之前")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    state = _state(item.config)
    gone = item.stash.get(_GONE, None)
    if state is not None and gone is not None:
        # Not run at all: a check on a dead sample would only pile up connection errors.
        raise SampleDied(gone)
    try:
        return (yield)
    finally:
        _look(item, "之后")


def _look(item: pytest.Item, when: str) -> None:
    """Whether the sample still runs, looked at after the check's setup and after the check itself;
    never in teardown, where the last check of a target sees its orderly stop."""
    state = _state(item.config)
    if state is not None and _GONE not in item.stash:
        gone = _still_running(state, item, when)
        if gone is not None:
            item.stash[_GONE] = gone


_GONE = pytest.StashKey[str]()


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
    if call.excinfo is not None and call.excinfo.errisinstance(SampleDied):
        report.longrepr = f"SampleDied: {call.excinfo.value}"  # the cause, not the harness's traceback
    if call.excinfo is not None:
        # An assertion is the sample failing a requirement; any other exception is the lab's.
        is_product = report.when == "call" and call.excinfo.errisinstance(AssertionError)
        item.stash.setdefault(_EXC, {})[report.when] = (is_product, describe(call.excinfo))
        item.stash.setdefault(_ERR, {})[report.when] = error_kind(call.excinfo.value)
    if report.when == "teardown":
        _record(item, state, reports)
    return report


_EXC = pytest.StashKey[dict[str, tuple[bool, str]]]()
_ERR = pytest.StashKey[dict[str, dict[str, Any]]]()  # per phase: the exception's kind (error_kind)


def _record(item: pytest.Item, state: HarnessState, reports: dict[str, pytest.TestReport]) -> None:
    rec = item.stash.get(_RECORDER, None)
    outcome, detail = decide(reports, item.stash.get(_EXC, {}), rec)
    detail, reason_en = split_reason(detail)  # the record's detail is the Chinese reason alone
    cause: str | None = None  # what made it an error when no exception of the check says
    refused = record_refusals(rec, GUARD, item.stash[_GUARD_MARK]) if rec is not None else ""
    if refused and outcome in (Outcome.PASS, Outcome.FAIL):
        # A refused connection voids the verdict: the check may have judged something out of scope.
        outcome, detail = Outcome.ERROR, refused + (f" (it would have been {outcome}: {detail})" if detail else "")
        cause = "OutOfScope"
    setup = reports.get("setup")
    planned_na = outcome == Outcome.NOT_APPLICABLE and setup is not None and setup.skipped
    gone = item.stash.get(_GONE, None)
    if gone is not None and not planned_na:
        outcome, detail = on_dead_sample(outcome, detail, gone)
        cause = "SampleDied" if outcome == Outcome.ERROR else cause
    error = lab_error(outcome, detail, item.stash.get(_ERR, {}), cause)
    summary_en = rec.summary("en") if rec else ""
    if outcome == Outcome.NOT_APPLICABLE:
        # The report states a not-applicable item by its reason, so its English is the reason's.
        summary_en = reason_en
    # Times as the record keeps them: the lab's wall-clock time (harness.clock).
    started = clock.from_timestamp(reports["setup"].start) if "setup" in reports else clock.stamp()
    finished = clock.from_timestamp(reports["teardown"].stop) if "teardown" in reports else clock.stamp()
    state.counts[outcome] = state.counts.get(outcome, 0) + 1
    if state.record_failure is not None:
        return  # the session is stopping; nothing more can be recorded
    disk: OSError | None = None
    if rec is not None and outcome in (Outcome.FAIL, Outcome.ERROR) and detail:
        try:
            rec.note_failure(detail)
        except OSError as e:  # the verdict still goes on record, with its detail
            disk = e
    try:
        results.record_verdict(
            state.run_id,
            VerdictInput(
                check_id=check_id(item),
                clause_ids=clause_ids(item),
                model=_model(item),
                outcome=outcome,
                detail=detail,
                summary=rec.summary("zh") if rec else "",
                summary_en=summary_en,
                started=started,
                finished=finished,
                evidence=tuple(EvidenceRef(e.kind, e.title, e.path, e.sha256, e.size) for e in rec.items)
                if rec
                else (),
                hints=tuple(rec.hints) if rec else (),
                error=error,
            ),
        )
    except (HarnessError, OSError) as e:
        _stop(item, state, f"verdicts could no longer be recorded ({check_id(item)})", e)
        return
    if disk is not None:
        _stop(item, state, f"the lab data directory cannot be written ({check_id(item)})", disk)
        return
    attach_to_allure(rec, state.run_dir)


def _stop(item: pytest.Item, state: HarnessState, what: str, e: BaseException) -> None:
    """A full or unwritable data disk, a lost database: stop after this check, so the sample is torn
    down and the run ends as aborted, instead of an INTERNALERROR leaving both behind."""
    why = e.strerror if isinstance(e, OSError) and e.strerror else str(e).splitlines()[0]
    state.record_failure = f"{what}: {why}"
    item.session.shouldstop = state.record_failure
    drop_side_outputs(item.config)
    _say(item.config, f"harness: {state.record_failure}; stopping the run")


class _CollectionWatch:
    """A suite that could not be collected (an import error in a check module) is the lab's fault,
    not an interruption: the run records it as why it was aborted."""

    def __init__(self, state: HarnessState) -> None:
        self.state = state

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.state.broken_suites.append(f"{report.nodeid}: {str(report.longrepr).strip().splitlines()[-1]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if state is None:
        return
    if state.heartbeat is not None:
        state.heartbeat.stop()
    if state.broken_suites:
        status, reason = (
            RunStatus.ABORTED,
            "suites that could not be loaded (lab error): " + "; ".join(state.broken_suites),
        )
    elif state.record_failure is not None:
        status, reason = RunStatus.ABORTED, state.record_failure
    elif exitstatus in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR):
        status, reason = RunStatus.ABORTED, f"interrupted (pytest exit status {int(exitstatus)})"
    else:
        status, reason = RunStatus.FINISHED, None
    try:
        results.close_run(state.run_id, status, reason)
    except (HarnessError, OSError) as e:
        # Left "running": its heartbeat stops, so the next harness to look aborts it.
        print(f"harness: could not close run {state.run_id}: {e}")


def pytest_unconfigure(config: pytest.Config) -> None:
    # A session that never started (a plan error is a usage error) leaves its run to be closed here.
    state = _state(config)
    if state is None:
        return
    if state.heartbeat is not None:
        state.heartbeat.stop()
    try:
        results.close_run(state.run_id, RunStatus.ABORTED, "pytest ended before its checks ran")
    except (HarnessError, OSError) as e:
        print(f"harness: could not close run {state.run_id}: {e}")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = _state(config)
    if state is None:
        return
    c = state.counts
    terminalreporter.write_line(
        f"harness run {state.run_id}: " + ", ".join(f"{c.get(k, 0)} {k.value}" for k in Outcome)
    )
