"""The scheduler's heartbeat: one row per scheduler process (leader or standby), beaten every few seconds, so
that admins and /readyz can tell a scheduler that has stopped from one that is running.

Revision ID: 0010_scheduler_heartbeat
Revises: 0012_notifications
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_scheduler_heartbeat"
down_revision: str | Sequence[str] | None = "0012_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduler_heartbeat",
        sa.Column("runner", sa.String(120), nullable=False),
        sa.Column("host", sa.String(255), nullable=False, server_default=""),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("beat_at", sa.DateTime(), nullable=False),
        sa.Column("holds_lock", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("leading_at", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(200), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("runner", name=op.f("pk_scheduler_heartbeat")),
    )
    op.create_index(op.f("ix_scheduler_heartbeat_beat_at"), "scheduler_heartbeat", ["beat_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scheduler_heartbeat_beat_at"), table_name="scheduler_heartbeat")
    op.drop_table("scheduler_heartbeat")
