"""Current coverage kept by the database: for each (agency, week, area), how many current values came from that
agency's returns. Filled from current_value and kept in step by triggers on current_value (which triggers on
observation keep, migration 0009), so in the writing statement's own transaction: on SQLite row by row, on
PostgreSQL once per statement over its transition tables. Which agencies have a return in for a week (the week
statuses, the default week) is then a read of a few rows per week instead of a join of every current value of
the weeks to its return.

Revision ID: 0013_current_coverage
Revises: 0011_briefings
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_current_coverage"
down_revision: str | Sequence[str] | None = "0011_briefings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGENCY_OF = "(SELECT agency_id FROM return WHERE id = {row}.return_id)"

SQLITE_ADD = """INSERT INTO current_coverage (agency_id, week, area_id, n)
        SELECT agency_id, NEW.week, NEW.area_id, 1 FROM return WHERE id = NEW.return_id
        ON CONFLICT (agency_id, week, area_id) DO UPDATE SET n = n + 1;"""
# A count that reaches nothing leaves no row: a row is an (agency, week, area) with a current value.
SQLITE_REMOVE = f"""UPDATE current_coverage SET n = n - 1
        WHERE agency_id = {AGENCY_OF.format(row="OLD")} AND week = OLD.week AND area_id = OLD.area_id;
        DELETE FROM current_coverage
        WHERE agency_id = {AGENCY_OF.format(row="OLD")} AND week = OLD.week AND area_id = OLD.area_id AND n <= 0;"""

SQLITE = [
    f"""CREATE TRIGGER current_coverage_insert AFTER INSERT ON current_value
    BEGIN
        {SQLITE_ADD}
    END""",
    f"""CREATE TRIGGER current_coverage_update AFTER UPDATE ON current_value
    BEGIN
        {SQLITE_REMOVE}
        {SQLITE_ADD}
    END""",
    f"""CREATE TRIGGER current_coverage_delete AFTER DELETE ON current_value
    BEGIN
        {SQLITE_REMOVE}
    END""",
]

PG_COUNTS = """SELECT r.agency_id, c.week, c.area_id, count(*) AS n FROM {rows} c JOIN return r ON r.id = c.return_id
        GROUP BY r.agency_id, c.week, c.area_id"""
PG_ADD = f"""INSERT INTO current_coverage (agency_id, week, area_id, n)
        {PG_COUNTS.format(rows="new_rows")}
        ON CONFLICT (agency_id, week, area_id) DO UPDATE SET n = current_coverage.n + EXCLUDED.n;"""
PG_KEY = "k.agency_id = g.agency_id AND k.week = g.week AND k.area_id = g.area_id"
PG_REMOVE = f"""UPDATE current_coverage k SET n = k.n - g.n FROM ({PG_COUNTS.format(rows="old_rows")}) g
        WHERE {PG_KEY};
        DELETE FROM current_coverage k USING ({PG_COUNTS.format(rows="old_rows")}) g WHERE {PG_KEY} AND k.n <= 0;"""

POSTGRES = [
    f"""CREATE FUNCTION current_coverage_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {PG_ADD}
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION current_coverage_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {PG_REMOVE}
        {PG_ADD}
        RETURN NULL;
    END $$""",
    f"""CREATE FUNCTION current_coverage_delete() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {PG_REMOVE}
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER current_coverage_insert AFTER INSERT ON current_value
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION current_coverage_insert()""",
    """CREATE TRIGGER current_coverage_update AFTER UPDATE ON current_value
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION current_coverage_update()""",
    """CREATE TRIGGER current_coverage_delete AFTER DELETE ON current_value
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION current_coverage_delete()""",
]


def upgrade() -> None:
    op.create_table(
        "current_coverage",
        sa.Column("agency_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", "week", "area_id", name="pk_current_coverage"),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO current_coverage (agency_id, week, area_id, n) "
               "SELECT r.agency_id, c.week, c.area_id, count(*) FROM current_value c JOIN return r ON r.id = c.return_id "
               "GROUP BY r.agency_id, c.week, c.area_id")
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRES:
        op.execute(statement)


def downgrade() -> None:
    for name in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS current_coverage_{name}" +
                   ("" if op.get_bind().dialect.name == "sqlite" else " ON current_value"))
        if op.get_bind().dialect.name != "sqlite":
            op.execute(f"DROP FUNCTION IF EXISTS current_coverage_{name}()")
    op.drop_table("current_coverage")
