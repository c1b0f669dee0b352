"""Panel 3, accommodation shortfall: per area, demand against spare emergency/temporary places, and its trend.

demand = released with no fixed abode in the week + referrals awaiting placement at the end of the week;
spare = max(0, TA capacity - households in TA); shortfall = max(0, demand - spare). An area with no capacity
or TA figure for the week is listed as missing, never counted as zero.

The rule is written once, in SQL (per_area_week): the panel's rows, its trend over every week chosen and
the headline tile all read it, and only the answer (an area's row, a week's total) leaves the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates
from maic.models import Area
from maic.picture.core import (
    WEEK,
    PictureQuery,
    areas_in_scope,
    coverage_text,
    expected_areas,
    live_from_summary,
    metric_ids,
    metric_sum,
    plain_rows,
    resolve_range,
    revisions,
    source,
)
from maic.picture.export import whole_numbers
from maic.picture.weekly import per_week
from maic.weeks import weeks_between

SHORTFALL_METRICS = ["releases_nfa", "referrals_awaiting_placement", "ta_capacity", "households_in_ta"]
CAPACITY_METRICS = ["ta_capacity", "households_in_ta"]  # an area's shortfall needs both


@dataclass(frozen=True)
class ShortfallRow:
    area_code: str
    area_name: str
    nfa: int
    awaiting: int
    demand: int
    capacity: int
    in_ta: int
    spare: int
    shortfall: int
    change: int | None  # on last week; None when last week had no capacity figure
    revised: bool = False


@dataclass
class Shortfall:
    week: dt.date | None
    as_at: dt.datetime
    rows: list[ShortfallRow] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # areas with no capacity or TA figure for the week
    trend: list[tuple[dt.date, int | None, int]] = field(default_factory=list)  # week, total, areas reporting
    areas_expected: int = 0  # areas that should send capacity and TA figures

    @property
    def coverage(self) -> str:
        """"5 of 6 areas" when the total lacks some; "" when every area is in."""
        return coverage_text(len(self.rows), max(self.areas_expected, len(self.rows))) if self.rows else ""

    @property
    def total(self) -> int | None:
        return sum(r.shortfall for r in self.rows) if self.rows else None


COLUMNS = ["nfa", "awaiting", "demand", "capacity", "in_ta", "spare", "shortfall"]


def per_area_week(session: orm.Session, query: PictureQuery, week_from: dt.date, week_to: dt.date):
    """A select of every (area, week) in scope with both a capacity and a TA figure: area_code, week, then
    COLUMNS. None when the catalogue lacks the capacity metrics or no area is in scope."""
    areas = areas_in_scope(session, query)
    ids = metric_ids(session, SHORTFALL_METRICS)
    if areas.empty or "ta_capacity" not in ids or "households_in_ta" not in ids:
        return None

    src = source(query)

    def total(key: str):
        return metric_sum(ids[key], src) if key in ids else sa.cast(sa.null(), sa.BigInteger)

    groups = (sa.select(src.area_id, src.week, total("releases_nfa").label("nfa"),
                        total("referrals_awaiting_placement").label("awaiting"),
                        total("ta_capacity").label("capacity"), total("households_in_ta").label("in_ta"))
              .where(src.condition, src.metric_id.in_(list(ids.values())),
                     src.week.between(week_from, week_to), src.area_id.in_(areas["id"].tolist()))
              .group_by(src.area_id, src.week).subquery())
    demand = sa.func.coalesce(groups.c.nfa, 0) + sa.func.coalesce(groups.c.awaiting, 0)
    free = groups.c.capacity - groups.c.in_ta
    spare = sa.case((free > 0, free), else_=0)
    short = sa.case((demand - spare > 0, demand - spare), else_=0)
    return (sa.select(Area.code.label("area_code"), groups.c.week, sa.func.coalesce(groups.c.nfa, 0).label("nfa"),
                      sa.func.coalesce(groups.c.awaiting, 0).label("awaiting"), demand.label("demand"),
                      groups.c.capacity, groups.c.in_ta, spare.label("spare"), short.label("shortfall"))
            .join(Area, Area.id == groups.c.area_id)
            .where(groups.c.capacity.is_not(None), groups.c.in_ta.is_not(None)))


def shortfall_rows(session: orm.Session, query: PictureQuery, week_from: dt.date, week_to: dt.date) -> list:
    """Every (area, week) with both a capacity and a TA figure: rows with area_code, week, then COLUMNS. Plain rows
    (a few hundred at most), read through the session's connection: a frame and the ORM's row handling cost the
    panel more than the query."""
    stmt = per_area_week(session, query, week_from, week_to)
    if stmt is None:
        return []
    return plain_rows(session, stmt)


def shortfall_by_week(session: orm.Session, query: PictureQuery, week_from: dt.date,
                      week_to: dt.date) -> dict[dt.date, tuple[int, int]]:
    """week -> (total shortfall, areas with capacity figures), for the weeks that have any."""
    stmt = per_area_week(session, query, week_from, week_to)
    if stmt is None:
        return {}
    rows = stmt.subquery()
    totals = sa.select(rows.c.week, sa.cast(sa.func.sum(rows.c.shortfall), sa.BigInteger), sa.func.count())
    return {w: (int(total), int(n)) for w, total, n in session.execute(totals.group_by(rows.c.week)).all()}


def shortfall(session: orm.Session, query: PictureQuery) -> Shortfall:
    span = resolve_range(session, query)
    result = Shortfall(week=span[1] if span else None, as_at=query.at())
    if span is None:
        return result
    week_from, week = span
    areas = areas_in_scope(session, query)
    table = shortfall_rows(session, query, week - WEEK, week)
    found = revisions(session, query, week - WEEK, week)
    result.areas_expected = len(set.intersection(*expected_areas(session, query, CAPACITY_METRICS).values()))
    now = {r.area_code: r for r in table if r.week == week}
    before = {r.area_code: r.shortfall for r in table if r.week == week - WEEK}
    for code, name in zip(areas["code"], areas["name"], strict=True):
        row = now.get(code)
        if row is None:
            result.missing.append(name)
            continue
        change = row.shortfall - before[code] if code in before else None
        # Revised when a value behind the row or behind its change on last week has changed since.
        result.rows.append(ShortfallRow(code, name, *(int(getattr(row, c)) for c in COLUMNS), change,
                                        found.touches(SHORTFALL_METRICS, week - WEEK, week, [code])))
    result.rows.sort(key=lambda r: (-r.shortfall, -r.demand, r.area_name))
    # Each week's total kept under the change that could alter it: a return for the newest week sums one week.
    key = ("shortfall trend", live_from_summary(query), tuple(areas["id"].tolist()))
    by_week = per_week(session, key, week_from, week, query.as_at,
                       lambda lo, hi: shortfall_by_week(session, query, lo, hi))
    result.trend = [(w, *by_week.get(w, (None, 0))) for w in weeks_between(week_from, week)]
    return result


def shortfall_sentence(result: Shortfall) -> str:
    """The shortfall panel's sentence, the same on screen and in a briefing pack (rows with both figures)."""
    if result.week is None:
        return "No returns have been received yet."
    if not result.rows:
        return (f"No area has both a TA capacity and a households-in-TA figure for the week beginning "
                f"{dates.day(result.week)}: the shortfall cannot be worked out (a missing return is not a zero).")
    short = [r for r in result.rows if r.shortfall > 0]
    sentence = (f"Week beginning {dates.day(result.week)}: a shortfall of {result.total:,} places across "
                f"{len(short)} of {len(result.rows)} areas reporting." if short else
                f"Week beginning {dates.day(result.week)}: no area is short of places ({len(result.rows)} reporting).")
    if result.coverage:
        sentence += f" The total covers {result.coverage}: the others sent no capacity or TA figure."
    return sentence


def shortfall_table(result: Shortfall) -> pd.DataFrame:
    rows = [{"Area": r.area_name, "Code": r.area_code, "No fixed abode": r.nfa, "Awaiting placement": r.awaiting,
             "Demand": r.demand, "TA capacity": r.capacity, "Households in TA": r.in_ta, "Spare places": r.spare,
             "Shortfall": r.shortfall, "Change on last week": r.change,
             "Revised since": "yes" if r.revised else ""} for r in result.rows]
    rows += [{"Area": name, "Shortfall": None, "Note": "no capacity or TA figure for this week"}
             for name in result.missing]
    if result.rows:
        rows.append({"Area": "Total", "Shortfall": result.total, "Revised since": "yes" if any(
            r.revised for r in result.rows) else "", "Note": f"covers {result.coverage}" if result.coverage else ""})
    counts = ["No fixed abode", "Awaiting placement", "Demand", "TA capacity", "Households in TA", "Spare places",
              "Shortfall", "Change on last week"]
    return whole_numbers(pd.DataFrame(rows, columns=["Area", "Code", *counts, "Revised since", "Note"]), *counts)
