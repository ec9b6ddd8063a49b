"""Wall time of the chapter 5 (交易安全) suite against its floor, the longest declared wait.

The only check that must wait is session expiry (declared idle time plus a margin; a lockout
window never has to pass, the lockout check does not wait for an unlock). Its idle sessions are
opened when the suite reaches the target and the check runs last, so the wait overlaps with every
other check. Three real `harness run`s of the suite, each on a fresh deployment:

- expiry only:        deploy + floor
- all but expiry:     deploy + the other checks' work
- the whole suite:    should be close to max(the two above), not their sum

    python benchmarks/bench_suite_waits.py [--spec sample_specs/refpay.yaml] [--idle 30] [--runs 1]

``--idle S`` (reference sample only) re-declares the idle timeout as S seconds, in the start
command and in the parameters, to show the case where the wait, not the work, is the longest.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness.catalogue import load_catalogue  # noqa: E402
from harness.checks.transaction import expiry_margin  # noqa: E402
from harness.spec import load_spec  # noqa: E402

SUITE = "test_suites/transaction"
CLAUSES = load_catalogue().automated("5")  # every chapter-5 item a check decides


def with_idle(spec: Path, idle: float, directory: Path) -> Path:
    run = load_spec(spec).spec.deployment.start.run  # resolved through `extends`
    if "--session-idle-timeout" not in run:
        raise SystemExit(f"{spec}: the start command has no --session-idle-timeout to change")
    run = re.sub(r"--session-idle-timeout \S+", f"--session-idle-timeout {idle:g}", run)
    out = directory / f"{spec.stem}-idle{idle:g}.yaml"
    variant = {
        "extends": str(spec.resolve()),
        "deployment": {"start": {"run": run}},
        "parameters": {"session_idle_timeout_s": idle},
    }
    out.write_text(yaml.safe_dump(variant, allow_unicode=True), encoding="utf-8")
    return out


def timed_run(spec: Path, clauses: list[str], lab: Path) -> tuple[float, str]:
    env = {**os.environ, "HARNESS_DATA_DIR": str(lab / "data"), "HARNESS_REPORTS_DIR": str(lab / "reports")}
    t = time.monotonic()
    cmd = [sys.executable, "-m", "harness", "run", str(spec), "--suite", SUITE, "--only", ",".join(clauses)]
    r = subprocess.run(
        [*cmd, "--no-report"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    elapsed = time.monotonic() - t
    line = next((x for x in r.stdout.splitlines() if x.startswith("run R-")), None)
    errors = re.search(r"(\d+) error", line or "")
    if line is None or errors is None or errors.group(1) != "0":
        raise SystemExit(f"the run did not complete cleanly:\n{r.stdout[-1500:]}{r.stderr[-1500:]}")
    return elapsed, line


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=ROOT / "sample_specs/refpay.yaml")
    ap.add_argument("--idle", type=float, help="re-declare the idle timeout (seconds; reference sample only)")
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-waits-") as tmp:
        lab = Path(tmp)
        spec = with_idle(args.spec, args.idle, lab) if args.idle else args.spec
        idle = float(load_spec(spec).spec.parameters.session_idle_timeout_s)
        floor = idle + expiry_margin(idle)
        variants = {
            "expiry only (deploy + floor)": ["5.session.expiry"],
            "all but expiry (deploy + work)": [c for c in CLAUSES if c != "5.session.expiry"],
            "whole suite": CLAUSES,
        }
        times: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(args.runs):
            for name, clauses in variants.items():
                elapsed, line = timed_run(spec, clauses, lab)
                times[name].append(elapsed)
                print(f"  {name:32} {elapsed:6.1f} s   {line}")

    med = {k: statistics.median(v) for k, v in times.items()}
    only_expiry, no_expiry, whole = (med[k] for k in variants)
    deploy_est = only_expiry - floor
    print()
    print(f"spec: {args.spec.name}" + (f" (idle re-declared: {args.idle:g} s)" if args.idle else ""))
    print(f"declared idle timeout {idle:g} s + margin {expiry_margin(idle):g} s = floor {floor:g} s")
    print(f"deploy + intake + teardown (expiry-only run minus floor)  ~{deploy_est:6.1f} s")
    print(f"work of the other checks (all-but-expiry minus deploy)    ~{no_expiry - deploy_est:6.1f} s")
    print(f"whole suite, checks only (whole minus deploy)             ~{whole - deploy_est:6.1f} s")
    print(f"  lower bound max(floor, work)                             {max(floor, no_expiry - deploy_est):6.1f} s")
    print(f"  waits not overlapped (work + floor)                      {no_expiry - deploy_est + floor:6.1f} s")
    print(f"cost of the expiry check inside the suite                  {whole - no_expiry:6.1f} s (floor {floor:g} s)")


if __name__ == "__main__":
    main()
