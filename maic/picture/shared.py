"""The shared picture: what neighbouring LRFs see, in the shared view, its exports and the API alike.

Shareable metrics only, home-LRF areas only (we never re-share a neighbour's figures), no drill-down, and
every figure through maic.disclosure. Suppression is decided once on the whole table (every home area and
every week of the shared history, as at the query time) and each question gets a slice of it, so asking
for different week ranges or areas never gives two views that could be differenced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm

from maic import disclosure
from maic.errors import MaicError
from maic.models import Metric, utcnow
from maic.picture.core import PictureQuery, areas_in_scope, coverage_text, data_version, home_lrf, values
from maic.weeks import weeks_between

ALL_AREAS = "ALL"
WEEK = "week"          # the figure for the week
TO_DATE = "to_date"    # the sum of the weeks from the start of the shared history (flow metrics only)
PER_10K = "per_10k"    # the week's figure per 10,000 residents
MEASURES = (WEEK, TO_DATE, PER_10K)


@dataclass(frozen=True)
class SharedQuery:
    week_from: dt.date | None = None
    week_to: dt.date | None = None
    area_codes: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    as_at: dt.datetime | None = None


@dataclass(frozen=True)
class SharedMetric:
    key: str
    label: str
    unit: str
    aggregation: str
    description: str


@dataclass(frozen=True)
class SharedArea:
    code: str
    name: str
    population: int | None


@dataclass(frozen=True)
class SharedCell:
    metric: str
    area_code: str
    week: dt.date
    measure: str
    value: float | int | None  # None whenever the figure is suppressed, withheld or missing
    shown: str
    status: str
    # The figures behind the cell: areas for the all-areas row, weeks for an area's figure to date, area-weeks for
    # the all-areas figure to date, 1 for an area's week. A total with fewer than expected is partial, and says so.
    reporting: int = 1
    expected: int = 1

    @property
    def partial(self) -> bool:
        return self.status != "missing" and self.reporting < self.expected

    @property
    def covers(self) -> str:
        """"5 of 6 areas" on a partial total; "" otherwise."""
        if not self.partial:
            return ""
        unit = {(True, WEEK): "areas", (True, PER_10K): "areas", (True, TO_DATE): "area-weeks",
                (False, TO_DATE): "weeks"}.get((self.area_code == ALL_AREAS, self.measure), "figures")
        return coverage_text(self.reporting, self.expected, unit)


@dataclass
class SharedPicture:
    lrf_code: str
    lrf_name: str
    as_at: dt.datetime
    data_version: int
    threshold: int
    history_from: dt.date
    latest_week: dt.date | None
    week_from: dt.date | None
    week_to: dt.date | None
    metrics: list[SharedMetric] = field(default_factory=list)
    areas: list[SharedArea] = field(default_factory=list)
    cells: list[SharedCell] = field(default_factory=list)

    @property
    def weeks(self) -> list[dt.date]:
        return weeks_between(self.week_from, self.week_to) if self.week_from and self.week_to else []

    def index(self) -> dict[tuple[str, str, dt.date, str], SharedCell]:
        return {(c.metric, c.area_code, c.week, c.measure): c for c in self.cells}


def shareable_metrics(session: orm.Session) -> list[SharedMetric]:
    rows = session.scalars(sa.select(Metric).where(Metric.shareable.is_(True)).order_by(Metric.sort_order, Metric.key))
    return [SharedMetric(m.key, m.label, m.unit, m.aggregation, m.description) for m in rows]


def shared_areas(session: orm.Session) -> list[SharedArea]:
    frame = areas_in_scope(session, PictureQuery())
    return [SharedArea(r.code, r.name, None if r.population != r.population else int(r.population))
            for r in frame.itertuples()]


def check_as_at(as_at: dt.datetime | None, *, now: dt.datetime, history_days: int) -> dt.datetime:
    """Neighbours may look back only as far as the shared history allows, and never into the future."""
    if as_at is None:
        return now
    earliest = now - dt.timedelta(days=history_days)
    if as_at < earliest:
        raise MaicError(f"as_at {as_at:%Y-%m-%d %H:%M} is earlier than the shared history allows "
                        f"(from {earliest:%Y-%m-%d %H:%M} UTC, {history_days} days)")
    return min(as_at, now)


def shared_picture(session: orm.Session, query: SharedQuery, *, threshold: int, history_from: dt.date,
                   history_days: int, now: dt.datetime | None = None) -> SharedPicture:
    now = now or utcnow()
    as_at = check_as_at(query.as_at, now=now, history_days=history_days)
    home = home_lrf(session)
    metrics = shareable_metrics(session)
    areas = shared_areas(session)
    picture = SharedPicture(lrf_code=home.code if home else "", lrf_name=home.name if home else "",
                            as_at=as_at, data_version=data_version(session), threshold=threshold,
                            history_from=history_from, latest_week=None, week_from=None, week_to=None,
                            metrics=metrics, areas=areas)
    _check_choices(query, metrics, areas)
    frame = values(session, PictureQuery(as_at=as_at), [m.key for m in metrics], history_from, dt.date.max)
    if frame.empty:
        return picture
    picture.latest_week = max(frame["week"])
    weeks = weeks_between(history_from, picture.latest_week)
    picture.week_from = max(query.week_from or weeks[0], weeks[0])
    picture.week_to = min(query.week_to or weeks[-1], weeks[-1])
    if picture.week_from > picture.week_to:
        raise MaicError(f"week_from {picture.week_from} is after week_to {picture.week_to}")
    raw = {(r.metric, r.area_code, r.week): int(r.value) for r in frame.itertuples()}
    wanted_metrics = set(query.metrics) or {m.key for m in metrics}
    wanted_areas = set(query.area_codes) | {ALL_AREAS} if query.area_codes else None
    in_range = set(picture.weeks)
    for metric in metrics:
        if metric.key not in wanted_metrics:
            continue
        for cell in _metric_cells(metric, areas, weeks, raw, threshold):
            if cell.week in in_range and (wanted_areas is None or cell.area_code in wanted_areas):
                picture.cells.append(cell)
    return picture


def _check_choices(query: SharedQuery, metrics: list[SharedMetric], areas: list[SharedArea]) -> None:
    unknown_metrics = sorted(set(query.metrics) - {m.key for m in metrics})
    if unknown_metrics:
        raise MaicError(f"not a shared metric: {', '.join(unknown_metrics)}")
    unknown_areas = sorted(set(query.area_codes) - {a.code for a in areas} - {ALL_AREAS})
    if unknown_areas:
        raise MaicError(f"not a shared area: {', '.join(unknown_areas)}")


def _metric_cells(metric: SharedMetric, areas: list[SharedArea], weeks: list[dt.date],
                  raw: dict[tuple[str, str, dt.date], int], threshold: int) -> list[SharedCell]:
    """The whole table for one metric (every area, every week), protected as one."""
    table: dict[tuple[str, dt.date, str], int | None] = {}
    relations: list[disclosure.Relation] = []
    flow = metric.aggregation == "sum"
    codes = [a.code for a in areas]
    for i, week in enumerate(weeks):
        present = [c for c in codes if (metric.key, c, week) in raw]
        for code in codes:
            table[(code, week, WEEK)] = raw.get((metric.key, code, week))
        table[(ALL_AREAS, week, WEEK)] = sum(raw[(metric.key, c, week)] for c in present) if present else None
        relations.append(disclosure.Relation((ALL_AREAS, week, WEEK), tuple((c, week, WEEK) for c in codes)))
        if not flow:
            continue
        for code in [*codes, ALL_AREAS]:
            before = table.get((code, weeks[i - 1], TO_DATE)) if i else None
            now = table[(code, week, WEEK)]
            table[(code, week, TO_DATE)] = None if before is None and now is None else (before or 0) + (now or 0)
            parts = [(code, week, WEEK)] + ([(code, weeks[i - 1], TO_DATE)] if i else [])
            relations.append(disclosure.Relation((code, week, TO_DATE), tuple(parts)))
        relations.append(disclosure.Relation((ALL_AREAS, week, TO_DATE), tuple((c, week, TO_DATE) for c in codes)))
    protected = disclosure.protect(table, relations, threshold)
    population = {a.code: a.population for a in areas}
    # What each published figure is made of: (figures reporting, figures expected) and, for the all-areas row,
    # which areas; a total over fewer areas than expected is partial, never a quiet shortfall.
    reporting: dict[tuple[str, dt.date, str], tuple[int, int]] = {}
    present_by_week = {w: [c for c in codes if (metric.key, c, w) in raw] for w in weeks}
    for i, week in enumerate(weeks):
        reporting[(ALL_AREAS, week, WEEK)] = (len(present_by_week[week]), len(codes))
        for code in codes:
            reporting[(code, week, WEEK)] = (int(code in present_by_week[week]), 1)
            reporting[(code, week, TO_DATE)] = (sum(code in present_by_week[w] for w in weeks[:i + 1]), i + 1)
        reporting[(ALL_AREAS, week, TO_DATE)] = (sum(len(present_by_week[w]) for w in weeks[:i + 1]),
                                                 len(codes) * (i + 1))
    out = []
    for (code, week, measure), cell in protected.items():
        n, expected = reporting[(code, week, measure)]
        out.append(SharedCell(metric.key, code, week, measure, cell.value, cell.shown, cell.status.value, n, expected))
        if measure == WEEK:
            # The all-areas rate is per resident of the areas that reported, not of every area.
            people = (sum(population[c] or 0 for c in present_by_week[week]) or None) if code == ALL_AREAS \
                else population.get(code)
            rate, shown = disclosure.rate(cell, people, 10_000)
            status = cell.status.value if rate is None else disclosure.Status.VALUE.value
            out.append(SharedCell(metric.key, code, week, PER_10K, rate, shown, status, n, expected))
    out.sort(key=lambda c: (c.week, c.area_code == ALL_AREAS, c.area_code, MEASURES.index(c.measure)))
    return out
