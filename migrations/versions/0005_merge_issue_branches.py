"""Join the ingestion (0002) and security (0003) branches into one head.

Revision ID: 0005_merge
Revises: 0002_ingestion, 0003_security
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0005_merge"
down_revision: str | Sequence[str] | None = ("0002_ingestion", "0003_security")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
