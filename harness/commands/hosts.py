"""Lab host commands: `harness worker` (serve this host's units and capacity) and `harness campaign`
(spread samples over the lab's workers, follow them, write every report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from harness.commands.common import app, out


@app.command()
def worker(
    name: Annotated[str | None, typer.Option(help="this worker's name (default harness@HOSTNAME)")] = None,
    containers: Annotated[int, typer.Option(min=0, help="container jobs this host runs at once")] = 0,
    processes: Annotated[int, typer.Option(min=0, help="local-process jobs this host runs at once")] = 0,
    loglevel: Annotated[str, typer.Option(help="Celery's log level")] = "WARNING",
) -> None:
    """Serve this lab host: the terminal models of its inventory (HARNESS_INVENTORY) and the given
    container and process capacity, taking jobs from the broker (HARNESS_BROKER_URL) and recording
    into the shared lab record (HARNESS_DB_URL). SIGTERM stops it after the jobs under way."""
    from harness.hosts.worker import serve

    serve(name, containers, processes, loglevel)


@app.command()
def workers() -> None:
    """List the lab's workers as the record knows them (alive by heartbeat), and the units reserved."""
    from rich.table import Table

    from harness import results
    from harness.hosts.settings import host_settings

    results.open_lab()
    lease, now = host_settings().lease, results.utcnow()
    t = Table("worker", "host", "units", "queues", "jobs at once", "state", box=None, pad_edge=False)
    for w in results.workers():
        age = int((now - w.heartbeat).total_seconds())
        alive = "stopped" if w.stopped else ("alive" if w.alive(now, lease) else f"silent for {age} s: gone")
        units = ", ".join(f"{u['id']} ({u['model']})" for u in w.units) or "-"
        t.add_row(w.name, w.host.split("/")[0], units, ", ".join(w.queues), str(w.capacity), alive)
    out.print(t)
    for r in results.reservations():
        until = int((r.lease_until - now).total_seconds())
        out.print(f"unit {r.unit_id} ({r.model}) reserved by job {r.job_id} on {r.worker}, lease {until} s left")


@app.command()
def campaign(
    specs: Annotated[list[Path], typer.Argument(help="the sample specs (YAML), on a path every lab host reaches")],
    backend: Annotated[str | None, typer.Option(help="process | container | terminal (default: each spec's)")] = None,
    only: Annotated[str | None, typer.Option(help="comma-separated clause IDs to run")] = None,
    suite: Annotated[list[Path] | None, typer.Option(help="run only these suite files or folders")] = None,
    report: Annotated[bool, typer.Option(help="write each run's report when the campaign ends")] = True,
    pdf: Annotated[bool, typer.Option(help="also render each report's PDF")] = True,
    lang: Annotated[str, typer.Option(help="report language: zh or en")] = "zh",
    attempts: Annotated[int, typer.Option(min=1, help="tries per job when its worker dies mid-job")] = 2,
) -> None:
    """Run samples on the lab's workers: one job per sample and terminal model (or per sample for a
    container or process run), each on a host holding that model; show their progress across hosts;
    write every report. Exit 0 pass, 1 product failure, 2 bad input, 3 lab error (a job that could
    not run counts as one), 130 interrupted."""
    from harness.hosts.campaign import CampaignOptions, finish, follow, plan_jobs, submit
    from harness.hosts.progress import Progress

    options = CampaignOptions(
        backend=backend,
        only=[c.strip() for c in only.split(",") if c.strip()] if only else None,
        suites=[str(s) for s in suite] if suite else None,
        language=lang,
        max_attempts=attempts,
    )
    jobs = plan_jobs(specs, options)
    campaign_id = submit(jobs, options)
    out.print(f"campaign {campaign_id}: {len(jobs)} job(s) submitted")
    try:
        with Progress(out, campaign_id, live=sys.stdout.isatty()) as progress:
            ended = follow(campaign_id, progress)
    except KeyboardInterrupt:
        out.print(f"campaign {campaign_id}: no longer followed here; its jobs go on on the lab's workers")
        raise
    result = finish(ended, lang, write_reports=report, pdf=pdf)
    for line in result.lines:
        out.print(line)
    raise typer.Exit(result.exit_code)
