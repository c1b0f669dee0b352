"""Current values kept by the database: a current_value row for every observation not superseded, filled
from the existing rows and kept in step by triggers on observation (in the writing statement itself, so in
its transaction), on SQLite row by row and on PostgreSQL once per statement over its transition tables.

Revision ID: 0009_current_values
Revises: 0008_sessions_throttle
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_current_values"
down_revision: str | Sequence[str] | None = "0010_scheduler_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "metric_id, area_id, week, value, return_id, observation_id"  # insert order, not key order
KEY = "c.metric_id = o.metric_id AND c.week = o.week AND c.area_id = o.area_id AND c.observation_id = o.id"

SQLITE = [
    f"""CREATE TRIGGER observation_current_insert AFTER INSERT ON observation WHEN NEW.superseded_at IS NULL
    BEGIN
        INSERT INTO current_value ({COLUMNS})
        VALUES (NEW.metric_id, NEW.area_id, NEW.week, NEW.value, NEW.return_id, NEW.id);
    END""",
    # Any update: the old row leaves the current values if it was there, the new one enters if it is current.
    f"""CREATE TRIGGER observation_current_update AFTER UPDATE ON observation
    BEGIN
        DELETE FROM current_value WHERE OLD.superseded_at IS NULL AND metric_id = OLD.metric_id
            AND area_id = OLD.area_id AND week = OLD.week AND observation_id = OLD.id;
        INSERT INTO current_value ({COLUMNS})
        SELECT NEW.metric_id, NEW.area_id, NEW.week, NEW.value, NEW.return_id, NEW.id
        WHERE NEW.superseded_at IS NULL;
    END""",
    """CREATE TRIGGER observation_current_delete AFTER DELETE ON observation WHEN OLD.superseded_at IS NULL
    BEGIN
        DELETE FROM current_value WHERE metric_id = OLD.metric_id AND area_id = OLD.area_id
            AND week = OLD.week AND observation_id = OLD.id;
    END""",
]

POSTGRES = [
    f"""CREATE FUNCTION observation_current_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO current_value ({COLUMNS})
        SELECT metric_id, area_id, week, value, return_id, id FROM new_rows WHERE superseded_at IS NULL;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION observation_current_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM current_value c USING old_rows o WHERE o.superseded_at IS NULL AND {KEY};
        INSERT INTO current_value ({COLUMNS})
        SELECT metric_id, area_id, week, value, return_id, id FROM new_rows WHERE superseded_at IS NULL;
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION observation_current_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM current_value c USING old_rows o WHERE o.superseded_at IS NULL AND {KEY};
        RETURN NULL;
    END $$""",
    # Once per statement over all its rows: a 100k-row insert or COPY is one INSERT ... SELECT, not 100k calls.
    """CREATE TRIGGER observation_current_insert AFTER INSERT ON observation
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION observation_current_insert()""",
    """CREATE TRIGGER observation_current_update AFTER UPDATE ON observation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION observation_current_update()""",
    """CREATE TRIGGER observation_current_delete AFTER DELETE ON observation
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION observation_current_delete()""",
]


def upgrade() -> None:
    op.create_table(
        "current_value",
        sa.Column("metric_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("return_id", sa.Integer(), nullable=False),
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("metric_id", "week", "area_id", name="pk_current_value"),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT INTO current_value ({COLUMNS}) SELECT metric_id, area_id, week, value, return_id, id "
               "FROM observation WHERE superseded_at IS NULL")
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS observation_current_{name}" +
                   ("" if op.get_bind().dialect.name == "sqlite" else " ON observation"))
        if op.get_bind().dialect.name != "sqlite":
            op.execute(f"DROP FUNCTION IF EXISTS observation_current_{name}()")
    op.drop_table("current_value")
