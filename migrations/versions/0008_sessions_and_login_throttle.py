"""Sessions that end and lock-outs nobody can turn on a user: a per-user session generation (a session cookie
names the generation it was issued in; bumping it ends every session of the user), an index for counting a
name's recent sign-in attempts in the audit log, and the per-account lock-out columns dropped.

Revision ID: 0008_sessions_throttle
Revises: 0007_metric_relations
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_sessions_throttle"
down_revision: str | Sequence[str] | None = "0007_metric_relations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")
    op.create_index("ix_audit_event_actor_at", "audit_event", ["actor", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_event_actor_at", table_name="audit_event")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_column("session_generation")
