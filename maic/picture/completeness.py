"""Panel 5, returns completeness: agency x week, on time / late / missing / not yet due, corrected, last received.

A week's return is on time when the agency's first return carrying figures for that week was received by
the deadline (maic.weeks.deadline_for with MAIC_RETURN_DEADLINE), late when after it; corrected when a later
return for the same week followed. Missing when no return carries the week and its deadline has passed as
at the query time; "not yet due" before the deadline. A missing return is shown as missing, never as zero.
Everything is as at the query time: returns received later, or voided by then, do not count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import LRF, Agency, Observation, Return
from maic.picture.core import PictureQuery, _kept, plain_rows, resolve_range
from maic.reference import NEIGHBOUR_KIND
from maic.weeks import deadline_for, weeks_between

ON_TIME, LATE, MISSING, NOT_DUE = "on_time", "late", "missing", "not_due"
STATUS_TEXT = {ON_TIME: "On time", LATE: "Late", MISSING: "Missing", NOT_DUE: "Not yet due"}


@dataclass(frozen=True)
class Cell:
    agency: str
    week: dt.date
    status: str
    corrected: bool
    first_received: dt.datetime | None
    last_received: dt.datetime | None
    returns: int

    @property
    def text(self) -> str:
        return STATUS_TEXT[self.status] + (", corrected" if self.corrected else "")


@dataclass(frozen=True)
class AgencyRow:
    slug: str
    name: str
    kind: str
    last_received: dt.datetime | None
    cells: tuple[Cell, ...]


@dataclass
class Completeness:
    as_at: dt.datetime
    weeks: list[dt.date] = field(default_factory=list)
    agencies: list[AgencyRow] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUS_TEXT}
        out["corrected"] = 0
        for row in self.agencies:
            for c in row.cells:
                out[c.status] += 1
                out["corrected"] += c.corrected
        return out


def received_by_agency_week(session: orm.Session, agency_ids: list[int], week_from: dt.date, week_to: dt.date,
                             at: dt.datetime) -> dict[tuple[int, dt.date], list[dt.datetime]]:
    """(agency_id, week) -> received times of every return received by `at`, not voided by then, covering the week.

    A one-week return is read from the return table alone; only backfills (several weeks) look at their
    observations, by return id, to find exactly which weeks they carry.
    """
    alive = sa.and_(Return.agency_id.in_(agency_ids), Return.received_at <= at,
                    sa.or_(Return.voided_at.is_(None), Return.voided_at > at),
                    Return.week >= week_from, Return.first_week <= week_to)
    rows = plain_rows(session, sa.select(Return.id, Return.agency_id, Return.week, Return.first_week,
                                         Return.received_at).where(alive))
    out: dict[tuple[int, dt.date], list[dt.datetime]] = {}
    backfills = {}
    for return_id, agency_id, week, first_week, received_at in rows:
        if first_week == week:
            out.setdefault((agency_id, week), []).append(received_at)
        else:
            backfills[return_id] = (agency_id, received_at)
    if backfills:
        carried = session.execute(sa.select(Observation.return_id, Observation.week).distinct()
                                  .where(Observation.return_id.in_(list(backfills)),
                                         Observation.week.between(week_from, week_to))).all()
        for return_id, week in carried:
            agency_id, received_at = backfills[return_id]
            out.setdefault((agency_id, week), []).append(received_at)
    return out


def agencies_counted(session: orm.Session, query: PictureQuery) -> list:
    """The agencies whose returns are counted, in the grid and in the headline's "N of M returns in" alike: the
    home LRF's active agencies, and with neighbours the neighbouring LRFs' cells; home agencies first."""
    return list(_kept(session, ("agencies counted", query.include_neighbours), lambda: _agencies_counted(session, query)))


def _agencies_counted(session: orm.Session, query: PictureQuery) -> list:
    stmt = sa.select(Agency.id, Agency.slug, Agency.name, Agency.kind).join(LRF).where(Agency.active.is_(True))
    if query.include_neighbours:
        stmt = stmt.where(sa.or_(LRF.is_home.is_(True), Agency.kind == NEIGHBOUR_KIND))
    else:
        stmt = stmt.where(LRF.is_home.is_(True), Agency.kind != NEIGHBOUR_KIND)
    return list(session.execute(stmt.order_by(Agency.kind == NEIGHBOUR_KIND, Agency.name)).all())


def completeness(session: orm.Session, query: PictureQuery, *, deadline_rule: str = "TUE 12:00",
                 tz: str = "Europe/London") -> Completeness:
    return with_last_received(completeness_grid(session, query, deadline_rule=deadline_rule, tz=tz),
                              last_received(session, query))


def completeness_grid(session: orm.Session, query: PictureQuery, *, deadline_rule: str = "TUE 12:00",
                      tz: str = "Europe/London") -> Completeness:
    """The grid without each agency's last return (every `last_received` None): it reads only returns carrying
    the weeks shown, so a return for a later week leaves it as it was (callbacks/overview.py keeps it by week);
    with_last_received adds what reads every week."""
    at = query.at()
    result = Completeness(as_at=at)
    span = resolve_range(session, query)
    if span is None:
        return result
    agencies = agencies_counted(session, query)
    result.weeks = weeks_between(*span)
    if not agencies:
        return result
    received = received_by_agency_week(session, [a.id for a in agencies], span[0], span[1], at)
    deadlines = {w: deadline_for(w, deadline_rule, tz) for w in result.weeks}
    for agency in agencies:
        cells = []
        for week in result.weeks:
            times = received.get((agency.id, week))
            if times:
                first, last = min(times), max(times)
                status = ON_TIME if first <= deadlines[week] else LATE
                cells.append(Cell(agency.slug, week, status, len(times) > 1, first, last, len(times)))
            else:
                status = MISSING if deadlines[week] <= at else NOT_DUE
                cells.append(Cell(agency.slug, week, status, False, None, None, 0))
        result.agencies.append(AgencyRow(agency.slug, agency.name, agency.kind, None, tuple(cells)))
    return result


def last_received(session: orm.Session, query: PictureQuery) -> dict[str, dt.datetime]:
    """Agency slug -> when its last return of any week was received, as at the query time (not voided by then);
    agencies with none are absent. Reads only the scope and the time of the query, never its weeks."""
    agencies = agencies_counted(session, query)
    if not agencies:
        return {}
    at = query.at()
    slugs = {a.id: a.slug for a in agencies}
    rows = session.execute(
        sa.select(Return.agency_id, sa.func.max(Return.received_at))
        .where(Return.agency_id.in_(list(slugs)), Return.received_at <= at,
               sa.or_(Return.voided_at.is_(None), Return.voided_at > at))
        .group_by(Return.agency_id)).all()
    return {slugs[agency_id]: moment for agency_id, moment in rows if moment is not None}


def with_last_received(grid: Completeness, last: dict[str, dt.datetime]) -> Completeness:
    """The grid with each agency's last return: what completeness() computes, assembled from its two parts."""
    return Completeness(grid.as_at, grid.weeks,
                        [replace(row, last_received=last.get(row.slug)) for row in grid.agencies])


def completeness_table(result: Completeness) -> pd.DataFrame:
    rows = []
    for agency in result.agencies:
        row = {"Agency": agency.name,
               "Last received (UTC)": agency.last_received.strftime("%Y-%m-%d %H:%M") if agency.last_received else "never"}
        row.update({w.isoformat(): c.text for w, c in zip(result.weeks, agency.cells, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows, columns=["Agency", "Last received (UTC)"] + [w.isoformat() for w in result.weeks])
