"""Panel 1, headlines: released this week and to date, of whom NFA, households in TA, shortfall, services at red."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from sqlalchemy import orm

from maic import dates
from maic.picture.core import (
    WEEK,
    PictureQuery,
    Revisions,
    WeekTotal,
    areas_in_scope,
    coverage_text,
    expected_areas,
    figures,
    incident_start,
    latest_week,
    returns_completeness,
    revisions,
    totals,
    week_total,
)
from maic.picture.pressure import RagMetric, rag_metrics, rated_keys, rated_weeks
from maic.picture.shortfall import SHORTFALL_METRICS, shortfall_rows
from maic.rounding import percent


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: int | None
    change: int | None
    unit: str
    note: str = ""
    revised: bool = False  # a value behind it (this week's or last week's) has changed since the as-at time
    coverage: str = ""  # "5 of 6 areas" when the total lacks some; "" when every part is in
    change_note: str = ""  # what the change compares when it is not the two totals, or why there is none

    @property
    def partial(self) -> bool:
        return bool(self.coverage)


@dataclass
class Headlines:
    week: dt.date | None
    as_at: dt.datetime
    tiles: list[Tile] = field(default_factory=list)
    returns_in: int = 0
    returns_due: int = 0
    returns_from: str = "home agencies"  # whose returns "N of M returns in" counts


HEADLINE_METRICS = ["releases_total", "releases_nfa", "households_in_ta", "ta_capacity",
                    "referrals_awaiting_placement"]
UNITS = {"areas": ("area", "areas"), "pairs": ("service and area pair", "service and area pairs")}


def change_note(total: WeekTotal, unit: str = "areas") -> str:
    one, many = UNITS[unit]
    if total.value is not None and total.change is None and total.parts_before:
        return f"no {one} reported both weeks: no change shown"
    if total.like_for_like:
        return f"change over the {total.compared} {one if total.compared == 1 else many} reporting both weeks"
    return ""


def tile(key: str, label: str, total: WeekTotal, unit: str, note: str = "", parts: str = "areas") -> Tile:
    return Tile(key, label, total.value, total.change, unit, note,
                coverage=coverage_text(total.reporting, total.expected, parts) if total.value is not None else "",
                change_note=change_note(total, parts))


def headlines(session: orm.Session, query: PictureQuery) -> Headlines:
    at = query.at()
    week = query.week_to or latest_week(session, query)
    result = Headlines(week=week, as_at=at, returns_from="home agencies and neighbouring LRFs' cells"
                       if query.include_neighbours else "home agencies")
    if week is None:
        return result
    start = min(incident_start(session) or week, week)
    prev = week - WEEK
    # The two weeks' figures by (metric, week), then area: an area with no figure is absent (not zero). Read with
    # the rated services' figures for the "services at red" tile, in one query rather than two.
    metrics = rag_metrics(session)
    found = figures(session, query, sorted({*HEADLINE_METRICS, *rated_keys(metrics)}), prev, week)
    grouped: dict[tuple[str, dt.date], dict[str, int]] = {}
    for (metric, code, when), figure in found.items():
        if metric in HEADLINE_METRICS:
            grouped.setdefault((metric, when), {})[code] = figure
    expected = expected_areas(session, query, [*HEADLINE_METRICS, *SHORTFALL_METRICS])

    def by_area(metric: str, when: dt.date) -> dict[str, int]:
        return dict(grouped.get((metric, when), {}))

    def weekly(metric: str) -> WeekTotal:
        return week_total(by_area(metric, week), by_area(metric, prev), len(expected[metric]))

    released = weekly("releases_total")
    to_date, reported_area_weeks = totals(session, query, ["releases_total"], start, week).get("releases_total",
                                                                                            (None, 0))
    n_weeks = (week - start).days // 7 + 1
    expected_area_weeks = len(expected["releases_total"]) * n_weeks
    nfa = weekly("releases_nfa")
    # The share of the same areas' releases: an area with a release figure but no NFA figure is left out.
    nfa_now, released_now = by_area("releases_nfa", week), by_area("releases_total", week)
    both = nfa_now.keys() & released_now.keys()
    share = percent(sum(nfa_now[c] for c in both), sum(released_now[c] for c in both)) if both else None
    nfa_note = f"{share}% of this week's releases" if share is not None else ""
    in_ta = weekly("households_in_ta")
    table = shortfall_rows(session, query, prev, week)
    short_by_week: dict[dt.date, dict[str, int]] = {prev: {}, week: {}}
    for row in table:
        short_by_week[row.week][row.area_code] = int(row.shortfall)
    with_capacity = expected["ta_capacity"] & expected["households_in_ta"]
    short = week_total(short_by_week[week], short_by_week[prev], len(with_capacity))
    short_note = (f"short in {sum(1 for v in short_by_week[week].values() if v > 0)} of "
                  f"{len(short_by_week[week])} areas reporting" if short.value is not None
                  else "no capacity figures for this week")

    result.tiles = [
        tile("released_week", "Released this week", released, "people"),
        Tile("released_to_date", "Released to date", to_date, released.value, "people", f"since {dates.day(start)}",
             coverage=coverage_text(reported_area_weeks, max(expected_area_weeks, reported_area_weeks),
                                    "area-weeks") if to_date is not None else ""),
        tile("released_nfa", "Released this week with no fixed abode", nfa, "people", nfa_note),
        tile("households_in_ta", "Households in temporary accommodation", in_ta, "households",
             "emergency or temporary, end of week"),
        tile("shortfall", "Accommodation shortfall", short, "places", short_note),
    ]
    red = services_at_red_total(session, query, week, metrics, found)
    result.tiles.append(tile("services_red", "Services at red", red, "cells",
                             "service and area pairs at or above their red threshold" if red.value is not None
                             else "no service figures for this week", parts="pairs"))
    if query.as_at is not None:
        found = revisions(session, query, start, week)
        result.tiles = [replace(t, revised=_revised(session, found, t.key, start, week, query)) for t in result.tiles]
    result.returns_in, result.returns_due = returns_completeness(session, query, week)
    return result


def services_at_red_total(session: orm.Session, query: PictureQuery, week: dt.date,
                          metrics: list[RagMetric] | None = None,
                          found: dict[tuple[str, str, dt.date], int] | None = None) -> WeekTotal:
    """Service and area pairs at red this week; the change counts only pairs rated in both weeks. metrics, found:
    rag_metrics and the two weeks' figures (pressure.rated_weeks), when the caller has them already."""
    # The pressure panel's two rated weeks, without building its every cell: the same rating, a fraction of the cost.
    metrics = rag_metrics(session) if metrics is None else metrics
    rated = [r for r in rated_weeks(session, query, metrics, areas_in_scope(session, query), week, found) if r.rag]

    def reds(when: dt.date) -> dict[tuple[str, str], int]:
        return {(r.metric, r.area_code): int(r.rag == "R") for r in rated if r.week == when}

    expected = expected_areas(session, query, [m.key for m in metrics])
    return week_total(reds(week), reds(week - WEEK), sum(len(v) for v in expected.values()))


def _revised(session: orm.Session, found: Revisions, key: str, start: dt.date, week: dt.date,
             query: PictureQuery) -> bool:
    """A tile is revised when a value behind its figure or its change (this week or last) has changed since: the
    same metrics, areas and weeks its drill-down lists."""
    from maic.picture.drilldown import tile_figure

    figure = tile_figure(session, replace(query, week_to=week), key, key)
    if figure is None:
        return False
    week_from = start if key == "released_to_date" else week - WEEK
    return found.touches(figure.metrics, week_from, week, figure.area_codes or None)


def headlines_table(result: Headlines):
    """The tiles as a table (their export)."""
    import pandas as pd

    from maic.picture.export import whole_numbers

    rows = [{"Figure": t.label, "Value": t.value, "Change on last week": t.change, "Unit": t.unit,
             "Covers": t.coverage or "all", "Change compares": t.change_note, "Note": t.note,
             "Week beginning": result.week.isoformat() if result.week else "",
             "Revised since": "yes" if t.revised else ""} for t in result.tiles]
    rows.append({"Figure": "Returns in", "Value": result.returns_in,
                 "Unit": f"of {result.returns_due} due ({result.returns_from})",
                 "Week beginning": result.week.isoformat() if result.week else ""})
    return whole_numbers(pd.DataFrame(rows, columns=["Figure", "Value", "Change on last week", "Unit", "Covers",
                                                     "Change compares", "Note", "Week beginning", "Revised since"]),
                         "Value", "Change on last week")
