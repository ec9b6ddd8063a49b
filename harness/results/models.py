"""The lab database's tables (SQLAlchemy ORM). Only harness.results uses these rows; everything else
gets plain records (harness.results.records). Changing a table means a new migration in
harness/results/migrations/versions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Sample(Base):
    """A registered submission (送样), kept for the report's validity."""

    __tablename__ = "samples"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # S-2026-0001
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(100))
    applicant: Mapped[str] = mapped_column(String(200))
    producer: Mapped[str] = mapped_column(String(200))
    spec_path: Mapped[str] = mapped_column(Text)
    spec_sha256: Mapped[str] = mapped_column(String(64))
    spec_snapshot: Mapped[dict] = mapped_column(JSON)  # the spec as received
    media: Mapped[list] = mapped_column(JSON)  # [{path, sha256, role}]
    received: Mapped[date] = mapped_column(Date)
    retain_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="registered")
    observed: Mapped[dict] = mapped_column(JSON, default=dict)  # what intake saw: documented operations
    runs: Mapped[list[Run]] = relationship(back_populates="sample")
    __table_args__ = (UniqueConstraint("name", "version", "spec_sha256", name="uq_sample_identity"),)


class Run(Base):
    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # R-20261127-031500-ab12
    sample_id: Mapped[str] = mapped_column(ForeignKey("samples.id"))
    kind: Mapped[str] = mapped_column(String(20), default="full")  # full | retest | surveillance
    started: Mapped[datetime] = mapped_column(DateTime)
    finished: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="running")  # RunStatus
    # Liveness: the harness running it refreshes this (UTC); a run whose heartbeat is older than the
    # lease is aborted by whichever harness notices, on any host sharing the database.
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it ended as it did
    plan: Mapped[dict] = mapped_column(JSON, default=dict)
    environment: Mapped[dict] = mapped_column(JSON, default=dict)  # host, tools and versions
    deployments: Mapped[list] = mapped_column(JSON, default=list)  # per model: backend, image, ...
    # A retest: the baseline report it supplements and the change analysis that chose its items.
    retest: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    sample: Mapped[Sample] = relationship(back_populates="runs")
    verdicts: Mapped[list[Verdict]] = relationship(back_populates="run", order_by="Verdict.id")


class Verdict(Base):
    """One check's outcome on one deployed model; written the moment the check ends."""

    __tablename__ = "verdicts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    check_id: Mapped[str] = mapped_column(String(300))  # pytest node id without the model param
    clause_ids: Mapped[list] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(20))  # pass | fail | error | not_applicable
    summary: Mapped[str] = mapped_column(Text, default="")  # the observed result, one paragraph
    # The same in English ("" when a check gave no English text for some observation).
    summary_en: Mapped[str | None] = mapped_column(Text, nullable=True, default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # assertion text or the lab fault
    # Opinions and hints beside the result ([{zh, en}], evidence.hint), shown apart from the
    # observed result (CNAS-CL01 7.8.7).
    hints: Mapped[list | None] = mapped_column(JSON, nullable=True)
    # A lab error's kind: {"kinds": exception class names, most specific first, "zh": the error's
    # own Chinese sentence or null}; the report states the error in its language from these.
    error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    started: Mapped[datetime] = mapped_column(DateTime)
    finished: Mapped[datetime] = mapped_column(DateTime)
    # SHA-256 over this row's content, its evidence files' SHA-256 and the previous verdict's chain
    # value in the same run: an edited verdict or evidence file breaks the chain (verify_run).
    chain_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    run: Mapped[Run] = relationship(back_populates="verdicts")
    evidence: Mapped[list[Evidence]] = relationship(back_populates="verdict")


class Evidence(Base):
    __tablename__ = "evidence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id"), nullable=True)
    check_id: Mapped[str] = mapped_column(String(300))
    model: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))  # transcript | pcap | screenshot | log | json | text
    title: Mapped[str] = mapped_column(String(300))
    path: Mapped[str] = mapped_column(Text)  # relative to the run directory
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime)
    verdict: Mapped[Verdict | None] = relationship(back_populates="evidence")


class Report(Base):
    """A type-test report: numbered, built from a run, rendered from its frozen JSON."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(40), index=True)  # the same across revisions
    revision: Mapped[int] = mapped_column(Integer, default=1)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    kind: Mapped[str] = mapped_column(String(20), default="full")  # full | supplementary
    language: Mapped[str] = mapped_column(String(5), default="zh")
    created: Mapped[datetime] = mapped_column(DateTime)
    tests_completed: Mapped[date] = mapped_column(Date)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")  # ReportStatus
    content: Mapped[dict] = mapped_column(JSON)  # the report's JSON truth
    content_sha256: Mapped[str] = mapped_column(String(64))
    out_dir: Mapped[str] = mapped_column(Text)
    # The languages the folder holds a rendering in (the report's own first); null: its language only.
    languages: Mapped[list | None] = mapped_column(JSON, nullable=True)
    __table_args__ = (UniqueConstraint("number", "revision", name="uq_report_revision"),)


# --- The report workflow: engineers' records, waivers, a report revision's signatures and manifest.


class ItemRecord(Base):
    """An engineer's verdict on a document-review or semi-automated item of a run. The latest record
    of an item in a run is the one the report uses."""

    __tablename__ = "item_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    item_id: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(20))  # 符合 | 不符合 | 不适用
    note: Mapped[str] = mapped_column(Text)  # the observed result, in the engineer's words
    engineer: Mapped[str] = mapped_column(String(100))
    recorded: Mapped[datetime] = mapped_column(DateTime)
    evidence: Mapped[list] = mapped_column(JSON, default=list)  # [{title, path, sha256, size}], path rel. run dir
    note_en: Mapped[str | None] = mapped_column(Text, nullable=True)  # the note in English, if given
    # What backs the verdict besides files: the reviewed document and section, or why there is no evidence.
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    no_evidence_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class Waiver(Base):
    """An approved waiver (the clause is not assessed) or deviation (assessed otherwise than the method says)."""

    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    clause_id: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # waiver | deviation
    justification: Mapped[str] = mapped_column(Text)
    justification_en: Mapped[str | None] = mapped_column(Text, nullable=True)
    approved_by: Mapped[str] = mapped_column(String(100))
    approved_on: Mapped[date] = mapped_column(Date)
    expires: Mapped[date] = mapped_column(Date)
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"), nullable=True)  # scope: one run
    sample_id: Mapped[str | None] = mapped_column(ForeignKey("samples.id"), nullable=True)  # or a sample
    created: Mapped[datetime] = mapped_column(DateTime)


class ReportEvent(Base):
    """The trail of a report revision: prepared, reviewed, approved (in that order), submitted."""

    __tablename__ = "report_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # prepared | reviewed | approved | submitted
    name: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("report_id", "action", name="uq_report_event"),)


class ReportManifest(Base):
    """Every file of a report folder with its SHA-256, as written; `harness verify` compares against it."""

    __tablename__ = "report_manifests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    files: Mapped[dict] = mapped_column(JSON)  # {relative path: sha256}
    digest: Mapped[str] = mapped_column(String(64))  # over the canonical file list
    evidence_digest: Mapped[str] = mapped_column(String(64))  # the digest the report content carries
    written: Mapped[datetime] = mapped_column(DateTime)


class Counter(Base):
    """Number sequences (sample IDs, report numbers): one row per sequence, incremented in one
    atomic statement, so concurrent writers on any engine never get the same number."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)  # e.g. "sample:2026", "report:FTL-2026"
    value: Mapped[int] = mapped_column(Integer)
