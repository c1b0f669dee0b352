"""Briefing packs kept as issued: the file and its sha256, audience, as at, data version, who made it, the
document with every figure it quoted, and a Warn and Inform brief's approval.

Revision ID: 0011_briefings
Revises: 0010_scheduler_heartbeat
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_briefings"
down_revision: str | Sequence[str] | None = "0009_current_values"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "briefing_pack",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("week", sa.Date(), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("area", sa.String(32), nullable=True),
        sa.Column("as_at", sa.DateTime(), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("made_by", sa.String(120), nullable=False),
        sa.Column("data_version", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("file", sa.LargeBinary(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(120), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_briefing_pack")),
    )
    op.create_index("ix_briefing_pack_made_at", "briefing_pack", ["made_at"])
    op.create_index("ix_briefing_pack_audience_as_at", "briefing_pack", ["audience", "as_at"])


def downgrade() -> None:
    op.drop_index("ix_briefing_pack_audience_as_at", table_name="briefing_pack")
    op.drop_index("ix_briefing_pack_made_at", table_name="briefing_pack")
    op.drop_table("briefing_pack")
