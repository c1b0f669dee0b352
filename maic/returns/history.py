"""An agency's returns as its lead sees them: each return received, and which weeks are due, late or missing.

Read-only queries returning dataclasses; the returns page shows them as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import Agency, Observation, Return, User
from maic.plaintext import one_line
from maic.weeks import deadline_for, monday_of

ON_TIME, LATE, DUE, MISSING = "received on time", "received late", "due", "missing (late)"


@dataclass(frozen=True)
class ReturnRow:
    id: int
    first_week: dt.date
    week: dt.date
    status: str
    source: str
    submitted_by: str
    received_at: dt.datetime
    rows: int
    filename: str
    sha256: str


@dataclass(frozen=True)
class WeekDue:
    week: dt.date
    deadline: dt.datetime  # naive UTC
    status: str
    first_received_at: dt.datetime | None


def agency_returns(session: orm.Session, agency_id: int, limit: int = 50) -> list[ReturnRow]:
    stmt = (sa.select(Return, User.username).outerjoin(User, User.id == Return.submitted_by_id)
            .where(Return.agency_id == agency_id).order_by(Return.received_at.desc(), Return.id.desc()).limit(limit))
    # Names stored before they were made plain at the door are shown as one plain line too.
    return [ReturnRow(r.id, r.first_week, r.week, r.status, r.source, one_line(username or r.source), r.received_at,
                      r.row_count, one_line(r.filename), r.sha256) for r, username in session.execute(stmt)]


def template_weeks(today: dt.date, incident_start: dt.date, count: int = 12) -> list[dt.date]:
    """The weeks a template can be downloaded for, newest first: the last complete week (the one due next, and
    the picture's latest) and the `count - 1` before it, none before the incident."""
    last_week = monday_of(today) - dt.timedelta(days=7)
    weeks = [last_week - dt.timedelta(days=7 * i) for i in range(count)]
    return [w for w in weeks if w >= incident_start] or [incident_start]


def weeks_due(session: orm.Session, agency_id: int, *, now: dt.datetime, incident_start: dt.date,
              deadline_rule: str, tz: str, count: int = 8) -> list[WeekDue]:
    """The last `count` weeks whose returns are due or past due, newest first, and how each stands."""
    last_week = monday_of(now.date()) - dt.timedelta(days=7)
    weeks = [last_week - dt.timedelta(days=7 * i) for i in range(count)]
    weeks = [w for w in weeks if w >= incident_start]
    if not weeks:
        return []
    # The first time any of the agency's returns covering the week arrived (voided returns do not count).
    first_in = dict(session.execute(
        sa.select(Observation.week, sa.func.min(Return.received_at))
        .join(Return, Return.id == Observation.return_id)
        .where(Return.agency_id == agency_id, Return.status != "voided", Observation.week.in_(weeks))
        .group_by(Observation.week)).all())
    out = []
    for week in weeks:
        deadline = deadline_for(week, deadline_rule, tz)
        received = first_in.get(week)
        if received is not None:
            status = ON_TIME if received <= deadline else LATE
        else:
            status = DUE if now <= deadline else MISSING
        out.append(WeekDue(week, deadline, status, received))
    return out


def agencies_for(session: orm.Session, agency_id: int | None) -> list[tuple[str, str]]:
    """(slug, name) of the agencies a user may pick: their own, or every active one when agency_id is None."""
    stmt = sa.select(Agency.slug, Agency.name).where(Agency.active.is_(True)).order_by(Agency.name)
    if agency_id is not None:
        stmt = stmt.where(Agency.id == agency_id)
    return [(slug, name) for slug, name in session.execute(stmt)]
