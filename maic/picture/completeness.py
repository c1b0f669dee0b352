"""Panel 5, returns completeness: agency x week, on time / late / missing / not yet due, corrected, last received.

A week's return is on time when the agency's first return carrying figures for that week was received by
the deadline (maic.weeks.deadline_for with MAIC_RETURN_DEADLINE), late when after it; corrected when a later
return for the same week followed. Missing when no return carries the week and its deadline has passed as
at the query time; "not yet due" before the deadline. A missing return is shown as missing, never as zero.
Everything is as at the query time: returns received later, or voided by then, do not count.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import LRF, Agency, Observation, Return
from maic.picture.core import PictureQuery, resolve_range
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


def _received_by_agency_week(session: orm.Session, agency_ids: list[int], week_from: dt.date, week_to: dt.date,
                             at: dt.datetime) -> pd.DataFrame:
    """(agency_id, week, received_at) for every return received by `at`, not voided by then, covering the week.

    A one-week return is read from the return table alone; only backfills (several weeks) look at their
    observations to find exactly which weeks they carry.
    """
    alive = sa.and_(Return.agency_id.in_(agency_ids), Return.received_at <= at,
                    sa.or_(Return.voided_at.is_(None), Return.voided_at > at),
                    Return.week >= week_from, Return.first_week <= week_to)
    single = session.execute(sa.select(Return.agency_id, Return.week, Return.received_at)
                             .where(alive, Return.first_week == Return.week)).all()
    multi = session.execute(sa.select(Return.agency_id, Observation.week, Return.received_at).distinct()
                            .join(Observation, Observation.return_id == Return.id)
                            .where(alive, Return.first_week < Return.week,
                                   Observation.week.between(week_from, week_to))).all()
    return pd.DataFrame(list(single) + list(multi), columns=["agency_id", "week", "received_at"])


def completeness(session: orm.Session, query: PictureQuery, *, deadline_rule: str = "TUE 12:00",
                 tz: str = "Europe/London") -> Completeness:
    at = query.at()
    result = Completeness(as_at=at)
    span = resolve_range(session, query)
    if span is None:
        return result
    stmt = sa.select(Agency.id, Agency.slug, Agency.name, Agency.kind).join(LRF).where(Agency.active.is_(True))
    if query.include_neighbours:
        stmt = stmt.where(sa.or_(LRF.is_home.is_(True), Agency.kind == NEIGHBOUR_KIND))
    else:
        stmt = stmt.where(LRF.is_home.is_(True), Agency.kind != NEIGHBOUR_KIND)
    agencies = session.execute(stmt.order_by(Agency.kind == NEIGHBOUR_KIND, Agency.name)).all()
    result.weeks = weeks_between(*span)
    if not agencies:
        return result
    received = _received_by_agency_week(session, [a.id for a in agencies], span[0], span[1], at)
    grouped = (received.groupby(["agency_id", "week"])["received_at"].agg(["min", "max", "count"])
               if not received.empty else pd.DataFrame(columns=["min", "max", "count"]))
    last_overall = session.execute(
        sa.select(Return.agency_id, sa.func.max(Return.received_at))
        .where(Return.agency_id.in_([a.id for a in agencies]), Return.received_at <= at,
               sa.or_(Return.voided_at.is_(None), Return.voided_at > at))
        .group_by(Return.agency_id)).all()
    last_by_agency = dict(last_overall)
    deadlines = {w: deadline_for(w, deadline_rule, tz) for w in result.weeks}
    for agency in agencies:
        cells = []
        for week in result.weeks:
            key = (agency.id, week)
            if key in grouped.index:
                first, last, count = grouped.loc[key, "min"], grouped.loc[key, "max"], int(grouped.loc[key, "count"])
                first, last = first.to_pydatetime(), last.to_pydatetime()
                status = ON_TIME if first <= deadlines[week] else LATE
                cells.append(Cell(agency.slug, week, status, count > 1, first, last, count))
            else:
                status = MISSING if deadlines[week] <= at else NOT_DUE
                cells.append(Cell(agency.slug, week, status, False, None, None, 0))
        result.agencies.append(AgencyRow(agency.slug, agency.name, agency.kind, last_by_agency.get(agency.id),
                                         tuple(cells)))
    return result


def completeness_table(result: Completeness) -> pd.DataFrame:
    rows = []
    for agency in result.agencies:
        row = {"Agency": agency.name,
               "Last received (UTC)": agency.last_received.strftime("%Y-%m-%d %H:%M") if agency.last_received else "never"}
        row.update({w.isoformat(): c.text for w, c in zip(result.weeks, agency.cells, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows, columns=["Agency", "Last received (UTC)"] + [w.isoformat() for w in result.weeks])
