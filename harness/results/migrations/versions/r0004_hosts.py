"""Lab hosts: workers, campaigns of jobs, and terminal unit reservations with leases.

Revision ID: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_workers",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("host", sa.String(300), nullable=False),
        sa.Column("queues", sa.JSON, nullable=False),
        sa.Column("units", sa.JSON, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("started", sa.DateTime, nullable=False),
        sa.Column("heartbeat", sa.DateTime, nullable=False),
        sa.Column("stopped", sa.DateTime, nullable=True),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("submitted_from", sa.String(300), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("campaign_id", sa.String(40), sa.ForeignKey("campaigns.id"), nullable=False, index=True),
        sa.Column("spec_path", sa.Text, nullable=False),
        sa.Column("sample", sa.String(300), nullable=False),
        sa.Column("backend", sa.String(20), nullable=False),
        sa.Column("target", sa.String(100), nullable=False),
        sa.Column("queue", sa.String(200), nullable=False),
        sa.Column("only", sa.JSON, nullable=True),
        sa.Column("suites", sa.JSON, nullable=True),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("unit_id", sa.String(100), nullable=True),
        sa.Column("run_id", sa.String(40), nullable=True),
        sa.Column("heartbeat", sa.DateTime, nullable=True),
        sa.Column("queued", sa.DateTime, nullable=False),
        sa.Column("started", sa.DateTime, nullable=True),
        sa.Column("finished", sa.DateTime, nullable=True),
        sa.Column("exit_code", sa.Integer, nullable=True),
        sa.Column("cause", sa.Text, nullable=True),
        sa.Column("history", sa.JSON, nullable=False),
    )
    op.create_table(
        "reservations",
        sa.Column("unit_id", sa.String(100), primary_key=True),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("acquired", sa.DateTime, nullable=False),
        sa.Column("lease_until", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("reservations")
    op.drop_table("jobs")
    op.drop_table("campaigns")
    op.drop_table("lab_workers")
