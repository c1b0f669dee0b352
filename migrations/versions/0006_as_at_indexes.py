"""Indexes for the picture as at a past time: by metric, area and week for every row (the current-row
index covers only rows not superseded), and for "revised since", rows recorded or superseded after a time.

Revision ID: 0006_as_at_indexes
Revises: 0005_merge
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_as_at_indexes"
down_revision: str | Sequence[str] | None = "0005_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_observation_metric_area_week", "observation", ["metric_id", "area_id", "week"])
    op.create_index("ix_observation_recorded_at", "observation", ["recorded_at"])
    # Partial: an index over every current row's NULL misled planners when asking for current rows.
    op.create_index("ix_observation_superseded_at", "observation", ["superseded_at"],
                    sqlite_where=sa.text("superseded_at IS NOT NULL"),
                    postgresql_where=sa.text("superseded_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_observation_superseded_at", table_name="observation")
    op.drop_index("ix_observation_recorded_at", table_name="observation")
    op.drop_index("ix_observation_metric_area_week", table_name="observation")
