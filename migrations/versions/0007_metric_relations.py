"""Relations between metrics (a total is its parts plus an unpublished rest), for disclosure control across them.

Revision ID: 0007_metric_relations
Revises: 0006_as_at_indexes
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_metric_relations"
down_revision: str | Sequence[str] | None = "0006_as_at_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metric_relation",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("total_key", sa.String(64), nullable=False),
        sa.Column("part_keys", sa.JSON, nullable=False),
        sa.Column("rest_label", sa.String(200), nullable=False),
        sa.ForeignKeyConstraint(["total_key"], ["metric.key"], name=op.f("fk_metric_relation_total_key_metric"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_relation")),
        sa.UniqueConstraint("name", name=op.f("uq_metric_relation_name")),
    )


def downgrade() -> None:
    op.drop_table("metric_relation")
