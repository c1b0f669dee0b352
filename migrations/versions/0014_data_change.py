"""What each data version could have changed: the earliest week it wrote or superseded and when its rows were
recorded (NULL: any). A kept picture answer is keyed by the newest change that could reach its week and as-at,
so a return for the newest week no longer makes every older week's view cold. One row for the current version
is written here, changing everything (what it changed is not known).

Revision ID: 0014_data_change
Revises: 0013_current_coverage
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_data_change"
down_revision: str | Sequence[str] | None = "0013_current_coverage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_change",
        sa.Column("version", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.Column("first_week", sa.Date(), nullable=True),
        sa.Column("written_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_data_change")),
    )
    op.execute("INSERT INTO data_change (version, changed_at, first_week, written_at) "
               "SELECT version, changed_at, NULL, NULL FROM data_version WHERE id = 1")


def downgrade() -> None:
    op.drop_table("data_change")
