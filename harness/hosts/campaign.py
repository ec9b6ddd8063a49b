"""`harness campaign`: samples spread over the lab's hosts, one job per sample x model (or backend)
x suites, followed across hosts until each has ended, then every report written here.

A job runs on a host that holds its model (the model's queue); the campaign refuses at once a job
no live worker can take. While it follows its jobs it also recovers those whose worker died
(harness.hosts.recovery), so a campaign does not depend on another host noticing.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from harness import results
from harness.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_LAB_ERROR,
    EXIT_PASS,
    EXIT_PRODUCT_FAIL,
    HarnessError,
    LabError,
    exit_code_of,
)
from harness.hosts.progress import Progress, verdict_counts
from harness.hosts.queue import configure, send_job
from harness.hosts.recovery import sweep
from harness.hosts.settings import HostSettings, host_settings, queue_for
from harness.plan import PlanError
from harness.results import JobRecord, JobStatus, NewJob, utcnow
from harness.spec import load_spec


@dataclass(frozen=True)
class CampaignOptions:
    backend: str | None = None  # default: each spec's own
    only: list[str] | None = None
    suites: list[str] | None = None
    language: str = "zh"
    max_attempts: int = 2  # a job whose worker dies is tried once more on a live host


def plan_jobs(specs: list[Path], options: CampaignOptions) -> list[NewJob]:
    """One job per terminal model of each sample's hardware list, or one per sample for a container
    or process run. A broken spec is bad input before anything is submitted."""
    jobs = []
    suites = [str(Path(s).resolve()) for s in options.suites] if options.suites else None
    for spec in specs:
        loaded = load_spec(spec)
        backend = options.backend or loaded.spec.deployment.backend
        sample = f"{loaded.spec.sample.name} {loaded.spec.sample.version}"
        if backend == "terminal":
            if not loaded.spec.hardware:
                raise PlanError([f"{loaded.path}: hardware: a terminal deployment needs a hardware list"])
            targets = [hw.model for hw in loaded.spec.hardware]
        else:
            targets = [backend]
        for target in targets:
            jobs.append(
                NewJob(
                    spec_path=str(Path(loaded.path).resolve()),
                    sample=sample,
                    backend=backend,
                    target=target,
                    queue=queue_for(backend, target),
                    only=options.only,
                    suites=suites,
                    max_attempts=options.max_attempts,
                )
            )
    return jobs


def serving(settings: HostSettings) -> dict[str, list[str]]:
    """Queue -> the live workers consuming it."""
    out: dict[str, list[str]] = {}
    for w in results.live_workers(utcnow(), settings.lease):
        for q in w.queues:
            out.setdefault(q, []).append(w.name)
    return out


def submit(jobs: list[NewJob], options: CampaignOptions, settings: HostSettings | None = None) -> str:
    """Record the campaign and put its jobs on their queues. A job no live worker serves is refused
    before anything is submitted (a lab error: no host holding that model is up)."""
    settings = settings or host_settings()
    results.open_lab()
    live = serving(settings)
    unserved = sorted({f"{j.target} ({j.queue})" for j in jobs if j.queue not in live})
    if unserved:
        workers = ", ".join(sorted({w for ws in live.values() for w in ws})) or "none"
        raise LabError(f"no live worker serves {', '.join(unserved)}; live workers: {workers}")
    campaign_id, recorded = results.create_campaign(asdict(options), jobs, utcnow())
    configure(settings)
    for n, job in enumerate(recorded):
        try:
            send_job(job.id, job.attempt, job.queue)
        except Exception as e:  # the broker is down: say so, and end what was not sent as errors
            cause = f"the broker {settings.broker_url} cannot be reached: {type(e).__name__}: {e}"
            for unsent in recorded[n:]:
                results.fail_job(unsent.id, cause, utcnow())
            raise LabError(cause) from e
    return campaign_id


def follow(
    campaign_id: str, progress: Progress, settings: HostSettings | None = None, poll_s: float = 1.0
) -> list[JobRecord]:
    """Show the campaign's jobs until every one has ended; recover those whose worker died, and end
    those no live worker serves any more."""
    settings = settings or host_settings()
    configure(settings)
    while True:
        sweep(settings)
        results.fail_unserved_jobs(utcnow(), settings.lease, serving(settings), campaign_id)
        jobs = results.jobs_of(campaign_id)
        progress.show(jobs)
        if all(j.status.ended for j in jobs):
            return jobs
        time.sleep(poll_s)


@dataclass
class CampaignResult:
    exit_code: int
    lines: list[str] = field(default_factory=list)
    reports: dict[str, str] = field(default_factory=dict)  # job ID -> report JSON path


_PRECEDENCE = (EXIT_INTERRUPTED, EXIT_BAD_INPUT, EXIT_LAB_ERROR, EXIT_PRODUCT_FAIL)


def _worst(*codes: int) -> int:
    return next((c for c in _PRECEDENCE if c in codes), EXIT_PASS)


def exit_code(jobs: list[JobRecord]) -> int:
    """The campaign's exit: a job that could not run is a lab error; otherwise the worst run."""
    return _worst(*{EXIT_LAB_ERROR if j.status == JobStatus.ERROR else (j.exit_code or EXIT_PASS) for j in jobs})


def finish(jobs: list[JobRecord], language: str, write_reports: bool = True, pdf: bool = True) -> CampaignResult:
    """Every job's ending in one line, and the report of every run that ended, written on this host
    from the shared record and the evidence store (harness.report, as for a single run)."""
    from harness.report import create_report

    result = CampaignResult(exit_code(jobs))
    for job in jobs:
        head = f"{job.id} {job.sample} on {job.target}"
        retried = f" after {len(job.history)} lost attempt(s)" if job.history else ""
        if job.status == JobStatus.ERROR:
            run = f"; run {job.run_id} kept as recorded" if job.run_id else ""
            result.lines.append(f"{head}: error{retried}: {job.cause}{run}")
            continue
        result.lines.append(
            f"{head}: exit {job.exit_code} on {job.worker}{retried}: {verdict_counts(job)}, run {job.run_id}"
        )
        if not write_reports or job.run_id is None or job.exit_code in (EXIT_BAD_INPUT, EXIT_INTERRUPTED):
            continue
        try:  # as `harness report create`: the report fetches what the run left in the evidence store
            written = create_report(job.run_id, language, pdf=pdf)
        except HarnessError as e:  # one report that cannot be written does not stop the others
            result.exit_code = _worst(result.exit_code, exit_code_of(e))
            result.lines.append(f"  no report: {e}")
            continue
        result.reports[job.id] = str(written.files["json"])
        result.lines.append(f"  report {written.number}: {written.files['html']}")
    return result
