"""Report content v3: a verdict's hints and lab-error kind, an item record's English note, reference
and no-evidence reason, a waiver's English justification, and the languages a report folder holds.
Every new column is nullable: rows written before keep their meaning (no hints, no English text).

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("verdicts", sa.Column("hints", sa.JSON, nullable=True))
    op.add_column("verdicts", sa.Column("error", sa.JSON, nullable=True))
    op.add_column("reports", sa.Column("languages", sa.JSON, nullable=True))
    op.add_column("item_records", sa.Column("note_en", sa.Text, nullable=True))
    op.add_column("item_records", sa.Column("reference", sa.Text, nullable=True))
    op.add_column("item_records", sa.Column("no_evidence_reason", sa.Text, nullable=True))
    op.add_column("waivers", sa.Column("justification_en", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("waivers") as waivers:  # SQLite drops a column by copying the table
        waivers.drop_column("justification_en")
    with op.batch_alter_table("item_records") as records:
        records.drop_column("no_evidence_reason")
        records.drop_column("reference")
        records.drop_column("note_en")
    with op.batch_alter_table("reports") as reports:
        reports.drop_column("languages")
    with op.batch_alter_table("verdicts") as verdicts:
        verdicts.drop_column("error")
        verdicts.drop_column("hints")
