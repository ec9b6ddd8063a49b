"""The results room: the lab record between a run and its report, and the only code that talks to
the lab database. Everything here takes and gives plain records (harness.results.records).

- runs: open_run, get_run, load_plan, save_plan, save_deployments, close_run, Heartbeat,
  abort_stale_runs, tally
- verdicts: record_verdict, verdicts_of, verify_run (the hash chain over verdicts and evidence)
- samples: register_sample, get_sample, list_samples
- numbers: allocate_report_number, next_sample_id (atomic on SQLite and PostgreSQL)
- reports: insert_report, revisions, reports_of_run, change_status (with the trail and the folder's
  manifest), store_written, events_of, manifest_of
- engineers' item records and waivers: add_item_record, item_records_of, add_waiver, waivers_for
- the vocabulary: Outcome, RunStatus, ReportStatus (with its allowed transitions)
"""

from harness.results.chain import RunVerification, evidence_kinds, record_verdict, verdicts_of, verify_run
from harness.results.db import LabDatabaseError, open_lab
from harness.results.item_records import add_item_record, add_waiver, item_records_of, list_waivers, waivers_for
from harness.results.numbers import allocate_report_number, next_sample_id, release_report_number
from harness.results.outcomes import NOT_APPLICABLE_PREFIX, OUTCOME_ZH, OUTCOMES, REVIEW_PREFIX, Outcome, RunStatus
from harness.results.records import (
    EvidenceRef,
    ItemRecordEntry,
    ManifestRecord,
    NewReport,
    NewSample,
    ReportEventRecord,
    ReportRecord,
    RunRecord,
    RunTally,
    SampleRecord,
    VerdictInput,
    VerdictRecord,
    WaiverRecord,
)
from harness.results.reports import (
    ReportRevisionTaken,
    all_reports,
    change_status,
    delete_report,
    events_of,
    insert_report,
    latest_revision,
    manifest_of,
    reports_of_run,
    revision_of,
    revisions,
    store_written,
)
from harness.results.runs import (
    Heartbeat,
    abort_stale_runs,
    close_run,
    get_run,
    load_plan,
    open_run,
    runs_of_sample,
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
    "ItemRecordEntry",
    "LabDatabaseError",
    "ManifestRecord",
    "NewReport",
    "NewSample",
    "Outcome",
    "ReportEventRecord",
    "ReportRecord",
    "ReportRevisionTaken",
    "ReportStatus",
    "RunRecord",
    "RunStatus",
    "RunTally",
    "RunVerification",
    "SampleRecord",
    "StatusChangeRefused",
    "VerdictInput",
    "VerdictRecord",
    "WaiverRecord",
    "abort_stale_runs",
    "add_item_record",
    "add_waiver",
    "all_reports",
    "allocate_report_number",
    "change_status",
    "close_run",
    "delete_report",
    "events_of",
    "evidence_kinds",
    "get_run",
    "get_sample",
    "insert_report",
    "item_records_of",
    "latest_revision",
    "list_samples",
    "list_waivers",
    "load_plan",
    "manifest_of",
    "next_sample_id",
    "open_lab",
    "open_run",
    "record_verdict",
    "register_sample",
    "release_report_number",
    "reports_of_run",
    "revision_of",
    "revisions",
    "runs_of_sample",
    "save_deployments",
    "save_plan",
    "store_written",
    "tally",
    "transition",
    "verdicts_of",
    "verify_run",
    "waivers_for",
]
