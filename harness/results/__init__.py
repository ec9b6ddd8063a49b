"""The results room: the lab record between a run and its report, and the only code that talks to
the lab database. Everything here takes and gives plain records (harness.results.records).

- runs: open_run, get_run, load_plan, save_plan, save_deployments, close_run, Heartbeat,
  abort_stale_runs, tally
- verdicts: record_verdict, verdicts_of, verify_run (the hash chain over verdicts and evidence)
- samples: register_sample, get_sample, list_samples
- numbers: allocate_report_number, next_sample_id (atomic on SQLite and PostgreSQL)
- lab hosts: campaigns and jobs (create_campaign, claim_job, renew_job, finish_job, recover_jobs),
  workers (register_worker, live_workers), unit reservations with leases (reserve_unit, ...)
- the evidence store every host reaches (evidence_store; materialise_evidence)
- the vocabulary: Outcome, RunStatus, ReportStatus (with its allowed transitions)
"""

from harness.results.chain import RunVerification, materialise_evidence, record_verdict, verdicts_of, verify_run
from harness.results.db import LabDatabaseError, open_lab, session
from harness.results.evidence_store import EvidenceStoreError
from harness.results.jobs import (
    claim_job,
    create_campaign,
    fail_job,
    fail_unserved_jobs,
    finish_job,
    get_job,
    jobs_of,
    note_job,
    recover_jobs,
    renew_job,
    unclaim_job,
)
from harness.results.numbers import allocate_report_number, next_sample_id
from harness.results.outcomes import (
    NOT_APPLICABLE_PREFIX,
    OUTCOME_ZH,
    OUTCOMES,
    REVIEW_PREFIX,
    JobStatus,
    Outcome,
    RunStatus,
)
from harness.results.records import (
    EvidenceRef,
    JobRecord,
    NewJob,
    NewSample,
    ReservationRecord,
    RunRecord,
    RunTally,
    SampleRecord,
    VerdictInput,
    VerdictRecord,
    WorkerRecord,
)
from harness.results.reservations import (
    drop_expired_reservations,
    release_job_units,
    release_unit,
    renew_reservation,
    reservations,
    reserve_unit,
)
from harness.results.runs import (
    Heartbeat,
    abort_stale_runs,
    close_run,
    get_run,
    host_identity,
    load_plan,
    open_run,
    save_deployments,
    save_plan,
    tally,
    utcnow,
)
from harness.results.samples import get_sample, list_samples, register_sample
from harness.results.status import FROZEN, SIGNING_ORDER, ReportStatus, StatusChangeRefused, transition
from harness.results.workers import beat_worker, live_workers, register_worker, stop_worker, workers

__all__ = [
    "FROZEN",
    "NOT_APPLICABLE_PREFIX",
    "OUTCOMES",
    "OUTCOME_ZH",
    "REVIEW_PREFIX",
    "SIGNING_ORDER",
    "EvidenceRef",
    "EvidenceStoreError",
    "Heartbeat",
    "JobRecord",
    "JobStatus",
    "LabDatabaseError",
    "NewJob",
    "NewSample",
    "Outcome",
    "ReportStatus",
    "ReservationRecord",
    "RunRecord",
    "RunStatus",
    "RunTally",
    "RunVerification",
    "SampleRecord",
    "StatusChangeRefused",
    "VerdictInput",
    "VerdictRecord",
    "WorkerRecord",
    "abort_stale_runs",
    "allocate_report_number",
    "beat_worker",
    "claim_job",
    "close_run",
    "create_campaign",
    "drop_expired_reservations",
    "fail_job",
    "fail_unserved_jobs",
    "finish_job",
    "get_job",
    "get_run",
    "get_sample",
    "host_identity",
    "jobs_of",
    "list_samples",
    "live_workers",
    "load_plan",
    "materialise_evidence",
    "next_sample_id",
    "note_job",
    "open_lab",
    "open_run",
    "record_verdict",
    "recover_jobs",
    "register_sample",
    "register_worker",
    "release_job_units",
    "release_unit",
    "renew_job",
    "renew_reservation",
    "reservations",
    "reserve_unit",
    "save_deployments",
    "save_plan",
    "session",
    "stop_worker",
    "tally",
    "transition",
    "unclaim_job",
    "utcnow",
    "verdicts_of",
    "verify_run",
    "workers",
]
