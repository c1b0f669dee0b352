"""Drill-down: the returns behind a figure (agency, who, when, file, value, superseded or not), as at a time.

A figure is named by a FigureRef: the metrics, areas and weeks it is made of. Every observation recorded by
the as-at time is listed, marked "used" when it was current then, or "superseded" (by which return, when)
when a later return had replaced it by then; "revised since" marks a used value whose current value differs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates
from maic.models import Agency, Area, Metric, Observation, Return, User
from maic.picture.core import PictureQuery, areas_in_scope, changed_since, incident_start, resolve_range
from maic.picture.pressure import PER_10K, rag_metrics
from maic.picture.shortfall import SHORTFALL_METRICS
from maic.plaintext import one_line

LIMIT = 500


@dataclass(frozen=True)
class FigureRef:
    label: str
    metrics: tuple[str, ...]
    week_from: dt.date
    week_to: dt.date
    area_codes: tuple[str, ...] = ()  # empty: every area in the query's scope


@dataclass(frozen=True)
class DrillRow:
    return_id: int
    agency: str
    who: str
    received_at: dt.datetime
    filename: str
    metric: str
    metric_label: str
    area_code: str
    area_name: str
    week: dt.date
    value: int
    state: str  # "used" or "superseded"
    superseded_at: dt.datetime | None
    superseded_by: int | None
    revised_since: bool


@dataclass
class Drill:
    figure: FigureRef
    as_at: dt.datetime
    rows: list[DrillRow] = field(default_factory=list)
    total: int = 0

    @property
    def used_sum(self) -> int:
        return sum(r.value for r in self.rows if r.state == "used")


TILE_METRICS = {
    "released_week": ("releases_total",),
    "released_to_date": ("releases_total",),
    "released_nfa": ("releases_nfa",),
    "households_in_ta": ("households_in_ta",),
    "shortfall": tuple(SHORTFALL_METRICS),
}


def tile_figure(session: orm.Session, query: PictureQuery, key: str, label: str) -> FigureRef | None:
    """The figure behind a headline tile for the query's week, or None when there is no week yet."""
    span = resolve_range(session, query)
    if span is None:
        return None
    week = span[1]
    if key == "services_red":
        metrics = rag_metrics(session)
        keys = {m.key for m in metrics} | {m.basis for m in metrics if m.basis not in (None, PER_10K)}
        return FigureRef(label, tuple(sorted(keys)), week, week, query.area_codes)
    if key not in TILE_METRICS:
        return None
    week_from = (incident_start(session) or week) if key == "released_to_date" else week
    return FigureRef(label, TILE_METRICS[key], min(week_from, week), week, query.area_codes)


def cell_figure(session: orm.Session, query: PictureQuery, metric: str, area_code: str,
                label: str = "") -> FigureRef | None:
    """A heatmap cell: the metric and, when its RAG is relative to another metric, that metric too."""
    span = resolve_range(session, query)
    if span is None:
        return None
    basis = next((m.basis for m in rag_metrics(session) if m.key == metric), None)
    metrics = (metric,) if basis in (None, PER_10K) else (metric, basis)
    if not label:
        metric_label = session.scalar(sa.select(Metric.label).where(Metric.key == metric)) or metric
        area_name = session.scalar(sa.select(Area.name).where(Area.code == area_code)) or area_code
        label = f"{metric_label}, {area_name}"
    return FigureRef(label, metrics, span[1], span[1], (area_code,))


def area_figure(session: orm.Session, query: PictureQuery, metrics: tuple[str, ...], area_code: str,
                label: str, *, whole_range: bool) -> FigureRef | None:
    span = resolve_range(session, query)
    if span is None:
        return None
    return FigureRef(label, metrics, span[0] if whole_range else span[1], span[1], (area_code,))


def returns_behind(session: orm.Session, query: PictureQuery, figure: FigureRef, limit: int = LIMIT) -> Drill:
    at = query.at()
    result = Drill(figure=figure, as_at=at)
    scope = areas_in_scope(session, replace(query, area_codes=figure.area_codes or query.area_codes))
    if scope.empty:
        return result
    who = sa.func.coalesce(sa.func.nullif(User.display_name, ""), User.username)
    where = [Metric.key.in_(figure.metrics), Observation.area_id.in_(scope["id"].tolist()),
             Observation.week.between(figure.week_from, figure.week_to), Observation.recorded_at <= at]
    result.total = session.scalar(sa.select(sa.func.count()).select_from(Observation)
                                  .join(Metric, Metric.id == Observation.metric_id).where(*where)) or 0
    stmt = (sa.select(Return.id, Agency.name, who.label("who"), Return.source, Return.received_at, Return.filename,
                      Metric.key, Metric.label.label("metric_label"), Area.code,
                      Area.name.label("area_name"), Observation.week, Observation.value,
                      Observation.superseded_at, Observation.superseded_by_return_id)
            .join(Return, Return.id == Observation.return_id).join(Agency, Agency.id == Return.agency_id)
            .outerjoin(User, User.id == Return.submitted_by_id)
            .join(Metric, Metric.id == Observation.metric_id).join(Area, Area.id == Observation.area_id)
            .where(*where)
            .order_by(Observation.week.desc(), Area.name, Metric.key, Observation.recorded_at.desc())
            .limit(limit))
    changed = changed_since(session, query, list(figure.metrics), figure.week_from, figure.week_to)
    for r in session.execute(stmt):
        superseded = r.superseded_at is not None and r.superseded_at <= at
        result.rows.append(DrillRow(
            # Stored names as one plain line, whenever they were stored (see maic.plaintext).
            r.id, one_line(r.name), one_line(r.who or f"no user ({r.source.replace('_', ' ')})"), r.received_at,
            one_line(r.filename), r.key, r.metric_label or r.key,
            r.code, r.area_name, r.week, int(r.value), "superseded" if superseded else "used",
            r.superseded_at if superseded else None, r.superseded_by_return_id if superseded else None,
            not superseded and (r.key, r.code, r.week) in changed))
    return result


def drill_table(result: Drill, tz: str = "Europe/London") -> pd.DataFrame:
    """The rows for people and for the CSV: metric labels, times in the app's zone (UK time)."""
    def when(moment: dt.datetime) -> str:
        return dates.moment(moment, tz)

    rows = [{"Return": r.return_id, "Agency": r.agency, "Submitted by": r.who,
             "Received": when(r.received_at), "File": r.filename, "Measure": r.metric_label,
             "Area": r.area_name, "Week beginning": r.week, "Value": r.value,
             "State": (f"superseded {when(r.superseded_at)} by return {r.superseded_by}"
                       if r.state == "superseded" else "used" + ("; revised since" if r.revised_since else ""))}
            for r in result.rows]
    return pd.DataFrame(rows, columns=["Return", "Agency", "Submitted by", "Received", "File", "Measure",
                                       "Area", "Week beginning", "Value", "State"])
