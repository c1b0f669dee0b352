"""Panel 2, releases: by area over the chosen weeks (count and rate per 10,000), and the weekly series split
by tranche and by accommodation status on release.

An area with no figure in the weeks chosen has no count (not zero); an area without a population has no rate,
and says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd
from sqlalchemy import orm

from maic.picture.core import (
    BY_AREA,
    BY_WEEK,
    PictureQuery,
    area_ids_in_scope,
    areas_in_scope,
    coverage_text,
    expected_areas,
    live_from_summary,
    resolve_range,
    revisions,
    sums,
    tranche_markers,
)
from maic.picture.export import whole_numbers
from maic.picture.weekly import per_week
from maic.rounding import round_half_up
from maic.weeks import weeks_between

RELEASE_METRICS = ["releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa"]


@dataclass(frozen=True)
class AreaReleases:
    code: str
    name: str
    lrf: str
    is_home: bool
    population: int | None
    count: int | None
    rate: float | None  # per 10,000 population
    weeks_reported: int
    note: str = ""
    revised: bool = False


@dataclass
class ReleasesByArea:
    week_from: dt.date | None
    week_to: dt.date | None
    as_at: dt.datetime
    areas: list[AreaReleases] = field(default_factory=list)

    @property
    def weeks(self) -> int:
        return len(weeks_between(self.week_from, self.week_to)) if self.week_from and self.week_to else 0


@dataclass(frozen=True)
class WeekReleases:
    week: dt.date
    total: int | None  # None: no release figure for the week (no return), never zero
    tranche1: int
    tranche2: int
    other: int
    nfa: int
    housed: int
    areas_reported: int
    revised: bool = False


@dataclass
class ReleaseSeries:
    as_at: dt.datetime
    weeks: list[WeekReleases] = field(default_factory=list)
    markers: list[tuple[dt.date, str]] = field(default_factory=list)
    areas_in_scope: int = 0
    areas_expected: int = 0  # areas that should send a release figure each week


def per_10k(count: int | None, population: int | None) -> float | None:
    if count is None or not population:
        return None
    return round_half_up(Fraction(count * 10_000, population), 2)


def releases_by_area(session: orm.Session, query: PictureQuery) -> ReleasesByArea:
    """People released into each area in scope over the query's weeks, with the rate per 10,000 people."""
    span = resolve_range(session, query)
    result = ReleasesByArea(week_from=span[0] if span else None, week_to=span[1] if span else None, as_at=query.at())
    if span is None:
        return result
    areas = areas_in_scope(session, query)
    by_area = sums(session, query, ["releases_total"], *span, by=BY_AREA).get("releases_total", {})
    found = revisions(session, query, *span)
    n_weeks = len(weeks_between(*span))
    for area in areas.itertuples(index=False):
        population = None if pd.isna(area.population) else int(area.population)
        count, reported = by_area.get(area.code, (None, 0))
        notes = []
        if count is None:
            notes.append("no release figures for these weeks")
        elif reported < n_weeks:
            notes.append(f"figures for {reported} of {n_weeks} weeks")
        if count is not None and not population:
            notes.append("no population figure: rate not computed")
        result.areas.append(AreaReleases(area.code, area.name, area.lrf, bool(area.is_home), population, count,
                                         per_10k(count, population), reported, "; ".join(notes),
                                         found.touches(["releases_total"], *span, [area.code])))
    return result


def release_series(session: orm.Session, query: PictureQuery) -> ReleaseSeries:
    """Weekly releases over the query's weeks: tranche one, tranche two, other; no fixed abode and housed."""
    result = ReleaseSeries(as_at=query.at(), markers=tranche_markers(session))
    span = resolve_range(session, query)
    if span is None:
        return result
    result.areas_in_scope = len(areas_in_scope(session, query))
    result.areas_expected = len(expected_areas(session, query, ["releases_total"])["releases_total"])

    def by_week(week_from: dt.date, week_to: dt.date) -> dict[dt.date, dict[str, tuple[int, int]]]:
        out: dict[dt.date, dict[str, tuple[int, int]]] = {}
        for metric, weeks in sums(session, query, RELEASE_METRICS, week_from, week_to, by=BY_WEEK).items():
            for week, value in weeks.items():
                out.setdefault(week, {})[metric] = value
        return out

    # Each week's sums kept under the change that could alter it: a return for the newest week sums one week.
    kept = per_week(session, ("release series", live_from_summary(query), tuple(area_ids_in_scope(session, query))),
                    *span, query.as_at, by_week)
    weekly = {metric: {w: sums_of[metric] for w, sums_of in kept.items() if metric in sums_of}
              for metric in RELEASE_METRICS}
    found = revisions(session, query, *span)
    revised_weeks = {w for w in weeks_between(*span) if found.touches(RELEASE_METRICS, w, w)}
    # A week with no figure for a metric is absent from its totals, not zero.
    totals = {metric: {w: total for w, (total, _n) in weekly.get(metric, {}).items()} for metric in RELEASE_METRICS}
    reported = {w: n for w, (_total, n) in weekly.get("releases_total", {}).items()}
    for week in weeks_between(*span):
        total = totals["releases_total"].get(week)
        t1 = totals["releases_tranche1"].get(week, 0)
        t2 = totals["releases_tranche2"].get(week, 0)
        nfa = totals["releases_nfa"].get(week, 0)
        if total is None:
            result.weeks.append(WeekReleases(week, None, 0, 0, 0, 0, 0, 0, week in revised_weeks))
            continue
        result.weeks.append(WeekReleases(week, total, t1, t2, max(0, total - t1 - t2), nfa, max(0, total - nfa),
                                         int(reported.get(week, 0)), week in revised_weeks))
    return result


def releases_table(result: ReleasesByArea) -> pd.DataFrame:
    """What the map shows, as a table: the map's text alternative and its export."""
    rows = [{"Area": a.name, "Code": a.code, "LRF": "home" if a.is_home else a.lrf,
             "Released": a.count, "Population": a.population, "Per 10,000": a.rate,
             "Weeks reported": a.weeks_reported, "Note": a.note, "Revised since": "yes" if a.revised else ""}
            for a in result.areas]
    return whole_numbers(pd.DataFrame(rows, columns=["Area", "Code", "LRF", "Released", "Population", "Per 10,000",
                                                     "Weeks reported", "Note", "Revised since"]),
                         "Released", "Population", "Weeks reported")


def series_table(result: ReleaseSeries) -> pd.DataFrame:
    rows = [{"Week beginning": w.week.isoformat(), "Released": w.total,
             "Tranche one": w.tranche1 if w.total is not None else None,
             "Tranche two": w.tranche2 if w.total is not None else None,
             "Other releases": w.other if w.total is not None else None,
             "No fixed abode": w.nfa if w.total is not None else None,
             "Housed": w.housed if w.total is not None else None,
             "Areas reporting": w.areas_reported, "Areas expected": result.areas_expected,
             "Covers": (coverage_text(w.areas_reported, result.areas_expected) or "all") if w.total is not None else "",
             "Revised since": "yes" if w.revised else ""}
            for w in result.weeks]
    counts = ["Released", "Tranche one", "Tranche two", "Other releases", "No fixed abode", "Housed",
              "Areas reporting", "Areas expected"]
    return whole_numbers(pd.DataFrame(rows, columns=["Week beginning", *counts, "Covers", "Revised since"]), *counts)
