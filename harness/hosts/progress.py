"""A campaign's progress across hosts: a compact table kept live on a terminal, one plain line per
change elsewhere (CI logs, a pipe)."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from harness import results
from harness.results import JobRecord, JobStatus, Outcome

_SHORT = {Outcome.PASS: "p", Outcome.FAIL: "f", Outcome.ERROR: "e", Outcome.NOT_APPLICABLE: "na", Outcome.REVIEW: "r"}


def verdict_counts(job: JobRecord) -> str:
    """What the job's run has recorded so far: 12p 1f 0e 3na."""
    if not job.run_id:
        return "-"
    counts = results.tally(job.run_id).counts
    return " ".join(
        f"{counts.get(o.value, 0)}{s}" for o, s in _SHORT.items() if counts.get(o.value) or o != Outcome.REVIEW
    )


def state(job: JobRecord) -> str:
    if job.status == JobStatus.QUEUED:
        return "queued" if job.attempt == 1 else f"queued again (attempt {job.attempt})"
    if job.status == JobStatus.RUNNING:
        return "running" if job.unit_id or job.backend != "terminal" else "waiting for a unit"
    if job.status == JobStatus.FINISHED:
        return f"finished, exit {job.exit_code}"
    return "error"


def _where(job: JobRecord) -> str:
    if job.worker is None:
        return "-"
    return job.worker + (f" / {job.unit_id}" if job.unit_id else "")


class Progress:
    """Shows the campaign's jobs; `live` on a terminal, plain lines otherwise."""

    def __init__(self, console: Console, campaign_id: str, live: bool) -> None:
        self.console, self.campaign_id = console, campaign_id
        self._live = Live(console=console, refresh_per_second=2, transient=False) if live else None
        self._seen: dict[str, tuple[object, ...]] = {}
        self._lost: dict[str, int] = {}  # lost attempts already shown, per job

    def __enter__(self) -> Progress:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(et, e, tb)

    def show(self, jobs: list[JobRecord]) -> None:
        if self._live is not None:
            self._live.update(self.table(jobs))
            return
        for job in jobs:
            for lost in job.history[self._lost.get(job.id, 0) :]:  # every lost attempt, even one retried at once
                run = f"; its run {lost['run_id']} is kept, aborted" if lost.get("run_id") else ""
                self.console.print(f"{self._head(job)} attempt {lost['attempt']} lost: {lost['cause']}{run}")
            self._lost[job.id] = len(job.history)
            waiting = job.status == JobStatus.QUEUED or (job.status == JobStatus.RUNNING and state(job) != "running")
            # A job waiting for a unit passes between hosts: one line for the wait, not one per pass.
            key: tuple[object, ...] = ("waiting", job.attempt)
            if not waiting:
                key = (job.status, job.attempt, job.worker, job.unit_id, job.run_id)
            if self._seen.get(job.id) == key:
                continue
            self._seen[job.id] = key
            self.console.print(self.line(job))

    def table(self, jobs: list[JobRecord]) -> Table:
        t = Table(title=f"campaign {self.campaign_id}", title_justify="left", box=None, pad_edge=False)
        for col in ("job", "sample", "target", "host / unit", "state", "verdicts", "run"):
            t.add_column(col, no_wrap=col != "sample")
        for job in jobs:
            t.add_row(
                job.id.rsplit("-", 1)[-1],
                job.sample,
                job.target,
                _where(job),
                state(job),
                verdict_counts(job),
                job.run_id or "-",
            )
        return t

    @staticmethod
    def _head(job: JobRecord) -> str:
        return f"{datetime.now():%H:%M:%S} {job.id} {job.sample} on {job.target}:"

    def line(self, job: JobRecord) -> str:
        head = self._head(job)
        if job.status == JobStatus.QUEUED:
            return f"{head} {state(job)}"
        if job.status == JobStatus.RUNNING:
            run = f", run {job.run_id}" if job.run_id else ""
            return f"{head} {state(job)} on {_where(job)} (attempt {job.attempt}{run})"
        if job.status == JobStatus.FINISHED:
            return f"{head} {state(job)} on {_where(job)}: {verdict_counts(job)}, run {job.run_id}" + (
                f"; {job.cause}" if job.cause else ""
            )
        return f"{head} error: {job.cause}"
