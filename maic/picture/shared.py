"""The shared picture: what neighbouring LRFs see, in the shared view, its exports and the API alike.

Shareable metrics only, home-LRF areas only (we never re-share a neighbour's figures), no drill-down, and
every figure through maic.disclosure. Suppression is decided once on the whole table (every home area and
every week of the shared history, as at the query time) and each question gets a slice of it, so asking
for different week ranges or areas never gives two views that could be differenced.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm

from maic import disclosure
from maic.errors import MaicError
from maic.models import Metric, MetricRelation, utcnow
from maic.picture.core import (
    PictureQuery,
    areas_in_scope,
    coverage_text,
    data_version,
    home_lrf,
    observation_history,
)
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
    if query.week_from and query.week_to and query.week_from > query.week_to:
        raise MaicError(f"week_from {query.week_from} is after week_to {query.week_to}")
    published = published_versions(session, metrics, areas, threshold=threshold, history_from=history_from,
                                   since=now - dt.timedelta(days=history_days))
    version = published.at(as_at)
    if version.latest_week is None:
        return picture
    picture.latest_week = version.latest_week
    weeks = weeks_between(history_from, picture.latest_week)
    picture.week_from = max(query.week_from or weeks[0], weeks[0])
    picture.week_to = min(query.week_to or weeks[-1], weeks[-1])
    if picture.week_from > picture.week_to:
        return picture  # weeks with no figures (yet, or as at then): an empty answer, not a wrong question
    wanted_metrics = set(query.metrics) or {m.key for m in metrics}
    wanted_areas = set(query.area_codes) | {ALL_AREAS} if query.area_codes else None
    picture.cells = [c for c in version.cells
                     if c.metric in wanted_metrics and picture.week_from <= c.week <= picture.week_to
                     and (wanted_areas is None or c.area_code in wanted_areas)]
    return picture


def _check_choices(query: SharedQuery, metrics: list[SharedMetric], areas: list[SharedArea]) -> None:
    unknown_metrics = sorted(set(query.metrics) - {m.key for m in metrics})
    if unknown_metrics:
        raise MaicError(f"not a shared metric: {', '.join(unknown_metrics)}")
    unknown_areas = sorted(set(query.area_codes) - {a.code for a in areas} - {ALL_AREAS})
    if unknown_areas:
        raise MaicError(f"not a shared area: {', '.join(unknown_areas)}")


# --- Every version a neighbour may ask for, protected together ---

@dataclass(frozen=True)
class LinkedTotal:
    """A shared total that is its shared parts plus a rest nobody publishes (a part not shared is in the rest)."""

    name: str
    total: str
    parts: tuple[str, ...]


def linked_totals(session: orm.Session, shared_keys: set[str]) -> list[LinkedTotal]:
    out = []
    for rel in session.scalars(sa.select(MetricRelation).order_by(MetricRelation.name)):
        parts = tuple(p for p in rel.part_keys if p in shared_keys)
        if rel.total_key in shared_keys and parts:
            out.append(LinkedTotal(rel.name, rel.total_key, parts))
    return out


@dataclass(frozen=True)
class PublishedVersion:
    since: dt.datetime
    latest_week: dt.date | None
    cells: list[SharedCell]


@dataclass(frozen=True)
class PublishedVersions:
    """The shared picture as it stood after each change within the shared history, oldest first."""

    versions: list[PublishedVersion]

    def at(self, as_at: dt.datetime) -> PublishedVersion:
        found = self.versions[0]
        for version in self.versions:
            if version.since > as_at:
                break
            found = version
        return found


_PUBLISHED_KEPT = 4
_published_cache: dict[tuple, PublishedVersions] = {}
_published_lock = threading.Lock()


def published_versions(session: orm.Session, metrics: list[SharedMetric], areas: list[SharedArea], *,
                       threshold: int, history_from: dt.date, since: dt.datetime) -> PublishedVersions:
    """Every version of the shared table since `since`, each protected jointly with all the others.

    A neighbour may ask for the picture as at any time in the shared history, so it can set versions side by
    side: suppression is decided over all of them at once (maic.disclosure.protect_versions). Kept per data
    version and day: the history starts at midnight before `since`, which only adds versions (more
    protection, never less) and lets one computation serve the whole day.
    """
    start = dt.datetime.combine(since.date(), dt.time())
    links = linked_totals(session, {m.key for m in metrics})
    # The database is part of the key: two databases (tests, a restore beside the live one) can share a version.
    key = (str(session.get_bind().url), data_version(session), start, threshold, history_from, tuple(metrics),
           tuple(areas), tuple(links))
    # One computation at a time: requests arriving together after a new return wait for it, not redo it.
    with _published_lock:
        kept = _published_cache.get(key)
        if kept is not None:
            return kept
        codes = tuple(a.code for a in areas)
        times, raws = observation_history(session, [m.key for m in metrics], codes, history_from, start)
        published = PublishedVersions(_protect_history(metrics, links, areas, history_from, times, raws,
                                                       threshold))
        _published_cache[key] = published
        while len(_published_cache) > _PUBLISHED_KEPT:
            _published_cache.pop(next(iter(_published_cache)))
        return published


def _protect_history(metrics: list[SharedMetric], links: list[LinkedTotal], areas: list[SharedArea],
                     history_from: dt.date, times: list[dt.datetime],
                     raws: list[dict[tuple[str, str, dt.date], int]], threshold: int) -> list[PublishedVersion]:
    latest = [max((w for _m, _c, w in raw), default=None) for raw in raws]
    newest = max((w for w in latest if w is not None), default=None)
    weeks = weeks_between(history_from, newest) if newest else []
    groups = linked_groups(metrics, links)
    group_of = {m.key: n for n, group in enumerate(groups) for m in group}
    # Each version's figures split by group: a group's state in a version is these and the weeks shown.
    split: list[list[dict[tuple[str, str, dt.date], int]]] = []
    for raw in raws:
        parts: list[dict[tuple[str, str, dt.date], int]] = [{} for _ in groups]
        for key, value in raw.items():
            if key[0] in group_of:  # a figure of a metric not shared is in no table
                parts[group_of[key[0]]][key] = value
        split.append(parts)
    by_metric: list[dict[str, list[SharedCell]]] = [{} for _ in raws]
    for n, group in enumerate(groups):
        history = _group_history(group, links, areas, weeks, [parts[n] for parts in split], latest, threshold,
                                 keep=_GROUP_HISTORIES_PER_GROUP * len(groups))
        for i, cells in enumerate(history):
            by_metric[i].update(cells)
    # Each group's cells come sorted by metric, week, area and measure: the versions' cells, metric by metric
    # in the metrics' order, are sorted the same.
    cells = [[c for m in metrics for c in version.get(m.key, ())] for version in by_metric]
    return [PublishedVersion(t, w, c) for t, w, c in zip(times, latest, cells, strict=True)]


# Each linked-metric group's history protected, kept by everything its protection reads. A return touches
# some metrics, so most groups' histories are the same at the next data version: only the groups it changed
# are protected again. Per process, across data versions and databases (the key is the content, not where
# it came from); the least recently used go first, beyond three per group (the demo's nine groups' histories
# take about 8 MB).
_GROUP_HISTORIES_PER_GROUP = 3
_group_histories: dict[tuple, dict[tuple, dict[str, list[SharedCell]]]] = {}
_group_histories_lock = threading.Lock()


def _group_history(group: list[SharedMetric], links: list[LinkedTotal], areas: list[SharedArea],
                   weeks: list[dt.date], raws: list[dict[tuple[str, str, dt.date], int]],
                   latest: list[dt.date | None], threshold: int, keep: int) -> list[dict[str, list[SharedCell]]]:
    """One group's cells in every version, by metric and sorted (see _protect_history): what _group_cells
    gives for every version, computed for the group's distinct states only and kept.

    Exact because the versions of one state are the same table with the same relations, and protecting a
    table together with a copy of itself adds no unknown and no relation (disclosure.protect_versions names a
    cell by its distinct values and drops repeated relations): the distinct states protected together are the
    very joint table that every version protected together is. One state in several versions is still
    protected as versions (twice), as the history protected it."""
    states = []
    for raw, newest in zip(raws, latest, strict=True):
        shown = tuple(w for w in weeks if newest is not None and w <= newest)
        states.append((shown, frozenset(raw.items())))
    distinct = list(dict.fromkeys(states))
    together = len(raws) > 1
    group_links = tuple(link for link in links if link.total in {m.key for m in group})
    key = (tuple(group), group_links, tuple(areas), threshold, together, tuple(distinct))
    with _group_histories_lock:
        kept = _group_histories.pop(key, None)
        if kept is not None:
            _group_histories[key] = kept  # now the most recently used
    if kept is None:
        first = {state: i for i, state in reversed(list(enumerate(states)))}
        chosen = [first[state] for state in distinct]
        if together and len(chosen) == 1:
            chosen *= 2
        computed = _group_cells(group, list(group_links), areas, weeks, [raws[i] for i in chosen],
                                [latest[i] for i in chosen], threshold)
        kept = {state: _sorted_by_metric(cells, group) for state, cells in zip(distinct, computed, strict=False)}
        with _group_histories_lock:
            _group_histories[key] = kept
            while len(_group_histories) > keep:
                _group_histories.pop(next(iter(_group_histories)))
    return [kept[state] for state in states]


def _sorted_by_metric(cells: list[SharedCell], group: list[SharedMetric]) -> dict[str, list[SharedCell]]:
    out: dict[str, list[SharedCell]] = {m.key: [] for m in group}
    for cell in sorted(cells, key=lambda c: (c.week, c.area_code == ALL_AREAS, c.area_code,
                                             MEASURES.index(c.measure))):
        out[cell.metric].append(cell)
    return out


def linked_groups(metrics: list[SharedMetric], links: list[LinkedTotal]) -> list[list[SharedMetric]]:
    """Metrics joined by linked totals, protected as one table; every other metric alone."""
    group_of = {m.key: {m.key} for m in metrics}
    for link in links:
        merged = set().union(*(group_of[k] for k in (link.total, *link.parts)))
        for k in merged:
            group_of[k] = merged
    seen: list[set[str]] = []
    for m in metrics:
        if not any(group_of[m.key] is g for g in seen):
            seen.append(group_of[m.key])
    return [[m for m in metrics if m.key in g] for g in seen]


def _rest_key(link: LinkedTotal) -> str:
    return f"rest of {link.name}"


def _group_cells(group: list[SharedMetric], links: list[LinkedTotal], areas: list[SharedArea],
                 weeks: list[dt.date], raws: list[dict[tuple[str, str, dt.date], int]],
                 latest: list[dt.date | None], threshold: int) -> list[list[SharedCell]]:
    """One group's cells in every version: its tables built per version, then protected together."""
    keys = {m.key for m in group}
    group_links = [link for link in links if link.total in keys]
    tables, relations = [], []
    for raw, newest in zip(raws, latest, strict=True):
        shown_weeks = [w for w in weeks if newest is not None and w <= newest]
        table: dict[tuple[str, str, dt.date, str], int | None] = {}
        rels: list[disclosure.Relation] = []
        for metric in group:
            _metric_table(metric, [a.code for a in areas], shown_weeks, raw, table, rels)
        for link in group_links:
            _rest_table(link, [a.code for a in areas], shown_weeks, table, rels)
        tables.append(table)
        relations.append(rels)
    unpublished = {k for table in tables for k in table if k[0].startswith("rest of ")}
    protected = disclosure.protect_versions(tables, relations, threshold, unpublished)
    population = {a.code: a.population for a in areas}
    out = []
    for cells, raw, newest in zip(protected, raws, latest, strict=True):
        shown_weeks = [w for w in weeks if newest is not None and w <= newest]
        reporting = _reporting(group, [a.code for a in areas], shown_weeks, raw)
        version_cells = []
        for (metric_key, code, week, measure), cell in cells.items():
            if cell.status == disclosure.Status.UNPUBLISHED or (metric_key, code, week, measure) in unpublished:
                continue
            n, expected = reporting[(metric_key, code, week, measure)]
            version_cells.append(SharedCell(metric_key, code, week, measure, cell.value, cell.shown,
                                            cell.status.value, n, expected))
            if measure == WEEK:
                # The all-areas rate is per resident of the areas that reported, not of every area.
                people = (sum(population[c] or 0 for c in reporting.present(metric_key, week)) or None) \
                    if code == ALL_AREAS else population.get(code)
                rate, shown = disclosure.rate(cell, people, 10_000)
                status = cell.status.value if rate is None else disclosure.Status.VALUE.value
                version_cells.append(SharedCell(metric_key, code, week, PER_10K, rate, shown, status, n, expected))
        out.append(version_cells)
    return out


class _Reporting(dict):
    """(metric, area, week, measure) -> (figures reporting, figures expected), and who reported each week."""

    def __init__(self):
        super().__init__()
        self.present_by_week: dict[tuple[str, dt.date], list[str]] = {}

    def present(self, metric_key: str, week: dt.date) -> list[str]:
        return self.present_by_week[(metric_key, week)]


def _reporting(group: list[SharedMetric], codes: list[str], weeks: list[dt.date],
               raw: dict[tuple[str, str, dt.date], int]) -> _Reporting:
    """What each published figure is made of: areas for the all-areas row, weeks for an area's figure to date,
    area-weeks for the all-areas figure to date, 1 for an area's week. A total over fewer than expected is
    partial, never a quiet shortfall."""
    out = _Reporting()
    for metric in group:
        m = metric.key
        for week in weeks:
            out.present_by_week[(m, week)] = [c for c in codes if (m, c, week) in raw]
        for i, week in enumerate(weeks):
            present = out.present_by_week[(m, week)]
            out[(m, ALL_AREAS, week, WEEK)] = (len(present), len(codes))
            for code in codes:
                out[(m, code, week, WEEK)] = (int(code in present), 1)
                out[(m, code, week, TO_DATE)] = (sum(code in out.present_by_week[(m, w)] for w in weeks[:i + 1]), i + 1)
            out[(m, ALL_AREAS, week, TO_DATE)] = (sum(len(out.present_by_week[(m, w)]) for w in weeks[:i + 1]),
                                                  len(codes) * (i + 1))
    return out


def _metric_table(metric: SharedMetric, codes: list[str], weeks: list[dt.date],
                  raw: dict[tuple[str, str, dt.date], int], table: dict, relations: list) -> None:
    """One metric's cells (every area, the all-areas total, to date for flows) and the sums between them."""
    flow = metric.aggregation == "sum"
    m = metric.key
    for i, week in enumerate(weeks):
        present = [c for c in codes if (m, c, week) in raw]
        for code in codes:
            table[(m, code, week, WEEK)] = raw.get((m, code, week))
        table[(m, ALL_AREAS, week, WEEK)] = sum(raw[(m, c, week)] for c in present) if present else None
        relations.append(disclosure.Relation((m, ALL_AREAS, week, WEEK), tuple((m, c, week, WEEK) for c in codes)))
        if not flow:
            continue
        for code in [*codes, ALL_AREAS]:
            before = table.get((m, code, weeks[i - 1], TO_DATE)) if i else None
            now = table[(m, code, week, WEEK)]
            table[(m, code, week, TO_DATE)] = None if before is None and now is None else (before or 0) + (now or 0)
            parts = [(m, code, week, WEEK)] + ([(m, code, weeks[i - 1], TO_DATE)] if i else [])
            relations.append(disclosure.Relation((m, code, week, TO_DATE), tuple(parts)))
        relations.append(disclosure.Relation((m, ALL_AREAS, week, TO_DATE),
                                             tuple((m, c, week, TO_DATE) for c in codes)))


def _rest_table(link: LinkedTotal, codes: list[str], weeks: list[dt.date], table: dict, relations: list) -> None:
    """The unpublished rest of a linked total, wherever the total and all its parts are known, with the
    relation total = parts + rest that any reader of the reference data knows. Where a part is missing, or
    the figures do not add up (the return broke the rule), there is no rest and no relation to use."""
    rest = _rest_key(link)
    for week in weeks:
        for code in [*codes, ALL_AREAS]:
            for measure in (WEEK, TO_DATE):
                total = table.get((link.total, code, week, measure))
                parts = [table.get((p, code, week, measure)) for p in link.parts]
                value = None
                if total is not None and None not in parts and total - sum(parts) >= 0:
                    value = total - sum(parts)
                if (link.total, code, week, measure) not in table:
                    continue
                table[(rest, code, week, measure)] = value
                if value is not None:
                    relations.append(disclosure.Relation(
                        (link.total, code, week, measure),
                        (*((p, code, week, measure) for p in link.parts), (rest, code, week, measure))))


def _metric_cells(metric: SharedMetric, areas: list[SharedArea], weeks: list[dt.date],
                  raw: dict[tuple[str, str, dt.date], int], threshold: int) -> list[SharedCell]:
    """One metric's whole table in one version, protected on its own (what the property tests attack)."""
    return _group_cells([metric], [], areas, weeks, [raw], [weeks[-1] if weeks else None], threshold)[0]
