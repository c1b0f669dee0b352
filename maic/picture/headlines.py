"""Panel 1, headlines: released this week and to date, of whom NFA, households in TA, shortfall, services at red."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import Incident
from maic.picture.core import (
    WEEK,
    PictureQuery,
    aggregate,
    changed_since,
    latest_week,
    returns_completeness,
)
from maic.picture.pressure import services_at_red
from maic.picture.shortfall import shortfall_rows


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: int | None
    change: int | None
    unit: str
    note: str = ""
    revised: bool = False  # a value behind it has changed since the as-at time


@dataclass
class Headlines:
    week: dt.date | None
    as_at: dt.datetime
    tiles: list[Tile] = field(default_factory=list)
    returns_in: int = 0
    returns_due: int = 0


HEADLINE_METRICS = ["releases_total", "releases_nfa", "households_in_ta", "ta_capacity",
                    "referrals_awaiting_placement"]


def headlines(session: orm.Session, query: PictureQuery) -> Headlines:
    at = query.at()
    week = query.week_to or latest_week(session, query)
    result = Headlines(week=week, as_at=at)
    if week is None:
        return result
    incident = session.scalar(sa.select(Incident).order_by(Incident.start))
    start = incident.start if incident else week
    prev = week - WEEK
    wide = aggregate(session, query, HEADLINE_METRICS, prev, week)

    def total(metric: str, when: dt.date) -> int | None:
        """The week's sum over the areas in scope; None when no area has a figure (not zero)."""
        known = wide.loc[wide["week"] == when, metric].dropna() if metric in wide else []
        return int(known.sum()) if len(known) else None

    def change(now: int | None, before: int | None) -> int | None:
        return None if now is None or before is None else now - before

    released, released_prev = total("releases_total", week), total("releases_total", prev)
    to_date_row = aggregate(session, query, ["releases_total"], min(start, week), week, by=()).iloc[0]
    to_date = int(to_date_row["releases_total"]) if to_date_row["releases_total_n"] else None
    nfa = total("releases_nfa", week)
    nfa_note = f"{round(100 * nfa / released)}% of those released" if nfa is not None and released else ""
    in_ta = total("households_in_ta", week)
    table = shortfall_rows(session, query, prev, week)
    short_now, short_prev = table[table["week"] == week], table[table["week"] == prev]
    shortfall = int(short_now["shortfall"].sum()) if not short_now.empty else None
    shortfall_prev = int(short_prev["shortfall"].sum()) if not short_prev.empty else None
    short_note = (f"across {int((short_now['shortfall'] > 0).sum())} of {len(short_now)} areas"
                  if not short_now.empty else "no capacity figures for this week")

    result.tiles = [
        Tile("released_week", "Released this week", released, change(released, released_prev), "people"),
        Tile("released_to_date", "Released to date", to_date, released, "people",
             f"since {start:%d %b %Y}"),
        Tile("released_nfa", "Of whom no fixed abode", nfa, change(nfa, total("releases_nfa", prev)),
             "people", nfa_note),
        Tile("households_in_ta", "Households in temporary accommodation", in_ta,
             change(in_ta, total("households_in_ta", prev)), "households", "emergency or temporary, end of week"),
        Tile("shortfall", "Accommodation shortfall", shortfall, change(shortfall, shortfall_prev), "places",
             short_note),
    ]
    red, red_prev = services_at_red(session, query, week)
    result.tiles.append(Tile("services_red", "Services at red", red, change(red, red_prev), "cells",
                             "service and area pairs at or above their red threshold" if red is not None
                             else "no service figures for this week"))
    if query.as_at is not None:
        result.tiles = [replace(t, revised=_revised(session, query, t.key, start, week)) for t in result.tiles]
    result.returns_in, result.returns_due = returns_completeness(session, query, week)
    return result


def _revised(session: orm.Session, query: PictureQuery, key: str, start: dt.date, week: dt.date) -> bool:
    from maic.picture.drilldown import TILE_METRICS
    from maic.picture.pressure import PER_10K, rag_metrics

    if key == "services_red":
        rated = rag_metrics(session)
        metrics = sorted({m.key for m in rated} | {m.basis for m in rated if m.basis not in (None, PER_10K)})
    else:
        metrics = list(TILE_METRICS[key])
    week_from = min(start, week) if key == "released_to_date" else week
    return bool(changed_since(session, query, metrics, week_from, week))




def headlines_table(result: Headlines):
    """The tiles as a table (their export)."""
    import pandas as pd

    rows = [{"Figure": t.label, "Value": t.value, "Change on last week": t.change, "Unit": t.unit, "Note": t.note,
             "Week beginning": result.week.isoformat() if result.week else "",
             "Revised since": "yes" if t.revised else ""} for t in result.tiles]
    rows.append({"Figure": "Returns in", "Value": result.returns_in, "Unit": f"of {result.returns_due} due",
                 "Week beginning": result.week.isoformat() if result.week else ""})
    return pd.DataFrame(rows, columns=["Figure", "Value", "Change on last week", "Unit", "Note", "Week beginning",
                                       "Revised since"])
