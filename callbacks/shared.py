"""The shared view's callback: read the choice, check VIEW_SHARED, ask maic.picture.shared, lay out the table."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dash import Input, Output, ctx, no_update
from flask import current_app

from callbacks import _guard
from callbacks._common import db, parse_week, setting, user
from layouts import ids
from layouts import shared as view
from maic import permissions
from maic.picture import shared
from maic.sharing import kept
from maic.weeks import weeks_between


def picture_for(query: shared.SharedQuery) -> shared.SharedPicture:
    """Kept per data version and question, as the API's (maic.sharing.kept)."""
    return kept.kept_picture(current_app, db(), query)


def render_page():
    permissions.require(user(), permissions.VIEW_SHARED)
    picture = picture_for(shared.SharedQuery())
    weeks = weeks_between(picture.history_from, picture.latest_week) if picture.latest_week else []
    return view.layout(picture.lrf_name, [(m.key, m.label) for m in picture.metrics], weeks,
                       [(a.code, a.name) for a in picture.areas], picture.threshold)


def table_data(picture: shared.SharedPicture, metric_key: str, marking: str) -> view.SharedTableData:
    metric = next(m for m in picture.metrics if m.key == metric_key)
    found = picture.index()
    flow = metric.aggregation == "sum"
    weeks = picture.weeks
    columns = [f"w/c {w:%d %b %Y}" for w in weeks]
    if weeks and flow:
        columns.append(f"To date (to w/c {weeks[-1]:%d %b %Y})")
    if weeks:
        columns.append(f"Per 10,000 residents (w/c {weeks[-1]:%d %b %Y})")
    data = view.SharedTableData(metric.label, metric.unit, picture.lrf_name, picture.threshold, marking, columns)
    shown_codes = {c.area_code for c in picture.cells}
    areas = [(a.code, a.name) for a in picture.areas if a.code in shown_codes]
    for code, name in [*areas, (shared.ALL_AREAS, f"All areas ({picture.lrf_name})")]:
        wanted = [(w, shared.WEEK) for w in weeks]
        if weeks and flow:
            wanted.append((weeks[-1], shared.TO_DATE))
        if weeks:
            wanted.append((weeks[-1], shared.PER_10K))
        cells = []
        for week, measure in wanted:
            cell = found.get((metric.key, code, week, measure))
            cells.append(view.SharedCellData(f"{metric.key}|{code}|{week.isoformat()}|{measure}",
                                             cell.shown if cell else "no return", cell.status if cell else "missing",
                                             cell.covers if cell else ""))
        data.rows.append(view.SharedRowData(name, code, cells, total=code == shared.ALL_AREAS))
    return data


def ordered_weeks(week_from: str | None, week_to: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The two ends read as weeks (a value that is not one is named in a message). A range is a choice, never an
    error: ends given the wrong way round are read the right way round."""
    first, last = parse_week(week_from), parse_week(week_to)
    if first and last and first > last:
        return last, first
    return first, last


def keep_range(trigger: str | None, week_from: str | None, week_to: str | None):
    """When one end passes the other, the other follows it (ISO dates compare as text)."""
    if not (isinstance(week_from, str) and isinstance(week_to, str)) or week_from <= week_to:
        return no_update, no_update
    if trigger == ids.SHARED_WEEK_TO:
        return week_to, no_update
    return no_update, week_from


def shared_panel(metric: str | None, week_from: str | None, week_to: str | None, areas: list[str] | None):
    permissions.require(user(), permissions.VIEW_SHARED)
    if not metric:
        return None, view.table(view.SharedTableData("", "", "", 0, "")), "/exports/shared.csv", "/briefings/neighbour"
    first, last = ordered_weeks(week_from, week_to)
    query = shared.SharedQuery(week_from=first, week_to=last, area_codes=tuple(sorted(areas or ())), metrics=(metric,))
    picture = picture_for(query)
    local = picture.as_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(setting("MAIC_TIMEZONE")))
    params = [("metric", metric)] + [(k, v.isoformat()) for k, v in (("week_from", first), ("week_to", last)) if v]
    params += [("area", code) for code in query.area_codes]
    return (view.as_at_text(f"{local:%d %b %Y %H:%M} ({local:%Z})"),
            view.table(table_data(picture, metric, setting("MAIC_PROTECTIVE_MARKING"))),
            "/exports/shared.csv?" + urlencode(params),
            "/briefings/neighbour?" + urlencode([p for p in params if p[0] in ("week_from", "week_to")]))


def register(app) -> None:
    for key in (f"{ids.SHARED_ASAT}.children", f"{ids.SHARED_TABLE}.children", f"{ids.SHARED_EXPORT}.href",
                f"{ids.SHARED_PACK}.href"):
        _guard.rule(key, permissions.VIEW_SHARED)

    for key in (f"{ids.SHARED_WEEK_FROM}.value", f"{ids.SHARED_WEEK_TO}.value"):
        _guard.rule(key, permissions.VIEW_SHARED)

    @app.callback(Output(ids.SHARED_WEEK_FROM, "value"), Output(ids.SHARED_WEEK_TO, "value"),
                  Input(ids.SHARED_WEEK_FROM, "value"), Input(ids.SHARED_WEEK_TO, "value"), prevent_initial_call=True)
    def week_range(week_from, week_to):
        return keep_range(ctx.triggered_id, week_from, week_to)

    @app.callback(Output(ids.SHARED_ASAT, "children"), Output(ids.SHARED_TABLE, "children"),
                  Output(ids.SHARED_EXPORT, "href"), Output(ids.SHARED_PACK, "href"),
                  Input(ids.SHARED_METRIC, "value"), Input(ids.SHARED_WEEK_FROM, "value"),
                  Input(ids.SHARED_WEEK_TO, "value"), Input(ids.SHARED_AREAS, "value"),
                  Input(ids.DATA_VERSION, "data"))
    def shared_view(metric, week_from, week_to, areas, _version):
        return shared_panel(metric, week_from, week_to, areas)
