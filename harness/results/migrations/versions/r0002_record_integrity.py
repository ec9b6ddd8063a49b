"""Run heartbeat and end reason, the verdict hash chain, and atomic number sequences.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("heartbeat", sa.DateTime, nullable=True))
    op.add_column("runs", sa.Column("end_reason", sa.Text, nullable=True))
    op.add_column("verdicts", sa.Column("chain_sha256", sa.String(64), nullable=True))
    op.create_table(
        "counters",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("counters")
    with op.batch_alter_table("verdicts") as verdicts:  # SQLite drops a column by copying the table
        verdicts.drop_column("chain_sha256")
    with op.batch_alter_table("runs") as runs:
        runs.drop_column("end_reason")
        runs.drop_column("heartbeat")
