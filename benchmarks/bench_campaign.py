"""Campaign throughput on this machine with 1, 2 and 4 lab hosts (worker processes).

    python benchmarks/bench_campaign.py [--jobs 8] [--workers 1,2,4] [--only 5.txn.replay]

Each round starts a Redis broker and a PostgreSQL lab record of its own, starts W worker
processes (each one local-process job at a time, as a host with one process slot), submits a
campaign of N small jobs (the reference sample, local process, a few clauses), follows it to its
end and prints: wall time, jobs per minute, the mean time a job ran, the mean time it waited in the
queue, and the load average. Needs PostgreSQL (lab_env/setup.sh --postgres) and redis-server.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from harness import results  # noqa: E402
from harness.hosts.campaign import CampaignOptions, follow, plan_jobs, submit  # noqa: E402
from harness.hosts.progress import Progress  # noqa: E402
from tests.lab_hosts import Host, lab_env, redis_broker  # noqa: E402
from tests.lab_record import scratch_lab  # noqa: E402

SPEC = ROOT / "sample_specs" / "refpay.yaml"


def one_round(work: Path, workers: int, jobs: int, only: list[str]) -> dict[str, float]:
    with scratch_lab("postgresql", work / "lab") as db_url, redis_broker(work / "redis") as broker:
        env = lab_env(db_url, broker, work / "store", 30)
        os.environ.update({k: env[k] for k in ("HARNESS_BROKER_URL", "HARNESS_EVIDENCE_STORE", "HARNESS_LEASE_S")})
        results.open_lab(create=True)
        hosts = [Host(f"bench-{n}@lab", work / f"host-{n}", env, models=[], processes=1) for n in range(workers)]
        try:
            for h in hosts:
                h.start()
            options = CampaignOptions(backend="process", only=only)
            planned = plan_jobs([SPEC] * jobs, options)
            load0 = os.getloadavg()[0]
            t = time.monotonic()
            campaign_id = submit(planned, options)
            with Progress(Console(file=io.StringIO()), campaign_id, live=False) as progress:
                ended = follow(campaign_id, progress, poll_s=0.5)
            wall = time.monotonic() - t
            load1 = os.getloadavg()[0]
        finally:
            for h in hosts:
                h.stop()
    bad = [j for j in ended if j.status != results.JobStatus.FINISHED or j.exit_code != 0]
    assert not bad, [(j.id, j.status, j.exit_code, j.cause) for j in bad]
    ran = [(j.finished - j.started).total_seconds() for j in ended if j.finished and j.started]
    waited = [(j.started - j.queued).total_seconds() for j in ended if j.started and j.queued]
    return {
        "wall_s": wall,
        "jobs_per_min": 60 * len(ended) / wall,
        "job_s": statistics.mean(ran),
        "queue_wait_s": statistics.mean(waited),
        "load": max(load0, load1),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--only", default="5.txn.replay")
    a = ap.parse_args()
    os.environ.pop("HARNESS_INVENTORY", None)
    print(f"{a.jobs} jobs (reference sample, local process, --only {a.only}); {os.cpu_count()} CPUs")
    print(f"{'workers':>7} {'wall s':>7} {'jobs/min':>9} {'job s':>7} {'queue s':>8} {'load':>5}")
    for w in (int(x) for x in a.workers.split(",")):
        with tempfile.TemporaryDirectory(prefix=f"bench-campaign-{w}-") as tmp:
            r = one_round(Path(tmp), w, a.jobs, a.only.split(","))
        print(
            f"{w:>7} {r['wall_s']:>7.1f} {r['jobs_per_min']:>9.2f} {r['job_s']:>7.1f} "
            f"{r['queue_wait_s']:>8.1f} {r['load']:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
