"""Building blocks of every picture query: the query shape, the as-at condition, scope and raw values.

The picture "as at T" uses only the observations with recorded_at <= T < superseded_at (or not
superseded), so a past picture is exact.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import (
    LRF,
    Agency,
    Area,
    CurrentCoverage,
    CurrentValue,
    DataVersion,
    Incident,
    IncidentMarker,
    Metric,
    Observation,
    agency_area,
    utcnow,
)
from maic.reference import NEIGHBOUR_KIND

WEEK = dt.timedelta(days=7)

# Reference reads (areas, metrics, who should report what) asked several times by every panel are read once, and
# kept in one of two places:
# - per process, under the data stamp (version, changed_at) the session read in this transaction, for sessions
#   that have not written in it: every change to what they read (reference loads, admin changes) moves the
#   stamp in the same transaction, so an entry kept under a stamp is what a fresh read at that stamp returns.
#   Only the newest stamp's entries are kept for each engine: a new stamp drops the old stamp's at once.
# - otherwise per session and transaction, in session.info: a writer (ingest, admin) may have changed the
#   reference in this very transaction, before its stamp moves or commits. Forgotten whenever the session
#   writes (flush, an ORM or Core statement that changes rows) or its transaction ends, so a session never reads
#   back a stale copy of its own or anyone else's committed change.
# A session that writes stops using the process's entries at once, for the rest of its transaction.
_KEPT = "maic.picture.kept"
_STAMPED = "maic.picture.stamped"  # (stamp, the process's entries under it) read in this transaction
_WROTE = "maic.picture.wrote"  # this session has written in its current transaction
Stamp = tuple[int, dt.datetime | None]
_BY_STAMP: weakref.WeakKeyDictionary[Any, tuple[Stamp, dict]] = weakref.WeakKeyDictionary()
_BY_STAMP_LOCK = threading.Lock()


def _kept(session: orm.Session, key: tuple, read):
    stamped = session.info.get(_STAMPED)
    kept = stamped[1] if stamped is not None else session.info.setdefault(_KEPT, {})
    if key not in kept:
        kept[key] = read()
    return kept[key]


def note_stamp(session: orm.Session, stamp: Stamp) -> None:
    """The data stamp this session's transaction has just read (data_stamp, or the user load reading it with the
    user): until the transaction ends or the session writes, data_stamp and data_version answer from it, and
    reference reads are kept per process under it."""
    if session.info.get(_WROTE) or session.new or session.dirty or session.deleted:
        return
    bind = session.get_bind()
    with _BY_STAMP_LOCK:
        entry = _BY_STAMP.get(bind)
        if entry is None or entry[0] != stamp:
            entry = _BY_STAMP[bind] = (stamp, {})
    session.info[_STAMPED] = entry


def _forget(session: orm.Session, *_args) -> None:
    session.info.pop(_KEPT, None)
    session.info.pop(_STAMPED, None)


def _wrote(session: orm.Session, *_args) -> None:
    _forget(session)
    session.info[_WROTE] = True


def _forget_on_write(state: orm.ORMExecuteState) -> None:
    if not state.is_select:
        _wrote(state.session)


def _transaction_ended(session: orm.Session, transaction: orm.SessionTransaction) -> None:
    _forget(session)
    if transaction.parent is None:  # a savepoint's end leaves its enclosing transaction's writes in place
        session.info.pop(_WROTE, None)


sa.event.listen(orm.Session, "after_flush", _wrote)
sa.event.listen(orm.Session, "after_transaction_end", _transaction_ended)
sa.event.listen(orm.Session, "do_orm_execute", _forget_on_write)


@dataclass(frozen=True)
class PictureQuery:
    """What a reader asks: a week (or range), which areas, home only or with neighbours, and as at when."""

    week_to: dt.date | None = None
    week_from: dt.date | None = None
    area_codes: tuple[str, ...] = ()
    include_neighbours: bool = False
    as_at: dt.datetime | None = None

    def at(self) -> dt.datetime:
        return self.as_at or utcnow()


def data_version(session: orm.Session) -> int:
    stamped = session.info.get(_STAMPED)
    if stamped is not None:
        return stamped[0][0]
    return session.scalar(sa.select(DataVersion.version).where(DataVersion.id == 1)) or 0


def data_stamp(session: orm.Session) -> Stamp:
    """The data version and when it changed, in one read: together they name one state of the data even where a
    version number repeats (a database restored, or built again, under the same URL), so answers kept outside
    the process (Redis outlives the workers) are keyed by both. Read once per transaction (see note_stamp)."""
    stamped = session.info.get(_STAMPED)
    if stamped is not None:
        return stamped[0]
    row = session.execute(sa.select(DataVersion.version, DataVersion.changed_at).where(DataVersion.id == 1)).first()
    stamp = (int(row[0]), row[1]) if row else (0, None)
    note_stamp(session, stamp)
    return stamp


def data_changed_at(session: orm.Session) -> dt.datetime | None:
    """When the figures last changed (naive UTC): a live picture is 'as at' this time."""
    stamped = session.info.get(_STAMPED)
    if stamped is not None:
        return stamped[0][1]
    return session.scalar(sa.select(DataVersion.changed_at).where(DataVersion.id == 1))


def home_lrf(session: orm.Session) -> LRF | None:
    return session.scalar(sa.select(LRF).where(LRF.is_home.is_(True)))


def visible_at(as_at: dt.datetime, rows=Observation):
    """The bitemporal condition: rows recorded by T and not yet superseded at T (`rows`: the observation table
    or an alias of it)."""
    return sa.and_(rows.recorded_at <= as_at, sa.or_(rows.superseded_at.is_(None), rows.superseded_at > as_at))


def visible(query: PictureQuery):
    """The rows in the picture the query asks for. Now, that is exactly the rows not superseded (nothing is
    recorded in the future), which the partial index on current rows answers; a past time takes the
    bitemporal condition."""
    return Observation.superseded_at.is_(None) if query.as_at is None else visible_at(query.as_at)


# The live picture reads its values from current_value, which the database keeps equal to the observations not
# superseded (migration 0009), and which agencies have a return in for a week from current_coverage (migration
# 0013), and which weeks have figures from current_coverage too (weeks_in); the newest week alone is still read
# from the observations' week index (one row, read backwards). False reads the bitemporal rows for now too: the
# benchmark's "old path", and the property tests that compare both.
LIVE_FROM_SUMMARY = True


@dataclass(frozen=True)
class Source:
    """Where a picture's values come from, with the same column names either way: the current values for the
    live picture, the observations visible at the time asked for a past one."""

    table: Any  # the mapped class or an alias of it
    condition: sa.ColumnElement[bool]

    @property
    def metric_id(self):
        return self.table.metric_id

    @property
    def area_id(self):
        return self.table.area_id

    @property
    def week(self):
        return self.table.week

    @property
    def value(self):
        return self.table.value

    @property
    def return_id(self):
        return self.table.return_id


def live_from_summary(query: PictureQuery) -> bool:
    """Whether this query reads the summaries the database keeps (current values, current coverage)."""
    return query.as_at is None and LIVE_FROM_SUMMARY


def source(query: PictureQuery, *, alias: bool = False) -> Source:
    """alias: a second, independent copy of the source, to join it to itself (a value beside its basis)."""
    if live_from_summary(query):
        return Source(orm.aliased(CurrentValue) if alias else CurrentValue, sa.true())
    if not alias:
        return Source(Observation, visible(query))
    rows = orm.aliased(Observation)
    return Source(rows, rows.superseded_at.is_(None) if query.as_at is None else visible_at(query.as_at, rows))


def areas_in_scope(session: orm.Session, query: PictureQuery) -> pd.DataFrame:
    """The areas in scope, home first, then by name. A copy: callers add columns to it."""
    return _kept(session, ("areas", query.include_neighbours, query.area_codes),
                 lambda: _areas_in_scope(session, query)).copy()


def _areas_in_scope(session: orm.Session, query: PictureQuery) -> pd.DataFrame:
    stmt = sa.select(Area.id, Area.code, Area.name, Area.population, LRF.code.label("lrf"), LRF.is_home).join(LRF)
    if not query.include_neighbours:
        stmt = stmt.where(LRF.is_home.is_(True))
    if query.area_codes:
        stmt = stmt.where(Area.code.in_(query.area_codes))
    return pd.DataFrame(session.execute(stmt.order_by(LRF.is_home.desc(), Area.name)).mappings().all(),
                        columns=["id", "code", "name", "population", "lrf", "is_home"])


def area_ids_in_scope(session: orm.Session, query: PictureQuery) -> list[int]:
    return list(_kept(session, ("area ids", query.include_neighbours, query.area_codes),
                      lambda: areas_in_scope(session, query)["id"].tolist()))


def latest_week(session: orm.Session, query: PictureQuery) -> dt.date | None:
    """The newest week any home-LRF figure exists for, as at the query's time: the default 'this week'."""
    area_ids = area_ids_in_scope(session, replace(query, area_codes=(), include_neighbours=False))
    if not area_ids:
        return None
    # Newest first and stop at the first visible row: the week index read backwards, not a scan of every row.
    return session.scalar(sa.select(Observation.week).where(visible(query), Observation.area_id.in_(area_ids))
                          .order_by(Observation.week.desc()).limit(1))


def values(session: orm.Session, query: PictureQuery, metric_keys: list[str],
           week_from: dt.date, week_to: dt.date) -> pd.DataFrame:
    """One row per (metric, area, week) visible as at the query time: columns metric, area_code, week, value."""
    areas = areas_in_scope(session, query)
    columns = ["metric", "area_code", "week", "value"]
    if areas.empty:
        return pd.DataFrame(columns=columns)
    src = source(query)
    stmt = (sa.select(Metric.key.label("metric"), Area.code.label("area_code"), src.week, src.value)
            .join(Metric, Metric.id == src.metric_id).join(Area, Area.id == src.area_id)
            .where(src.condition, Metric.key.in_(metric_keys),
                   src.week.between(week_from, week_to), src.area_id.in_(areas["id"].tolist())))
    return pd.DataFrame(session.execute(stmt).all(), columns=columns)


def value_map(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date,
              week_to: dt.date) -> dict[tuple[str, str, dt.date], int]:
    """The same rows as values(), as a plain dict (metric, area code, week) -> value: no frame, for callers that
    keep hundreds of thousands of figures (a briefing pack's quoted figures at national scale)."""
    areas = areas_in_scope(session, query)
    ids = metric_ids(session, metric_keys)
    if areas.empty or not ids:
        return {}
    metric_key = {metric_id: key for key, metric_id in ids.items()}
    area_code = dict(zip(areas["id"].tolist(), areas["code"].tolist(), strict=True))
    stmt = (sa.select(Observation.metric_id, Observation.area_id, Observation.week, Observation.value)
            .where(visible(query), Observation.metric_id.in_(list(ids.values())),
                   Observation.week.between(week_from, week_to), Observation.area_id.in_(list(area_code))))
    return {(metric_key[m], area_code[a], w): int(v) for m, a, w, v in session.execute(stmt)}


def observation_history(session: orm.Session, metric_keys: list[str], area_codes: tuple[str, ...],
                        week_from: dt.date, since: dt.datetime,
                        ) -> tuple[list[dt.datetime], list[dict[tuple[str, str, dt.date], int]]]:
    """Every distinct picture of these metrics and areas from a time on: the moments it changed (the first
    is `since`) and, for each, the values as at that moment by (metric, area, week)."""
    stmt = (sa.select(Metric.key, Area.code, Observation.week, Observation.value, Observation.recorded_at,
                      Observation.superseded_at)
            .join(Metric, Metric.id == Observation.metric_id).join(Area, Area.id == Observation.area_id)
            .where(Metric.key.in_(metric_keys), Area.code.in_(area_codes), Observation.week >= week_from,
                   sa.or_(Observation.superseded_at.is_(None), Observation.superseded_at > since)))
    rows = session.execute(stmt).all()
    moments = sorted({since} | {r.recorded_at for r in rows if r.recorded_at > since}
                     | {r.superseded_at for r in rows if r.superseded_at is not None})
    times: list[dt.datetime] = []
    raws: list[dict[tuple[str, str, dt.date], int]] = []
    for moment in moments:
        raw = {(r.key, r.code, r.week): int(r.value) for r in rows
               if r.recorded_at <= moment and (r.superseded_at is None or r.superseded_at > moment)}
        if not raws or raw != raws[-1]:
            times.append(moment)
            raws.append(raw)
    return times, raws


def columns_frame(rows: Sequence, columns: list[str]) -> pd.DataFrame:
    """A frame from result rows, column by column: pandas inspects every row object it is given, which cost
    more than the query on large results."""
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)))


def metric_ids(session: orm.Session, metric_keys: list[str]) -> dict[str, int]:
    every = _kept(session, ("metric ids",), lambda: dict(session.execute(sa.select(Metric.key, Metric.id)).all()))
    return {key: every[key] for key in metric_keys if key in every}


BY_AREA, BY_WEEK = "area_code", "week"


def metric_sum(metric_id: int, src: Source | None = None):
    """One metric's sum within a group of rows of several metrics; NULL when the group has none of it. Cast
    because PostgreSQL's sum of bigints is a numeric, which arrives in Python as a slow Decimal."""
    table = src.table if src is not None else Observation
    return sa.cast(sa.func.sum(sa.case((table.metric_id == metric_id, table.value))), sa.BigInteger)


def aggregate(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date,
              week_to: dt.date, by: tuple[str, ...] = (BY_AREA, BY_WEEK)) -> pd.DataFrame:
    """Each metric summed over the areas in scope and the weeks asked for, grouped by area and/or week, in SQL.

    Columns: the `by` columns, then per metric `<key>` (the sum; NaN where no figure, which is not zero) and
    `<key>_n` (how many figures the sum has). Grouped by both, it is one row per (area, week) with any figure:
    the metrics side by side; by=() is one row. Only the groups travel from the database, never the rows behind them.
    """
    areas = areas_in_scope(session, query)
    ids = metric_ids(session, metric_keys)
    keys = [k for k in metric_keys if k in ids]
    columns = [*by, *keys, *(f"{k}_n" for k in keys)]
    if areas.empty or not keys:
        # Summed over everything (by=()), the answer is one row even when nothing is there: no figures.
        return pd.DataFrame([[math.nan] * len(keys) + [0] * len(keys)] if by == () else [], columns=columns)
    src = source(query)
    group = {BY_AREA: src.area_id, BY_WEEK: src.week}
    key_of = {ids[k]: k for k in keys}
    # Grouped by metric too, with a plain SUM and COUNT: one CASE per metric per row (the metrics side by side
    # in SQL) cost SQLite more than the reading itself. The groups are then set side by side here.
    stmt = (sa.select(src.metric_id, *(group[g] for g in by), sa.cast(sa.func.sum(src.value), sa.BigInteger),
                      sa.func.count())
            .where(src.condition, src.metric_id.in_(list(key_of)),
                   src.week.between(week_from, week_to), src.area_id.in_(areas["id"].tolist()))
            .group_by(src.metric_id, *(group[g] for g in by)))
    long = columns_frame(session.execute(stmt).all(), ["metric", *by, "sum", "n"])
    if by == ():
        sums = dict(zip(long["metric"], long["sum"], strict=True))
        counts = dict(zip(long["metric"], long["n"], strict=True))
        return pd.DataFrame([[float(sums[ids[k]]) if ids[k] in sums else math.nan for k in keys]
                             + [int(counts.get(ids[k], 0)) for k in keys]], columns=columns)
    if long.empty:
        return pd.DataFrame(columns=columns)
    long["metric"] = long["metric"].map(key_of)
    sums = long.pivot(index=list(by), columns="metric", values="sum").reindex(columns=keys).astype(float)
    counts = (long.pivot(index=list(by), columns="metric", values="n").reindex(columns=keys).fillna(0)
              .astype(int).add_suffix("_n"))
    frame = pd.concat([sums, counts], axis=1).reset_index()
    frame.columns.name = None
    if BY_AREA in by:
        frame[BY_AREA] = frame[BY_AREA].map(dict(zip(areas["id"], areas["code"], strict=True)))
    return frame[columns]


def _grouped_sums(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date,
                  week_to: dt.date, groups: tuple[str, ...]) -> tuple[list, dict[int, str], dict[int, str]]:
    """Each metric's sum and count of figures over the areas in scope, grouped by BY_AREA and/or BY_WEEK: the rows
    (metric id, *the groups' values (area ids, weeks), sum, count), with metric id -> key and area id -> code for
    the caller to read them by (aggregate()'s sums without pandas). Each caller reads the rows in a loop of its
    own: a generic loop that mapped every row's ids to keys and codes cost more than the query (thousands of rows
    for the RAG cells with neighbours)."""
    areas = areas_in_scope(session, query)
    ids = metric_ids(session, metric_keys)
    if areas.empty or not ids:
        return [], {}, {}
    src = source(query)
    columns = {BY_AREA: src.area_id, BY_WEEK: src.week}
    key_of = {metric_id: key for key, metric_id in ids.items()}
    code_of = dict(zip(areas["id"].tolist(), areas["code"].tolist(), strict=True))
    grouped = [columns[group] for group in groups]
    stmt = (sa.select(src.metric_id, *grouped, sa.cast(sa.func.sum(src.value), sa.BigInteger), sa.func.count())
            .where(src.condition, src.metric_id.in_(list(key_of)),
                   src.week.between(week_from, week_to), src.area_id.in_(list(code_of)))
            .group_by(src.metric_id, *grouped))
    return plain_rows(session, stmt), key_of, code_of


def plain_rows(session: orm.Session, stmt: sa.Select) -> list:
    """The rows of a select of plain columns, read through the session's connection: the ORM's handling of each
    row is of no use to them and cost as much as reading them (thousands of figures). The session's pending
    changes are flushed first, as session.execute would, so a caller that wrote reads what it wrote."""
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(stmt).all()


def sums(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date, week_to: dt.date,
         by: str) -> dict[str, dict[Any, tuple[int, int]]]:
    """aggregate() grouped by one of area or week, as plain dicts: metric -> area code (or week) -> (the sum, how
    many figures it has); a group with no figure of the metric is absent (not zero). For panels that read the
    sums one by one: the pivot to a wide frame and back cost them more than the query."""
    out: dict[str, dict[Any, tuple[int, int]]] = {key: {} for key in metric_ids(session, metric_keys)}
    rows, key_of, code_of = _grouped_sums(session, query, metric_keys, week_from, week_to, (by,))
    for metric_id, at, total, n in rows:
        out[key_of[metric_id]][code_of[at] if by == BY_AREA else at] = (int(total), int(n))
    return out


def figures(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date,
            week_to: dt.date) -> dict[tuple[str, str, dt.date], int]:
    """Each metric's figure for each area and week in scope: (metric, area code, week) -> the sum, the same sums as
    aggregate() by area and week, as a plain dict. A panel that looks figures up one by one (the tiles, the RAG
    cells) pays for a pivot to a wide frame and back to long rows with pandas more than for the query."""
    rows, key_of, code_of = _grouped_sums(session, query, metric_keys, week_from, week_to, (BY_AREA, BY_WEEK))
    return {(key_of[metric_id], code_of[area_id], week): int(total)
            for metric_id, area_id, week, total, _n in rows if total is not None}


def totals(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date,
           week_to: dt.date) -> dict[str, tuple[int, int]]:
    """Each metric summed over the areas in scope and the weeks given, with how many figures the sum has: metric ->
    (sum, count); a metric with no figure is absent (not zero). aggregate(by=()) without a frame."""
    rows, key_of, _code_of = _grouped_sums(session, query, metric_keys, week_from, week_to, ())
    return {key_of[metric_id]: (int(value), int(n)) for metric_id, value, n in rows if n}


def expected_areas(session: orm.Session, query: PictureQuery, metric_keys: list[str]) -> dict[str, set[str]]:
    """metric -> the codes of the areas in scope that should have a figure for it each week: the areas of the
    active agencies whose kind owns the metric, and for a shareable metric the areas of the neighbouring LRFs'
    cells. A total over fewer areas than these is partial, and says so ("5 of 6 areas")."""
    in_scope = set(areas_in_scope(session, query)["code"])
    every = _kept(session, ("expected areas",), lambda: _expected_areas(session))
    return {k: every.get(k, set()) & in_scope for k in metric_keys}


def _expected_areas(session: orm.Session) -> dict[str, set[str]]:
    """metric -> every area code that should have a figure for it, in any scope."""
    stmt = (sa.select(Metric.key, Area.code)
            .join(Agency, sa.or_(Agency.kind == Metric.agency_kind,
                                 sa.and_(Agency.kind == NEIGHBOUR_KIND, Metric.shareable.is_(True))))
            .join(agency_area, agency_area.c.agency_id == Agency.id).join(Area, Area.id == agency_area.c.area_id)
            .where(Agency.active.is_(True)).distinct())
    out: dict[str, set[str]] = {}
    for key, code in session.execute(stmt):
        out.setdefault(key, set()).add(code)
    return out


@dataclass(frozen=True)
class WeekTotal:
    """A total over areas (or other parts) for a week, with how many parts it has and how many it should have,
    and the change on the week before over the same parts only: a part missing from either week is left out
    of the change, so a missing return never shows as a fall."""

    value: int | None  # None: no part has a figure (not zero)
    change: int | None  # None: no part has a figure in both weeks
    reporting: int
    expected: int
    compared: int  # parts in the change
    parts_before: int

    @property
    def partial(self) -> bool:
        return self.value is not None and self.reporting < self.expected

    @property
    def like_for_like(self) -> bool:
        """The change covers fewer parts than one of the two weeks' totals."""
        return self.change is not None and (self.compared < self.reporting or self.compared < self.parts_before)


def week_total(now: dict, before: dict, expected: int) -> WeekTotal:
    """now/before: part -> figure for the week and the week before (parts with no figure left out)."""
    common = now.keys() & before.keys()
    change = sum(now[k] for k in common) - sum(before[k] for k in common) if common else None
    return WeekTotal(sum(now.values()) if now else None, change, len(now), max(expected, len(now)), len(common),
                     len(before))


def coverage_text(reporting: int, expected: int, unit: str = "areas") -> str:
    """"5 of 6 areas" for a partial total; "" when every part is in."""
    return f"{reporting} of {expected} {unit}" if reporting < expected else ""


@dataclass(frozen=True)
class Revisions:
    """The (metric, area, week) values that differ now from the picture as at the query time: the one source of
    every "revised since" mark. A figure is revised when any value it is made of is in here."""

    keys: frozenset[tuple[str, str, dt.date]] = frozenset()
    _weeks: dict[tuple[str, str], list[dt.date]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for metric, area, week in self.keys:
            self._weeks.setdefault((metric, area), []).append(week)

    def touches(self, metrics: Iterable[str], week_from: dt.date, week_to: dt.date,
                area_codes: Iterable[str] | None = None) -> bool:
        """Whether any value of these metrics (in these areas; None: any area) in these weeks was revised."""
        if not self.keys:
            return False
        wanted = set(metrics)
        if area_codes is None:
            pairs = [p for p in self._weeks if p[0] in wanted]
        else:
            pairs = [(m, a) for m in wanted for a in area_codes]
        return any(week_from <= w <= week_to for p in pairs for w in self._weeks.get(p, ()))

    def __bool__(self) -> bool:
        return bool(self.keys)


def revisions(session: orm.Session, query: PictureQuery, week_from: dt.date, week_to: dt.date) -> Revisions:
    """Every value in scope and in the weeks given that has been revised since the query's as-at time (none when
    the query is for now)."""
    if query.as_at is None:
        return Revisions()
    keys = session.scalars(sa.select(Metric.key)).all()
    return Revisions(frozenset(changed_since(session, query, list(keys), week_from, week_to)))


def returns_completeness(session: orm.Session, query: PictureQuery, week: dt.date) -> tuple[int, int]:
    """(returns in, returns due) for the week, as at the query time, counting the same agencies and the same
    way as the completeness grid (home agencies; with neighbours, their LRFs' cells too)."""
    from maic.picture.completeness import agencies_counted, received_by_agency_week

    agencies = agencies_counted(session, query)
    if not agencies:
        return 0, 0
    received = received_by_agency_week(session, [a.id for a in agencies], week, week, query.at())
    return len({agency_id for agency_id, _week in received}), len(agencies)


def tranche_markers(session: orm.Session) -> list[tuple[dt.date, str]]:
    return list(_kept(session, ("tranche markers",), lambda: [
        (m.date, m.name) for m in session.execute(sa.select(IncidentMarker.date, IncidentMarker.name)
                                                  .order_by(IncidentMarker.date))]))


def weeks_with_data(session: orm.Session, query: PictureQuery) -> list[dt.date]:
    """Weeks with any home-LRF figure as at the query time, oldest first (the week picker's options)."""
    area_ids = area_ids_in_scope(session, replace(query, area_codes=(), include_neighbours=False))
    if not area_ids:
        return []
    return sorted(weeks_in(session, query, area_ids))


def weeks_in(session: orm.Session, query: PictureQuery, area_ids: list[int]) -> list[dt.date]:
    """The weeks with any figure in these areas as at the query time, newest first. Live, from the coverage the
    database keeps (a row per agency, week and area with any current value: a few thousand rows rather than
    every current observation); as at a past time, from the rows then visible."""
    if live_from_summary(query):
        stmt = (sa.select(CurrentCoverage.week).distinct().where(CurrentCoverage.area_id.in_(area_ids))
                .order_by(CurrentCoverage.week.desc()))
    else:
        stmt = (sa.select(Observation.week).distinct().where(visible(query), Observation.area_id.in_(area_ids))
                .order_by(Observation.week.desc()))
    return list(session.scalars(stmt))


# --- Shared by the panels of issue 5 (releases, shortfall, pressure, completeness, forward, drill-down) ---

def incident_start(session: orm.Session) -> dt.date | None:
    return _kept(session, ("incident start",), lambda: session.scalar(sa.select(sa.func.min(Incident.start))))


def resolve_range(session: orm.Session, query: PictureQuery) -> tuple[dt.date, dt.date] | None:
    """The weeks a panel covers: week_from..week_to, by default the incident's first week to the latest week.

    None when there is no week with data as at the query time (a new deployment).
    """
    week_to = query.week_to or latest_week(session, query)
    if week_to is None:
        return None
    start = query.week_from or incident_start(session) or week_to
    return min(start, week_to), week_to


def metric_catalogue(session: orm.Session) -> pd.DataFrame:
    """Every metric with its label, unit, panel, aggregation and RAG thresholds, in the catalogue's order. A copy."""
    return _kept(session, ("catalogue",), lambda: _metric_catalogue(session)).copy()


def _metric_catalogue(session: orm.Session) -> pd.DataFrame:
    stmt = sa.select(Metric.key, Metric.label, Metric.unit, Metric.panel, Metric.aggregation, Metric.rag_basis,
                     Metric.rag_amber, Metric.rag_red, Metric.shareable).order_by(Metric.sort_order, Metric.key)
    return pd.DataFrame(session.execute(stmt).all(),
                        columns=["key", "label", "unit", "panel", "aggregation", "rag_basis", "rag_amber",
                                 "rag_red", "shareable"])


def metric_key_for(session: orm.Session, label: str) -> str | None:
    """The metric a chart's row label names; None when no metric, or more than one, has that label."""
    keys = session.scalars(sa.select(Metric.key).where(Metric.label == label).limit(2)).all()
    return keys[0] if len(keys) == 1 else None


def changed_since(session: orm.Session, query: PictureQuery, metric_keys: list[str], week_from: dt.date,
                  week_to: dt.date) -> set[tuple[str, str, dt.date]]:
    """(metric, area, week) whose value now differs from the value as at the query time (added, changed or gone).

    Empty when the query is for now. This is what marks a figure "revised since". Only keys with a row
    recorded or superseded after the as-at time can differ, and the two timestamp indexes find those; their
    values then and now are compared exactly (a correction to the same value is not a revision).
    """
    if query.as_at is None:
        return set()
    at = query.as_at
    areas = areas_in_scope(session, query)
    ids = metric_ids(session, metric_keys)
    if areas.empty or not ids:
        return set()
    in_scope = (Observation.metric_id.in_(list(ids.values())), Observation.week.between(week_from, week_to),
                Observation.area_id.in_(areas["id"].tolist()))
    key = (Observation.metric_id, Observation.area_id, Observation.week)
    touched = set(session.execute(sa.union(sa.select(*key).where(*in_scope, Observation.recorded_at > at),
                                           sa.select(*key).where(*in_scope, Observation.superseded_at > at))).all())
    if not touched:
        return set()

    def value_by_key(condition) -> dict[tuple, int]:
        rows = session.execute(sa.select(*key, Observation.value).where(
            condition, Observation.metric_id.in_({m for m, _a, _w in touched}),
            Observation.area_id.in_({a for _m, a, _w in touched}),
            Observation.week.between(min(w for _m, _a, w in touched), max(w for _m, _a, w in touched)))).all()
        return {(m, a, w): v for m, a, w, v in rows if (m, a, w) in touched}

    then, now = value_by_key(visible_at(at)), value_by_key(Observation.superseded_at.is_(None))
    metric_key = {metric_id: k for k, metric_id in ids.items()}
    area_code = dict(zip(areas["id"], areas["code"], strict=True))
    return {(metric_key[m], area_code[a], w) for m, a, w in touched if then.get((m, a, w)) != now.get((m, a, w))}
