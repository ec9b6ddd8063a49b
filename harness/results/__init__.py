"""The results room: the lab record between a run and its report, and the only code that talks to
the lab database. Everything here takes and gives plain records (harness.results.records).

- runs: open_run, get_run, load_plan, save_plan, save_deployments, close_run, Heartbeat,
  abort_stale_runs, tally
- verdicts: record_verdict, verdicts_of, verify_run (the hash chain over verdicts and evidence)
- samples: register_sample, get_sample, list_samples
- numbers: allocate_report_number, next_sample_id (atomic on SQLite and PostgreSQL)
- the vocabulary: Outcome, RunStatus, ReportStatus (with its allowed transitions)
"""

from harness.results.chain import RunVerification, record_verdict, verdicts_of, verify_run
from harness.results.db import LabDatabaseError, open_lab, session
from harness.results.numbers import allocate_report_number, next_sample_id
from harness.results.outcomes import NOT_APPLICABLE_PREFIX, OUTCOME_ZH, OUTCOMES, REVIEW_PREFIX, Outcome, RunStatus
from harness.results.records import (
    EvidenceRef,
    NewSample,
    RunRecord,
    RunTally,
    SampleRecord,
    VerdictInput,
    VerdictRecord,
)
from harness.results.runs import (
    Heartbeat,
    abort_stale_runs,
    close_run,
    get_run,
    load_plan,
    open_run,
    save_deployments,
    save_plan,
    tally,
)
from harness.results.samples import get_sample, list_samples, register_sample
from harness.results.status import FROZEN, SIGNING_ORDER, ReportStatus, StatusChangeRefused, transition

__all__ = [
    "FROZEN",
    "NOT_APPLICABLE_PREFIX",
    "OUTCOMES",
    "OUTCOME_ZH",
    "REVIEW_PREFIX",
    "SIGNING_ORDER",
    "EvidenceRef",
    "Heartbeat",
    "LabDatabaseError",
    "NewSample",
    "Outcome",
    "ReportStatus",
    "RunRecord",
    "RunStatus",
    "RunTally",
    "RunVerification",
    "SampleRecord",
    "StatusChangeRefused",
    "VerdictInput",
    "VerdictRecord",
    "abort_stale_runs",
    "allocate_report_number",
    "close_run",
    "get_run",
    "get_sample",
    "list_samples",
    "load_plan",
    "next_sample_id",
    "open_lab",
    "open_run",
    "record_verdict",
    "register_sample",
    "save_deployments",
    "save_plan",
    "session",
    "tally",
    "transition",
    "verdicts_of",
    "verify_run",
]
