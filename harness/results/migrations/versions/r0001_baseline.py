"""Baseline: the lab database as the harness made it before migrations (hand-written ALTER TABLEs).

Frozen here, never imported from the models. It also adopts a database made by that code: tables
that exist are kept with their rows, and a column an older harness had not yet added is added,
empty (the only schema change that code ever made).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

meta = sa.MetaData()

sa.Table(
    "samples",
    meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(100), nullable=False),
    sa.Column("applicant", sa.String(200), nullable=False),
    sa.Column("producer", sa.String(200), nullable=False),
    sa.Column("spec_path", sa.Text, nullable=False),
    sa.Column("spec_sha256", sa.String(64), nullable=False),
    sa.Column("spec_snapshot", sa.JSON, nullable=False),
    sa.Column("media", sa.JSON, nullable=False),
    sa.Column("received", sa.Date, nullable=False),
    sa.Column("retain_until", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("observed", sa.JSON, nullable=False),
    sa.UniqueConstraint("name", "version", "spec_sha256", name="uq_sample_identity"),
)
sa.Table(
    "runs",
    meta,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("sample_id", sa.String(32), sa.ForeignKey("samples.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("started", sa.DateTime, nullable=False),
    sa.Column("finished", sa.DateTime, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Column("environment", sa.JSON, nullable=False),
    sa.Column("deployments", sa.JSON, nullable=False),
    sa.Column("retest", sa.JSON, nullable=True),
)
sa.Table(
    "verdicts",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("check_id", sa.String(300), nullable=False),
    sa.Column("clause_ids", sa.JSON, nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("summary_en", sa.Text, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("started", sa.DateTime, nullable=False),
    sa.Column("finished", sa.DateTime, nullable=False),
)
sa.Table(
    "evidence",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("verdict_id", sa.Integer, sa.ForeignKey("verdicts.id"), nullable=True),
    sa.Column("check_id", sa.String(300), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
)
sa.Table(
    "reports",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("number", sa.String(40), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("language", sa.String(5), nullable=False),
    sa.Column("created", sa.DateTime, nullable=False),
    sa.Column("tests_completed", sa.Date, nullable=False),
    sa.Column("due", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("content", sa.JSON, nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("out_dir", sa.Text, nullable=False),
    sa.UniqueConstraint("number", "revision", name="uq_report_revision"),
)
sa.Table(
    "item_records",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False, index=True),
    sa.Column("item_id", sa.String(100), nullable=False),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("engineer", sa.String(100), nullable=False),
    sa.Column("recorded", sa.DateTime, nullable=False),
    sa.Column("evidence", sa.JSON, nullable=False),
)
sa.Table(
    "waivers",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("clause_id", sa.String(100), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("approved_by", sa.String(100), nullable=False),
    sa.Column("approved_on", sa.Date, nullable=False),
    sa.Column("expires", sa.Date, nullable=False),
    sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=True),
    sa.Column("sample_id", sa.String(32), sa.ForeignKey("samples.id"), nullable=True),
    sa.Column("created", sa.DateTime, nullable=False),
)
sa.Table(
    "report_events",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, index=True),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("report_id", "action", name="uq_report_event"),
)
sa.Table(
    "report_manifests",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, unique=True),
    sa.Column("files", sa.JSON, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("evidence_digest", sa.String(64), nullable=False),
    sa.Column("written", sa.DateTime, nullable=False),
)


def upgrade() -> None:
    bind = op.get_bind()
    meta.create_all(bind, checkfirst=True)  # a table the database lacks; existing ones are kept
    insp = sa.inspect(bind)
    for table in meta.sorted_tables:
        have = {c["name"] for c in insp.get_columns(table.name)}
        for col in table.columns:
            if col.name not in have:
                # What the old code added later (summary_en, ...): nullable, as it did.
                op.add_column(table.name, sa.Column(col.name, col.type, nullable=True))


def downgrade() -> None:
    for table in reversed(meta.sorted_tables):
        op.drop_table(table.name)
