"""`harness run`: intake, plan, deploy and check a sample through pytest, recording as it goes."""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from sqlalchemy import select

from harness import pytest_plugin as plugin
from harness.config import PROJECT_ROOT, lab_config
from harness.runs import close_run, open_run
from harness.spec import load_spec
from harness.store import Verdict, session

SUITES_DIR = PROJECT_ROOT / "test_suites"
NOTHING = "-"  # --harness-only value for "no clause": the plugin deselects every check

# Exit codes that keep the product and the lab apart (CI reads these).
EXIT_PASS, EXIT_PRODUCT_FAIL, EXIT_BAD_INPUT, EXIT_LAB_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class RunResult:
    run_id: str
    exit_code: int
    counts: dict[str, int]
    failing: list[str] = field(default_factory=list)  # clause IDs that failed
    erroring: list[str] = field(default_factory=list)
    broken_suites: list[str] = field(default_factory=list)  # suites that could not be collected

    def summary_line(self) -> str:
        c = self.counts
        parts = [f"{c.get(k, 0)} {k}" for k in ("pass", "fail", "error", "not_applicable", "review")]
        line = f"run {self.run_id}: " + ", ".join(parts)
        if self.failing:
            line += f"; failing clauses: {', '.join(self.failing)}"
        if self.erroring:
            line += f"; lab errors on: {', '.join(self.erroring)}"
        if self.broken_suites:
            line += f"; suites that could not be loaded (lab error): {'; '.join(self.broken_suites)}"
        return line + f"; exit {self.exit_code}"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a CI cancel, a kill) unwinds like Ctrl-C, so fixtures tear the sample down.
    raise KeyboardInterrupt(f"signal {signum}")


def verdict_outcome(run_id: str) -> tuple[Counter[str], list[str], list[str]]:
    with session() as s:
        vs = list(s.scalars(select(Verdict).where(Verdict.run_id == run_id)))
    counts = Counter(v.outcome for v in vs)
    failing = sorted({c for v in vs if v.outcome == "fail" for c in v.clause_ids})
    erroring = sorted({c for v in vs if v.outcome == "error" for c in v.clause_ids})
    return counts, failing, erroring


def run_sample(
    spec_path: str | Path,
    backend: str | None = None,
    only: list[str] | None = None,
    extra_args: list[str] | None = None,
    kind: str = "full",
    suites: list[Path] | None = None,
    retest: dict[str, Any] | None = None,
) -> RunResult:
    loaded = load_spec(spec_path)  # SpecError: the caller reports it, exit 2
    run = open_run(loaded, kind=kind, retest=retest)  # IntakeError likewise
    run_dir = lab_config().run_dir(run.id)
    run_dir.mkdir(parents=True, exist_ok=True)
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
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    plugin.COLLECTION_ERRORS.clear()
    try:
        rc = pytest.main(args)
    finally:
        signal.signal(signal.SIGTERM, previous)
    counts, failing, erroring = verdict_outcome(run.id)
    broken = list(plugin.COLLECTION_ERRORS)
    if rc == pytest.ExitCode.USAGE_ERROR:
        code = EXIT_BAD_INPUT
    elif broken:
        code = EXIT_LAB_ERROR  # a suite that does not import is the lab's fault, not an interruption
        close_run(run.id, "aborted")
    elif only == [] and rc == pytest.ExitCode.NO_TESTS_COLLECTED:
        code = EXIT_PASS
    elif rc == pytest.ExitCode.INTERRUPTED:
        code = EXIT_INTERRUPTED
    elif rc == pytest.ExitCode.INTERNAL_ERROR or counts.get("error") or not counts:
        code = EXIT_LAB_ERROR
    elif counts.get("fail"):
        code = EXIT_PRODUCT_FAIL
    else:
        code = EXIT_PASS
    return RunResult(run.id, code, dict(counts), failing, erroring, broken)
