"""Panel 3, accommodation shortfall: per area, demand against spare emergency/temporary places, and its trend.

demand = released with no fixed abode in the week + referrals awaiting placement at the end of the week;
spare = max(0, TA capacity - households in TA); shortfall = max(0, demand - spare). An area with no capacity
or TA figure for the week is listed as missing, never counted as zero. shortfall_frame is the one place the
rule is written; the headline tile uses it too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import orm

from maic.picture.core import WEEK, PictureQuery, aggregate, areas_in_scope, changed_since, resolve_range
from maic.weeks import weeks_between

SHORTFALL_METRICS = ["releases_nfa", "referrals_awaiting_placement", "ta_capacity", "households_in_ta"]


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

    @property
    def total(self) -> int | None:
        return sum(r.shortfall for r in self.rows) if self.rows else None


def shortfall_frame(wide: pd.DataFrame) -> pd.DataFrame:
    """Every (area, week) with both a capacity and a TA figure: nfa, awaiting, demand, capacity, in_ta, spare, shortfall.

    `wide` is core.aggregate of SHORTFALL_METRICS by area and week (the metrics side by side).
    """
    columns = ["area_code", "week", "nfa", "awaiting", "demand", "capacity", "in_ta", "spare", "shortfall"]
    if wide.empty or any(col not in wide.columns for col in ("ta_capacity", "households_in_ta")):
        return pd.DataFrame(columns=columns)
    wide = wide.dropna(subset=["ta_capacity", "households_in_ta"])
    out = pd.DataFrame({"area_code": wide["area_code"], "week": wide["week"]})
    out["nfa"] = wide["releases_nfa"].fillna(0) if "releases_nfa" in wide else 0
    out["awaiting"] = (wide["referrals_awaiting_placement"].fillna(0) if "referrals_awaiting_placement" in wide
                       else 0)
    out["demand"] = out["nfa"] + out["awaiting"]
    out["capacity"] = wide["ta_capacity"]
    out["in_ta"] = wide["households_in_ta"]
    out["spare"] = (out["capacity"] - out["in_ta"]).clip(lower=0)
    out["shortfall"] = (out["demand"] - out["spare"]).clip(lower=0)
    return out.astype({c: int for c in columns[2:]})[columns].reset_index(drop=True)


def shortfall_weeks(session: orm.Session, query: PictureQuery, week_from: dt.date, week_to: dt.date) -> pd.DataFrame:
    return shortfall_frame(aggregate(session, query, SHORTFALL_METRICS, week_from, week_to))


def shortfall(session: orm.Session, query: PictureQuery) -> Shortfall:
    span = resolve_range(session, query)
    result = Shortfall(week=span[1] if span else None, as_at=query.at())
    if span is None:
        return result
    week_from, week = span
    areas = areas_in_scope(session, query)
    table = shortfall_weeks(session, query, min(week_from, week - WEEK), week)
    revised = {a for _m, a, w in changed_since(session, query, SHORTFALL_METRICS, week, week)}
    now = {r.area_code: r for r in table[table["week"] == week].itertuples(index=False)}
    before = {r.area_code: r.shortfall for r in table[table["week"] == week - WEEK].itertuples(index=False)}
    for code, name in zip(areas["code"], areas["name"], strict=True):
        row = now.get(code)
        if row is None:
            result.missing.append(name)
            continue
        change = row.shortfall - before[code] if code in before else None
        result.rows.append(ShortfallRow(code, name, row.nfa, row.awaiting, row.demand, row.capacity, row.in_ta,
                                        row.spare, row.shortfall, change, code in revised))
    result.rows.sort(key=lambda r: (-r.shortfall, -r.demand, r.area_name))
    in_range = table[table["week"] >= week_from]
    by_week = {w: (int(total), int(n)) for w, total, n in
               in_range.groupby("week")["shortfall"].agg(["sum", "count"]).itertuples()}
    result.trend = [(w, *by_week.get(w, (None, 0))) for w in weeks_between(week_from, week)]
    return result


def shortfall_table(result: Shortfall) -> pd.DataFrame:
    rows = [{"Area": r.area_name, "Code": r.area_code, "No fixed abode": r.nfa, "Awaiting placement": r.awaiting,
             "Demand": r.demand, "TA capacity": r.capacity, "Households in TA": r.in_ta, "Spare places": r.spare,
             "Shortfall": r.shortfall, "Change on last week": r.change,
             "Revised since": "yes" if r.revised else ""} for r in result.rows]
    rows += [{"Area": name, "Shortfall": None, "Note": "no capacity or TA figure for this week"}
             for name in result.missing]
    return pd.DataFrame(rows, columns=["Area", "Code", "No fixed abode", "Awaiting placement", "Demand",
                                       "TA capacity", "Households in TA", "Spare places", "Shortfall",
                                       "Change on last week", "Revised since", "Note"])
