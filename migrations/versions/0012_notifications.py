"""Notifications (issue 14): the outbox (which is also the in-app list), opt-outs, what each check saw,
failures in a row of each pull, and a user's email address.

Revision ID: 0012_notifications
Revises: 0008_sessions_throttle
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_notifications"
down_revision: str | Sequence[str] | None = "0008_sessions_throttle"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(254), nullable=True))
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE",
                                name="fk_notification_user_id_user_account"),
        sa.PrimaryKeyConstraint("id", name="pk_notification"),
        sa.UniqueConstraint("event_key", "recipient", "channel", name="uq_notification_event_recipient_channel"),
    )
    op.create_index("ix_notification_state_due", "notification", ["state", "next_attempt_at"])
    op.create_index("ix_notification_user_channel_read", "notification", ["user_id", "channel", "read_at"])
    op.create_index("ix_notification_kind", "notification", ["kind"])
    op.create_index("ix_notification_created_at", "notification", ["created_at"])
    op.create_table(
        "notification_opt_out",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE",
                                name="fk_notification_opt_out_user_id_user_account"),
        sa.PrimaryKeyConstraint("user_id", "kind", "channel", name="pk_notification_opt_out"),
    )
    op.create_table(
        "notify_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_notify_check"),
    )
    op.create_index("ix_notify_check_checked_at", "notify_check", ["checked_at"])
    op.create_table(
        "notify_pull_streak",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("source", name="pk_notify_pull_streak"),
    )


def downgrade() -> None:
    op.drop_table("notify_pull_streak")
    op.drop_index("ix_notify_check_checked_at", table_name="notify_check")
    op.drop_table("notify_check")
    op.drop_table("notification_opt_out")
    op.drop_index("ix_notification_created_at", table_name="notification")
    op.drop_index("ix_notification_kind", table_name="notification")
    op.drop_index("ix_notification_user_channel_read", table_name="notification")
    op.drop_index("ix_notification_state_due", table_name="notification")
    op.drop_table("notification")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("email")
