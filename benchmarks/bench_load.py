"""How much load this machine can generate through the driver, and what it measured against the
reference sample: the load of the service-quality check (logins, account reads, signed transfers
from two accounts) at rising concurrency, each step against a fresh compliant refpay process.

    python benchmarks/bench_load.py [--users 1,2,4,8,16,32] [--seconds 8] [--backend process]

Per step: operations per second answered as declared, P50/P95/P99 of all operations, errors, and
CPU seconds per 1,000 operations spent by the load generator (this process) and by the sample (its
process group, from /proc): the generator's share shows how far it is from being the bottleneck.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness.checks.service import judge_sla  # noqa: E402
from harness.deploy import GUARD, Target, deployer_for  # noqa: E402
from harness.drivers import build_driver  # noqa: E402
from harness.probes.load import Load, LoadPlan  # noqa: E402
from harness.spec import load_spec  # noqa: E402
from harness.suite_support import usable_accounts  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) of every live process in a process group."""
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5: pgrp
            total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
    return total / TICK


def step(users: int, seconds: float, backend: str) -> dict[str, float]:
    loaded = load_spec(ROOT / "sample_specs/refpay.yaml")
    deployer = deployer_for(backend)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        dep = deployer.deploy(loaded, Target(backend, backend), Path(tmp) / "dep")
        GUARD.allow(dep.host)
        try:
            driver = build_driver(loaded.spec, dep, GUARD)
            pgid = int(dep.info.get("pid", 0)) if backend == "process" else 0
            sample0 = group_cpu_s(pgid) if pgid else 0.0
            gen0 = time.process_time()
            load = Load(driver, GUARD, usable_accounts(loaded.spec), LoadPlan(users, seconds, seed=1))
            samples = load.run()
            gen = time.process_time() - gen0
            sample_cpu = group_cpu_s(pgid) - sample0 if pgid else float("nan")
        finally:
            GUARD.revoke(dep.host)
            deployer.teardown(dep)
    p = loaded.spec.parameters
    j = judge_sla(samples, load.started_at, load.ended_at, p.latency_p95_ms, p.service_level, warm_up_s=1.0)
    n = len(samples)
    return {
        "users": users,
        "ops_s": j.throughput_rps,
        "p50": j.overall.p50_ms,
        "p95": j.overall.p95_ms,
        "p99": j.overall.p99_ms,
        "errors": j.error_rate * 100,
        "gen_cpu_per_1k": gen / n * 1000 if n else float("nan"),
        "sample_cpu_per_1k": sample_cpu / n * 1000 if n else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", default="1,2,4,8,16,32")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--backend", default="process", choices=["process", "container"])
    args = ap.parse_args()
    print(f"load against refpay ({args.backend}), {args.seconds:g} s per step, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"{'users':>5} {'ops/s':>7} {'P50 ms':>7} {'P95 ms':>7} {'P99 ms':>7} {'err %':>6} "
          f"{'gen CPU s/1k ops':>16} {'sample CPU s/1k ops':>19}")  # fmt: skip
    for users in (int(u) for u in args.users.split(",")):
        r = step(users, args.seconds, args.backend)
        print(f"{users:>5} {r['ops_s']:>7.1f} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['p99']:>7.1f} {r['errors']:>6.2f} "
              f"{r['gen_cpu_per_1k']:>16.2f} {r['sample_cpu_per_1k']:>19.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
