"""Panel 4, service pressure: a service x area RAG matrix from each metric's configured thresholds.

The measure compared with a metric's thresholds is its value; or per 10,000 population (rag_basis "per_10k");
or its value divided by another metric's value for the same area and week (rag_basis a metric key, e.g.
referrals / capacity). At or above rag_red is red (R), at or above rag_amber amber (A), otherwise green (G).
A cell with no figure, or whose basis is missing, has no RAG and says why; it never counts as green.

The trend of red cells covers the chosen weeks up to the last TREND_WEEKS of them: RAG is about now, and
rating every service in every area for years of weeks made the panel slow for nothing anyone reads.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import LRF, Area
from maic.picture.core import (
    WEEK,
    PictureQuery,
    _kept,
    areas_in_scope,
    figures,
    live_from_summary,
    metric_catalogue,
    metric_ids,
    resolve_range,
    revisions,
    source,
)
from maic.picture.export import whole_numbers
from maic.picture.weekly import per_week
from maic.rounding import fixed, percent_text
from maic.weeks import weeks_between

PER_10K = "per_10k"
TREND_WEEKS = 26
RAG_WORDS = {"R": "red", "A": "amber", "G": "green"}


@dataclass(frozen=True)
class RagMetric:
    key: str
    label: str
    basis: str | None
    amber: float | None
    red: float | None

    def threshold_text(self) -> str:
        ratio = self.basis not in (None, PER_10K)

        def fmt(x: float) -> str:
            return percent_text(x) if ratio else f"{x:g}"

        parts = [f"{word} from {fmt(x)}" for word, x in (("amber", self.amber), ("red", self.red)) if x is not None]
        if self.basis == PER_10K:
            parts.append("per 10,000 people")
        elif ratio:
            parts.append(f"of {self.basis.replace('_', ' ')}")
        return ", ".join(parts[:-1]) + " " + parts[-1] if self.basis else ", ".join(parts)


@dataclass(frozen=True)
class RagCell:
    metric: str
    label: str
    area_code: str
    area_name: str
    value: int | None
    measure: float | None  # what is compared with the thresholds
    rag: str | None  # "R", "A", "G"; None: no figure or no basis
    previous_rag: str | None
    note: str = ""
    revised: bool = False


@dataclass
class Pressure:
    week: dt.date | None
    as_at: dt.datetime
    metrics: list[RagMetric] = field(default_factory=list)
    areas: list[tuple[str, str]] = field(default_factory=list)  # (code, name), columns of the matrix
    area_lrfs: list[str] = field(default_factory=list)  # the LRF name of each column: home first, then by LRF
    cells: list[RagCell] = field(default_factory=list)
    red_trend: list[tuple[dt.date, int | None]] = field(default_factory=list)

    @property
    def red(self) -> list[RagCell]:
        return [c for c in self.cells if c.rag == "R"]

    def cell(self, metric: str, area_code: str) -> RagCell | None:
        return next((c for c in self.cells if c.metric == metric and c.area_code == area_code), None)


def rag_metrics(session: orm.Session) -> list[RagMetric]:
    catalogue = metric_catalogue(session)
    rated = catalogue[catalogue["rag_amber"].notna() | catalogue["rag_red"].notna()]
    return [RagMetric(r.key, r.label, r.rag_basis if isinstance(r.rag_basis, str) else None,
                      None if pd.isna(r.rag_amber) else float(r.rag_amber),
                      None if pd.isna(r.rag_red) else float(r.rag_red)) for r in rated.itertuples(index=False)]


class Rated(NamedTuple):
    """One (metric, area, week) figure rated: what a RAG cell shows."""

    metric: str
    area_code: str
    week: dt.date
    value: int
    measure: float  # NaN: no measure (no population figure, no basis figure)
    rag: str | None  # "R", "A", "G"; None with no measure
    note: str


RATED_COLUMNS = ["metric", "area_code", "week", "value", "measure", "rag", "note"]


def rate(found: dict[tuple[str, str, dt.date], int], metrics: list[RagMetric],
         population: dict[str, int | None]) -> list[Rated]:
    """Every figure of a rated metric, rated: `found` is core.figures, (metric, area code, week) -> figure.

    The measure is the figure, or per 10,000 people (multiplied first, then one division: the same double the
    database computes for the red trend), or the figure over its basis metric's figure for the same area and week.
    Plain Python over a few thousand figures: pandas costs per operation, and the rating took a dozen of them.
    """
    by_key = {m.key: m for m in metrics}
    out: list[Rated] = []
    for (key, code, week), figure in found.items():
        m = by_key.get(key)
        if m is None:
            continue
        value, note = float(figure), ""
        if m.basis is None:
            measure = value
        elif m.basis == PER_10K:
            pop = population.get(code) or math.nan
            measure = value * 10_000 / pop
            if math.isnan(pop):
                note = "no population figure"
        else:
            basis = found.get((m.basis, code, week))
            if basis is None:
                measure, note = math.nan, f"no {m.basis.replace('_', ' ')} figure"
            elif basis > 0:
                measure = value / float(basis)
            elif basis == 0 and value > 0:
                measure = math.inf  # demand with no capacity at all is as red as it gets
            elif basis == 0 and value == 0:
                measure = 0.0  # nothing asked of nothing
            else:
                measure = math.nan
        rag = None
        if m.amber is not None and measure >= m.amber:
            rag = "A"
        if m.red is not None and measure >= m.red:
            rag = "R"
        if rag is None and not math.isnan(measure):
            rag = "G"
        out.append(Rated(key, code, week, figure, measure, rag, note))
    return out


def rag_frame(wide: pd.DataFrame, metrics: list[RagMetric], population: dict[str, int | None]) -> pd.DataFrame:
    """rate() over core.aggregate by area and week (the metrics side by side): one row per (metric, area, week)
    with a figure, columns RATED_COLUMNS."""
    keys = [m.key for m in metrics] + [m.basis for m in metrics if m.basis not in (None, PER_10K)]
    found: dict[tuple[str, str, dt.date], int] = {}
    for key in dict.fromkeys(keys):
        if key in wide.columns:
            for code, week, figure in zip(wide["area_code"], wide["week"], wide[key], strict=True):
                if not pd.isna(figure):
                    found[(key, code, week)] = int(figure)
    return pd.DataFrame(rate(found, metrics, population), columns=RATED_COLUMNS)


def rated_keys(metrics: list[RagMetric]) -> list[str]:
    """The metrics whose figures rating needs: the rated metrics and the metrics they are compared with."""
    return sorted({m.key for m in metrics} | {m.basis for m in metrics if m.basis not in (None, PER_10K)})


def rated_weeks(session: orm.Session, query: PictureQuery, metrics: list[RagMetric], areas: pd.DataFrame,
                week: dt.date, found: dict[tuple[str, str, dt.date], int] | None = None) -> list[Rated]:
    """rate() for the week and the week before: the two weeks a cell shows. The trend's red counts over up to
    26 weeks come from the database (red_counts), not from rating every service in every area here.

    found: core.figures for these two weeks over at least rated_keys(metrics), when the caller read them with
    figures of its own (the headlines, in one query); rate() reads only the keys it needs."""
    population = {c: (None if pd.isna(p) else int(p)) for c, p in zip(areas["code"], areas["population"], strict=True)}
    if found is None:
        found = figures(session, query, rated_keys(metrics), week - WEEK, week)
    return rate(found, metrics, population)


def pressure(session: orm.Session, query: PictureQuery) -> Pressure:
    span = resolve_range(session, query)
    result = Pressure(week=span[1] if span else None, as_at=query.at(), metrics=rag_metrics(session))
    if span is None:
        return result
    week_from, week = span
    areas = areas_in_scope(session, query)
    lrf_names = _kept(session, ("lrf names",), lambda: dict(session.execute(sa.select(LRF.code, LRF.name)).all()))
    areas["lrf_name"] = areas["lrf"].map(lrf_names)
    # Grouped by LRF (home first), so that fifty-odd columns read as a few named blocks.
    areas = areas.sort_values(["is_home", "lrf_name", "name"], ascending=[False, True, True], kind="stable")
    result.areas = list(zip(areas["code"], areas["name"], strict=True))
    result.area_lrfs = areas["lrf_name"].tolist()
    week_from = max(week_from, week - (TREND_WEEKS - 1) * WEEK)
    rated = rated_weeks(session, query, result.metrics, areas, week)
    found = revisions(session, query, week - WEEK, week)
    by_metric = {m.key: m for m in result.metrics}
    now = {(r.metric, r.area_code): r for r in rated if r.week == week}
    before = {(r.metric, r.area_code): r.rag for r in rated if r.week == week - WEEK}
    for m in result.metrics:
        for code, name in result.areas:
            row = now.get((m.key, code))
            # This week's RAG and last week's are both shown: a revision to either week marks the cell.
            touched = bool(found) and found.touches([m.key, by_metric[m.key].basis or ""], week - WEEK, week, [code])
            if row is None:
                result.cells.append(RagCell(m.key, m.label, code, name, None, None, None, before.get((m.key, code)),
                                            "no return", touched))
                continue
            measure = None if math.isnan(row.measure) else row.measure
            result.cells.append(RagCell(m.key, m.label, code, name, row.value, measure, row.rag,
                                        before.get((m.key, code)), row.note, touched))
    area_ids = areas["id"].tolist()

    def counted(lo: dt.date, hi: dt.date) -> dict[dt.date, int]:
        weeks_with, reds = red_counts(session, query, result.metrics, area_ids, lo, hi)
        return {w: int(reds.get(w, 0)) for w in weeks_with}

    # Each week's count kept under the change that could alter it: a return for the newest week counts one week.
    key = ("red trend", live_from_summary(query), tuple(result.metrics),
           tuple(zip(area_ids, areas["population"].map(lambda p: None if pd.isna(p) else int(p)), strict=True)))
    reds = per_week(session, key, week_from, week, query.as_at, counted)
    result.red_trend = [(w, reds.get(w)) for w in weeks_between(week_from, week)]
    return result


def red_counts(session: orm.Session, query: PictureQuery, metrics: list[RagMetric], area_ids: list[int],
               week_from: dt.date, week_to: dt.date) -> tuple[set[dt.date], dict[dt.date, int]]:
    """(weeks with any rated figure, week -> cells at red) over the weeks given, counted in SQL by the rule of
    rag_frame (measure >= red), so that a long trend over every service in every area never leaves the database.

    One pass over the rated figures, grouped by week: each figure's measure is its value, its value per 10,000
    of its area's population, or its value divided by another metric's value in the same area and week (a share
    of capacity; demand with no capacity at all is red, nothing of nothing is 0), with the same double
    arithmetic as the pandas rating.
    """
    bases = sorted({m.basis for m in metrics if m.basis not in (None, PER_10K)})
    ids = metric_ids(session, [m.key for m in metrics] + bases)
    rated = [m for m in metrics if m.key in ids]
    if not rated or not area_ids:
        return set(), {}
    src = source(query)
    value = sa.cast(src.value, sa.Float)

    def red_of(group: list[RagMetric]):
        """The group's red threshold of each row: one branch per distinct threshold, not per metric (evaluated
        for every row read)."""
        by_red: dict[float, list[int]] = {}
        for m in group:
            by_red.setdefault(m.red, []).append(ids[m.key])
        return sa.case(*((src.metric_id.in_(group_ids), sa.literal(red, sa.Float))
                         for red, group_ids in by_red.items()))

    reddened = [m for m in rated if m.red is not None]
    plain = [m for m in reddened if m.basis is None]
    per_10k = [m for m in reddened if m.basis == PER_10K]
    ratio = [m for m in reddened if m.basis not in (None, PER_10K) and m.basis in ids]
    stmt = sa.select(src.week)
    rules = []
    if plain:
        rules.append((src.metric_id.in_([ids[m.key] for m in plain]), value >= red_of(plain)))
    if per_10k:
        stmt = stmt.outerjoin(Area, Area.id == src.area_id)
        rules.append((src.metric_id.in_([ids[m.key] for m in per_10k]), sa.and_(
            Area.population > 0,
            sa.cast(src.value * 10_000, sa.Float) / sa.cast(Area.population, sa.Float) >= red_of(per_10k))))
    if ratio:
        other = source(query, alias=True)
        basis_id = sa.case(*((src.metric_id == ids[m.key], sa.literal(ids[m.basis])) for m in ratio))
        # The bases' ids and the weeks asked for, though implied by the join, restrict the joined side on its own:
        # without them PostgreSQL hashed every current value of every metric and week (half the panel's time).
        stmt = stmt.outerjoin(other.table, sa.and_(other.metric_id == basis_id, other.area_id == src.area_id,
                                                   other.week == src.week, other.condition,
                                                   other.metric_id.in_(sorted({ids[m.basis] for m in ratio})),
                                                   other.week.between(week_from, week_to)))
        red = red_of(ratio)
        rules.append((src.metric_id.in_([ids[m.key] for m in ratio]), sa.or_(
            sa.and_(other.value > 0, value / sa.cast(other.value, sa.Float) >= red),
            sa.and_(other.value == 0, src.value > 0),
            sa.and_(other.value == 0, src.value == 0, red <= 0))))
    is_red = sa.case(*((sa.and_(which, rule), 1) for which, rule in rules), else_=0) if rules else sa.literal(0)
    rows = session.execute(stmt.add_columns(sa.func.sum(is_red))
                           .where(src.condition, src.week.between(week_from, week_to), src.area_id.in_(area_ids),
                                  src.metric_id.in_([ids[m.key] for m in rated]))
                           .group_by(src.week)).all()
    return {_week(w) for w, _n in rows}, {_week(w): int(n) for w, n in rows if n}


def _week(value: object) -> dt.date:
    """A week read back through a union arrives as the database gives it: SQLite's text, PostgreSQL's date."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def services_at_red(session: orm.Session, query: PictureQuery, week: dt.date) -> tuple[int | None, int | None]:
    """(red cells in the week, red cells the week before); None for a week with no rated figure at all."""
    result = pressure(session, replace(query, week_from=week - WEEK, week_to=week))
    trend = dict(result.red_trend)
    return trend.get(week), trend.get(week - WEEK)


def measure_text(cell: RagCell, metric: RagMetric) -> str:
    if cell.measure is None:
        return ""
    if math.isinf(cell.measure):
        return "no capacity"
    if metric.basis is None:
        return f"{cell.measure:g}"
    if metric.basis == PER_10K:
        return f"{fixed(cell.measure, 2)} per 10,000"
    return f"{percent_text(cell.measure)} of {metric.basis.replace('_', ' ')}"


def pressure_table(result: Pressure) -> pd.DataFrame:
    by_key = {m.key: m for m in result.metrics}
    rows = [{"Service": c.label, "Metric": c.metric, "Area": c.area_name, "Code": c.area_code, "Value": c.value,
             "Measure": measure_text(c, by_key[c.metric]), "RAG": RAG_WORDS.get(c.rag or "", "none"),
             "Last week": RAG_WORDS.get(c.previous_rag or "", "none"), "Thresholds": by_key[c.metric].threshold_text(),
             "Note": c.note, "Revised since": "yes" if c.revised else ""} for c in result.cells]
    return whole_numbers(pd.DataFrame(rows, columns=["Service", "Metric", "Area", "Code", "Value", "Measure", "RAG",
                                                     "Last week", "Thresholds", "Note", "Revised since"]), "Value")
