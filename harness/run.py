"""`harness run`: intake, plan, deploy and check a sample through pytest, recording as it goes."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from harness import results
from harness.config import PROJECT_ROOT, lab_config
from harness.errors import LabError, run_exit_code
from harness.results import RunStatus
from harness.runs import open_run
from harness.spec import load_spec

SUITES_DIR = PROJECT_ROOT / "test_suites"
NOTHING = "-"  # --harness-only value for "no clause": the plugin deselects every check


@dataclass
class RunResult:
    run_id: str
    exit_code: int
    counts: dict[str, int]
    failing: list[str] = field(default_factory=list)  # clause IDs that failed
    erroring: list[str] = field(default_factory=list)
    reason: str | None = None  # why the run was aborted (interrupted, a suite that did not load, ...)

    def summary_line(self) -> str:
        c = self.counts
        parts = [f"{c.get(k.value, 0)} {k.value}" for k in results.Outcome]
        line = f"run {self.run_id}: " + ", ".join(parts)
        if self.failing:
            line += f"; failing clauses: {', '.join(self.failing)}"
        if self.erroring:
            line += f"; lab errors on: {', '.join(self.erroring)}"
        if self.reason:
            line += f"; aborted: {self.reason}"
        return line + f"; exit {self.exit_code}"


class Interrupts:
    """SIGTERM (a CI cancel, a kill) and SIGINT unwind like Ctrl-C, once, so fixtures tear the
    sample down. Every later signal is ignored with a line: a second one during teardown would
    otherwise break the teardown itself and leave the sample behind."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            sys.stderr.write(f"harness: signal {signum} ignored: already stopping (tearing the sample down)\n")
            return
        self.signal = signum
        raise KeyboardInterrupt(f"signal {signum}")

    def __enter__(self) -> Interrupts:
        for s in (signal.SIGTERM, signal.SIGINT):
            self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for s, previous in self._previous.items():
            signal.signal(s, previous)


def run_sample(
    spec_path: str | Path,
    backend: str | None = None,
    only: list[str] | None = None,
    extra_args: list[str] | None = None,
    kind: str = "full",
    suites: list[Path] | None = None,
    retest: dict[str, Any] | None = None,
) -> RunResult:
    loaded = load_spec(spec_path)  # SpecError: bad input, exit 2
    results.open_lab()
    run = open_run(loaded, kind=kind, retest=retest)  # IntakeError likewise
    run_dir = lab_config().run_dir(run.id)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = f"the lab data directory cannot be written ({run_dir}): {e.strerror or e}"
        results.close_run(run.id, RunStatus.ABORTED, why)
        raise LabError(why) from None
    args = [
        *[str(p) for p in suites or [SUITES_DIR]],
        f"--rootdir={PROJECT_ROOT}",
        f"--sample-spec={loaded.path}",
        f"--harness-run={run.id}",
        f"--junitxml={run_dir / 'junit.xml'}",
        f"--alluredir={run_dir / 'allure-results'}",
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    if backend:
        args.append(f"--harness-backend={backend}")
    if only is not None:
        # An empty subset (a change that touches no clause) runs nothing and records the plan.
        args.append(f"--harness-only={','.join(only) or NOTHING}")
    args += extra_args or []
    with Interrupts() as interrupts:
        try:
            rc = pytest.main(args)
        except KeyboardInterrupt:  # before pytest's own handling was in place
            rc = pytest.ExitCode.INTERRUPTED
        except OSError as e:  # a side output (JUnit XML, allure) on a full or unwritable data disk
            why = f"the lab data directory cannot be written ({e.filename or run_dir}): {e.strerror or e}"
            results.close_run(run.id, RunStatus.ABORTED, why)
            raise LabError(why) from e
    if interrupts.signal is not None:
        # Aborted, whatever the teardown managed to record after the signal.
        name = signal.Signals(interrupts.signal).name
        results.close_run(run.id, RunStatus.ABORTED, f"interrupted ({name})", force=True)
    record = results.get_run(run.id)
    assert record is not None, run.id
    if record.status == RunStatus.RUNNING:  # pytest ended without the plugin closing it (a usage error)
        results.close_run(run.id, RunStatus.ABORTED, f"pytest ended with exit status {int(rc)}")
        record = results.get_run(run.id)
        assert record is not None
    t = results.tally(run.id)
    code = run_exit_code(
        interrupted=interrupts.signal is not None,
        bad_input=rc == pytest.ExitCode.USAGE_ERROR,
        aborted=record.status == RunStatus.ABORTED,
        counts=t.counts,
        nothing_planned=only == [] and rc == pytest.ExitCode.NO_TESTS_COLLECTED,
    )
    reason = record.end_reason if record.status == RunStatus.ABORTED else None
    return RunResult(run.id, code, t.counts, t.failing, t.erroring, reason)
