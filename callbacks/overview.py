"""The common picture's callbacks: filters <-> URL, the headline tiles and five panels, drill-down, export, live.

Thin: read inputs, permissions.require, call maic.picture (through a cache keyed by the newest data change that
could alter the view, _view_stamp: per
process, or with MAIC_REDIS_URL shared by every worker, so a panel is computed once per change however many
dashboards are open), hand plain data to layouts. The panels listen to the data-version store, which changes
only when a return has landed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import orjson
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, no_update
from flask import current_app, g, request

from callbacks import _guard
from callbacks._common import connection_lost, db, error_alert, setting, show_notice, user
from layouts import ids, panels
from layouts import overview as view
from layouts.plain import fill_slots, filled, from_bytes, rendered, to_bytes
from maic import audit, dates, geo, permissions, picture, redis_store
from maic.models import utcnow
from maic.picture import Filters, PictureQuery
from maic.weeks import latest_week_due

PANEL_OUTPUTS = {ids.RELEASES_PANEL: "releases", ids.SHORTFALL_PANEL: "shortfall", ids.PRESSURE_PANEL: "pressure",
                 ids.COMPLETENESS_PANEL: "completeness", ids.FORWARD_PANEL: "forward"}
TILE_LABELS = {"released_week": "Released this week", "released_to_date": "Released to date",
               "released_nfa": "Released with no fixed abode", "households_in_ta": "Households in TA",
               "shortfall": "Accommodation shortfall", "services_red": "Services at red"}
FORWARD_METRICS = ("releases_notified_1w", "releases_notified_2w", "releases_notified_3w", "releases_notified_4w",
                   "ta_capacity", "households_in_ta")


# --- plumbing shared by the panels ------------------------------------------------------------------------

def _tz() -> str:
    return setting("MAIC_TIMEZONE")


def _cache() -> picture.PanelCache:
    return picture.panel_cache_for(current_app)


def _answers() -> picture.PanelCache | picture.SharedCache:
    """Where rendered answers are kept: with MAIC_REDIS_URL, shared by every worker of the deployment (this
    process's panel cache in front of Redis); without, this process's panel cache."""
    answers = current_app.extensions.get("maic.answer_cache")
    if answers is None:
        store = redis_store.for_app(current_app)
        answers = _cache() if store is None else picture.SharedCache(
            _cache(), store, to_bytes, from_bytes, ttl=int(setting("MAIC_REDIS_ANSWER_SECONDS")),
            max_bytes=int(setting("MAIC_REDIS_CACHE_BYTES")))
        answers = current_app.extensions.setdefault("maic.answer_cache", answers)
    return answers


def _computers() -> dict:
    rule, zone = setting("MAIC_RETURN_DEADLINE"), _tz()
    return {
        "headlines": picture.headlines, "releases": picture.releases_by_area, "series": picture.release_series,
        "shortfall": picture.shortfall, "pressure": picture.pressure, "forward": picture.forward_look,
        "completeness-grid": lambda session, query: picture.completeness_grid(session, query, deadline_rule=rule,
                                                                              tz=zone),
    }


def _version() -> tuple:
    """The data version (with when it changed: picture.data_stamp), read once per request: every key below is
    taken from the same reading."""
    if "maic_data_version" not in g:
        g.maic_data_version = picture.data_stamp(db())
    return g.maic_data_version


def _clock(name: str, filters: Filters):
    """Whether a week's returns are due yet depends on the clock as well as the data: completeness's 'missing',
    which week is the default, and every panel's header and partial marks ('not yet due'). So live views are
    also keyed by the newest week whose return is due by now, which changes once a week, when a deadline passes:
    a view kept across many returns (_view_stamp) is never shown as 'not yet due' after its deadline. As at a
    past time, 'due' is read at that time, which does not move."""
    if filters.as_at_date is None:
        return latest_week_due(utcnow(), setting("MAIC_RETURN_DEADLINE"), _tz())
    return None


def week_statuses(filters: Filters) -> list[picture.WeekStatus]:
    """The weeks with figures as at the filters' time, newest first, with their returns in and due."""
    as_at = filters.as_at(_tz())
    key = ("week-statuses", _version(), as_at, _clock("week-statuses", replace(filters, week_to=None)))
    return _cache().get(key, lambda: picture.week_statuses(
        db(), PictureQuery(as_at=as_at), deadline_rule=setting("MAIC_RETURN_DEADLINE"), tz=_tz()))


def query_for(filters: Filters) -> PictureQuery:
    """The filters as a query; with no week chosen, the default week (the newest whose returns are due and
    mostly in: maic.picture.quotable), so every panel, drill-down and export reads the same week."""
    query = filters.query(_tz())
    if query.week_to is None:
        query = replace(query, week_to=picture.default_week(week_statuses(filters)))
    return query


def week_status(filters: Filters, week: dt.date | None) -> picture.WeekStatus | None:
    return next((s for s in week_statuses(filters) if s.week == week), None)


def _bounds() -> picture.FilterBounds:
    return _cache().get(("bounds", _version()), lambda: picture.filter_bounds(db()))


def bounded_filters(filters: Filters) -> Filters:
    """The filters a request sent, inside what may be asked for (weeks of the incident up to the latest week,
    areas from the reference): what had to change is said in the page's alert. Every callback that reads
    filters goes through here, so no request, made by hand or by an odd link, can ask for more."""
    bounded, notes = filters.within(_bounds())
    if notes:
        show_notice("Filters changed", notes)
    return bounded


# Completeness's "last received" (each agency's last return of any week) reads returns of every week: any
# change reaches it, whichever week it wrote; but only as at its time, as it marks nothing "revised since". The
# rest of completeness (its grid, counts, "missing") reads only the weeks shown, as every other panel does; they,
# as at a past time, mark the figures revised since then, which reads every later change of those weeks: for
# them a change's time does not count, only its weeks; the completeness grid marks nothing, so for it both count
# (tests/picture/test_week_keys.py proves all three).
WEEK_BLIND = frozenset({"last-received"})
AS_AT_BOUND = frozenset({"last-received", "completeness-grid"})


def _view_stamp(name: str, filters: Filters) -> tuple:
    """What a view's kept answer is keyed by instead of the data version: the newest change that could alter
    it (picture.affecting_stamp), with the week it resolves to (with no week chosen, the default week moves as
    returns land). Read from the same data version as every other key of the request. Completeness's answer is
    assembled from two parts, its grid's and its last received's: it is keyed by both."""
    if name == "completeness":
        return _view_stamp("completeness-grid", filters) + (_view_stamp("last-received", filters)[0],)
    query = query_for(filters)
    weeks = [w for w in (query.week_from, query.week_to) if w is not None]
    week = None if name in WEEK_BLIND or not weeks else max(weeks)
    as_at = query.as_at if name in AS_AT_BOUND else None
    return picture.affecting_stamp(db(), _version(), week, as_at), query.week_to


def result(name: str, filters: Filters):
    """A panel's result for these filters, computed once per change that could alter it (the version is read
    before the query, so a result can only be newer than its key, never older). Completeness's is assembled
    from its grid, kept by week, and its last received, kept for any week."""
    if name == "completeness":
        return picture.with_last_received(result("completeness-grid", filters), _last_received(filters))
    key = (name, _view_stamp(name, filters), replace(filters, measure="count"), _clock(name, filters))
    return _cache().get(key, lambda: _computers()[name](db(), query_for(filters)))


def _last_received(filters: Filters) -> dict[str, dt.datetime]:
    """Each agency's last return of any week: one small grouped query per change and scope (and as-at), shared
    by every view of them whatever its weeks (it reads none)."""
    query = query_for(filters)
    own = PictureQuery(include_neighbours=query.include_neighbours, as_at=query.as_at)  # all it may read
    key = ("last-received", _view_stamp("last-received", filters)[0], own.include_neighbours, own.as_at)
    return _cache().get(key, lambda: picture.last_received(db(), own))


def _incident_start() -> dt.date | None:
    """Read once per request (one row), not kept in the panel cache: its counts measure the panels."""
    if "maic_incident_start" not in g:
        g.maic_incident_start = picture.incident_start(db())
    return g.maic_incident_start


def checked(filters: Filters) -> tuple[Filters, str | None]:
    """The filters with an as-at that may be shown (none in the future or before the incident), and why not."""
    return picture.checked_as_at(filters, _tz(), now=utcnow(), incident_start=_incident_start())


def filters_from(data) -> Filters:
    """The filters a callback was sent, checked again here: the store is the browser's, not ours."""
    return bounded_filters(checked(Filters.from_data(data))[0])


def _as_at_text(filters: Filters, computed_at: dt.datetime) -> str:
    return picture.local_time(filters.as_at(_tz()) or computed_at, _tz())


def _live_text(filters: Filters) -> str:
    """What a live picture is as at: when its figures last changed (the newest change that could alter this
    view: _view_stamp), so that the answer kept for a week no return has touched since stays true, time and
    all, and is redrawn with a new time when one does."""
    changed = _view_stamp("headlines", filters)[0][1]
    return f"Live: figures updated {dates.moment(changed, _tz())}" if changed else "Live"


def _area_names() -> dict[str, str]:
    areas = picture.areas_in_scope(db(), PictureQuery(include_neighbours=True))
    return dict(zip(areas["code"], areas["name"], strict=True))


def _filters_text(filters: Filters) -> str:
    return "; ".join(f"{k.lower()}: {v}" for k, v in filters.describe(_area_names()))


# --- page and filters -------------------------------------------------------------------------------------

def render_page(search: str | None = None, pathname: str = "/dash/"):
    """The dashboard as it opens, in one answer: the page's frame with the address's filters in its controls and
    every panel drawn (each kept for the deployment, as a panel callback would answer it). The browser then sends
    no callback until a person changes something or new figures land, where it used to send a dozen."""
    permissions.require(user(), permissions.VIEW_PICTURE)
    can_export = permissions.allowed(user(), permissions.EXPORT)
    return opening(_frame(can_export), search or "", pathname, can_export)


def _frame(can_export: bool):
    """The page's frame (controls, week picker, empty panels), the same for every reader who may or may not
    export: built once per data version for the deployment, like a panel, since twelve people opening it at the
    start of a meeting would otherwise each build and serialise the same tree of a few hundred components."""
    key = ("rendered", "overview-page", _version(), _clock("week-statuses", Filters()), can_export)
    return _answers().get(key, lambda: rendered(_page(can_export))).value()


CONTROLS = (ids.WEEK_FROM, ids.WEEK_PICKER, ids.AREA_PICKER, ids.SCOPE_PICKER, ids.ASAT_DATE, ids.ASAT_TIME,
            ids.MAP_MEASURE)
LINKS = 2 + len(CONTROLS) + 2  # where the pack links are among the filters callback's outputs


def opening(frame, search: str, pathname: str, can_export: bool):
    """`frame` with what the filters callback and every panel callback would answer for the address `search`."""
    _, store, *values, showing, problem = sync_filters(None, search)
    measure = values[-1]
    asat, tiles = panel_answer("headlines", store)
    props = [(ids.PICTURE_URL, {"pathname": pathname, "search": search}), (ids.FILTERS, {"data": store}),
             *((control, {"value": value}) for control, value in zip(CONTROLS, values, strict=True)),
             (ids.ASAT_SHOWING, {"children": showing}), (ids.ASAT_MESSAGE, {"children": problem}),
             (ids.HEADLINE_ASAT, {"children": asat}), (ids.HEADLINE_TILES, {"children": tiles}),
             *((output, {"children": panel_answer(name, store, measure)}) for output, name in PANEL_OUTPUTS.items())]
    if can_export:
        props.append(({"type": ids.BRIEFING_LINK, "n": 0}, {"href": briefing_href_for(store)}))
    return filled(frame, props)


def _page(can_export: bool):
    areas = picture.areas_in_scope(db(), PictureQuery(include_neighbours=True))
    return view.layout(view.OverviewOptions(
        weeks=week_statuses(Filters()), areas=[(r.code, r.name, bool(r.is_home)) for r in areas.itertuples(index=False)],
        can_export=can_export))


def _week_options():
    """Every open dashboard asks for them when a return lands: rendered once for the deployment, like a panel."""
    key = ("rendered", "week-options", _version(), _clock("week-statuses", Filters()))
    return _answers().get(key, lambda: rendered(view.week_options(week_statuses(Filters())))).value()


def control_values(filters: Filters) -> tuple:
    return (filters.week_from.isoformat() if filters.week_from else "start",
            filters.week_to.isoformat() if filters.week_to else "latest", filters.area or "all", filters.scope,
            filters.as_at_date.strftime(picture.UK_DATE) if filters.as_at_date else None, filters.as_at_time,
            filters.measure)


def _from_controls(week_from, week_to, area, scope, asat_date, asat_time, measure) -> Filters:
    return Filters.from_data({"from": "" if week_from == "start" else week_from,
                              "to": "" if week_to == "latest" else week_to,
                              "area": "" if area == "all" else area, "scope": scope, "asat": asat_date,
                              "time": asat_time, "measure": measure})


def sync_filters(trigger, search, *values, current: dict | None = None) -> tuple:
    """The URL, the filters store and the controls kept in step, in one callback (Dash allows a callback to
    write what it reads). The page opening, or the browser's back and forward buttons, change the URL: the
    controls and the store follow it. A control changing (or an as-at box's Enter, leaving it, or Now): the URL
    and the store follow the controls; `current` is the store as it was, so that leaving an as-at box unchanged
    redraws nothing. An as-at that cannot be shown (unreadable, in the future, before the incident) leaves the
    picture live; the controls keep what was asked and the message says why.
    Returns (search, store, *control values, as-at shown in words, message)."""
    permissions.require(user(), permissions.VIEW_PICTURE)
    unchanged = (no_update,) * len(values)
    if trigger is None or trigger == ids.PICTURE_URL:
        wanted = Filters.from_search(search)
        filters, problem = checked(bounded_filters(wanted))
        shown = replace(filters, as_at_date=wanted.as_at_date, as_at_time=wanted.as_at_time)
        store = replace(filters, measure="count").to_data()
        if trigger is not None and store == current:
            store = no_update  # back to an address with the same filters: nothing to redraw
        return (no_update, store, *control_values(shown),
                picture.as_at_words(filters, _tz()), problem or "")
    if trigger == ids.ASAT_NOW:  # back to live: the as-at boxes are emptied
        values = (*values[:4], None, None, values[6])
        unchanged = (*unchanged[:4], None, None, unchanged[6])
    asat_date, asat_time = values[4], values[5]
    unreadable = picture.as_at_text_problem(asat_date, asat_time)
    wanted = _from_controls(*values)
    filters, problem = checked(bounded_filters(
        replace(wanted, as_at_date=None, as_at_time=None) if unreadable else wanted))
    store = replace(filters, measure="count").to_data()
    search_out = filters.to_search()
    if trigger == ids.MAP_MEASURE or (trigger in (ids.ASAT_DATE, ids.ASAT_TIME) and store == (current or {})):
        store = no_update
        search_out = no_update if trigger != ids.MAP_MEASURE else search_out
    return search_out, store, *unchanged, picture.as_at_words(filters, _tz()), unreadable or problem or ""


# --- panels -----------------------------------------------------------------------------------------------

def _can_drill() -> bool:
    return permissions.allowed(user(), permissions.DRILL_DOWN)


def _past(filters: Filters) -> bool:
    return filters.as_at_date is not None


def _headlines(filters: Filters, can_drill: bool):
    headlines = result("headlines", filters)
    status = week_status(filters, headlines.week)
    as_at = _as_at_text(filters, headlines.as_at) if _past(filters) else _live_text(filters)
    header = view.picture_header(headlines.week, as_at, _past(filters), headlines.returns_in, headlines.returns_due,
                                 any(t.revised for t in headlines.tiles), headlines.returns_from, status)
    return header, view.tiles(headlines, can_drill, _past(filters), status)


def _releases(filters: Filters, can_drill: bool):
    by_area, series = result("releases", filters), result("series", filters)
    codes = [a.code for a in by_area.areas]
    return panels.releases_children(
        by_area, series, picture.releases_table(by_area), picture.series_table(series), geo.boundaries_url(),
        geo.known_codes(), geo.view_for(codes), filters.measure, can_drill, _past(filters), geo.ATTRIBUTION)


def _shortfall(filters: Filters, can_drill: bool):
    found = result("shortfall", filters)
    return panels.shortfall_children(found, picture.shortfall_table(found), picture.shortfall_sentence(found),
                                   can_drill, _past(filters))


def _pressure(filters: Filters, can_drill: bool):
    return panels.pressure_children(result("pressure", filters), can_drill, _past(filters))


def _completeness(filters: Filters, _can_drill: bool):
    """Assembled (layouts.plain.fill_slots) from the grid's rendered answer, kept by week, and each agency's
    last received, kept for any week: after a return for another week, only the small part is read again."""
    def local(moment: dt.datetime) -> str:
        return picture.local_time(moment, _tz())

    grid = result("completeness-grid", filters)
    key = ("rendered", "completeness-grid", _view_stamp("completeness-grid", filters), filters,
           _clock("completeness", filters))
    parts = _cache().get(key, lambda: panels.completeness_parts(grid, local))
    last = _last_received(filters)
    rows = grid.agencies if len(parts.pieces) > 1 else ()
    return fill_slots(parts, [panels.last_received_text(last.get(row.slug), local) for row in rows])


def _forward(filters: Filters, can_drill: bool):
    found = result("forward", filters)
    return panels.forward_children(found, picture.forward_table(found), can_drill, _past(filters))


# Each panel's body from (filters, may the reader drill down): no request, no user, so it can be rendered ahead.
BUILDERS = {"headlines": _headlines, "releases": _releases, "shortfall": _shortfall, "pressure": _pressure,
            "completeness": _completeness, "forward": _forward}


def answer(name: str, filters: Filters, can_drill: bool, reader: str | None = None):
    """A panel's answer as JSON, built once per data version, filters and whether the reader may drill down:
    every dashboard asking the same question before the next return gets it ready-made. A reader's view is
    noted, so that the next data version can be rendered ahead for it (render_ahead) when it is a dashboard's
    opening view or more than one reader asked for it."""

    def render():
        return rendered(BUILDERS[name](filters, can_drill))

    share = True  # rendering ahead: for views worth it
    if reader is not None:
        views, view = _recent_views(current_app), (name, filters, can_drill)
        views.seen(view, reader, canonical=filters.is_default_view())
        share = views.worth(view)
    return _answers().get(_answer_key(name, filters, can_drill), render, share=share).value()


def _answer_key(name: str, filters: Filters, can_drill: bool) -> tuple:
    return ("rendered", name, _view_stamp(name, filters), filters, _clock(name, filters), can_drill)


def kept_answer(name: str, sent: Filters, can_drill: bool, reader: str | None = None):
    """The answer kept for the filters exactly as the browser sent them, or None: a dashboard's request served
    before any panel code runs (no bounds, no as-at check; the data version read, and with no week chosen the
    week statuses, kept per version, for the week the view resolves to; the changes held in memory). Safe because
    answer() keys only by filters that were already bounded and checked: filters found here needed no change,
    so no notice is due."""
    found = _answers().peek(_answer_key(name, sent, can_drill))
    if found is None:
        return None
    if reader is not None:
        _recent_views(current_app).seen((name, sent, can_drill), reader, canonical=sent.is_default_view())
    return found.value()


def _reader() -> str:
    return str(getattr(user(), "id", ""))


def panel_answer(name: str, data, measure: str | None = None):
    """A panel's answer for the filters a dashboard holds: kept, or computed once for the deployment."""
    can_drill, reader = _can_drill(), _reader()

    def own(filters: Filters) -> Filters:  # the map's count or rate: the releases panel's control, not a filter
        return replace(filters, measure=measure or "count") if name == "releases" else filters

    kept = kept_answer(name, own(Filters.from_data(data)), can_drill, reader)
    if kept is not None:
        return kept
    return answer(name, own(filters_from(data)), can_drill, reader)


def releases_panel(data, measure):
    permissions.require(user(), permissions.VIEW_PICTURE)
    return panel_answer("releases", data, measure)


LIVE_OUTPUTS = (ids.HEADLINE_ASAT, ids.HEADLINE_TILES, *PANEL_OUTPUTS)


def live_redraw(data, measure) -> tuple:
    """For a new data version: the week picker's weeks, the headline and every panel (LIVE_OUTPUTS' order)."""
    permissions.require(user(), permissions.VIEW_PICTURE)
    asat, tiles = panel_answer("headlines", data)
    return (_week_options(), asat, tiles,
            *(panel_answer(name, data, measure) for name in PANEL_OUTPUTS.values()))


def _or_alert(compute, width: int = 1, lost: list | None = None):
    """A panel's answer, or, if it fails, no answer for it (it keeps what it showed) and the failure in the
    page's alert, as Dash's on_error would say it: the other panels and the change of filters still land.
    Once the database could not be reached (noted in `lost`), the next panels are not tried: each would wait
    for a connection only to fail the same way."""
    skipped = (no_update,) * width if width > 1 else no_update
    if lost:
        return skipped
    try:
        return compute()
    except Exception as exc:  # noqa: BLE001  (error_alert logs it, with a reference, and says so)
        error_alert(exc)
        if lost is not None and connection_lost(exc):
            lost.append(exc)
        return skipped


def filter_change(trigger, search, *values, current: dict | None = None, links: int = 0) -> tuple:
    """A change of filters in one answer: sync_filters' URL, store, controls and as-at texts, then the pack
    link's address, the headline and every panel (LIVE_OUTPUTS' order), where a dashboard used to send a
    request for the filters and then seven more, one for each listener of the store. When the filters did not
    change (the map's measure, an as-at box left as it was) nothing below them is sent. `values` are the
    controls' values (CONTROLS' order); `links` how many pack links the page has (none for roles that may not
    export)."""
    search_out, store, *controls, showing, problem = sync_filters(trigger, search, *values, current=current)
    measure = values[-1] if controls[-1] is no_update else controls[-1]
    if controls[-1] is not no_update and controls[-1] == values[-1]:
        controls[-1] = no_update  # the map's own callback listens to the measure: not asked again for nothing
    if store is no_update:
        panels_out = ([no_update] * links, *(no_update,) * len(LIVE_OUTPUTS))
    else:
        lost: list = []
        headline = _or_alert(lambda: panel_answer("headlines", store), 2, lost)
        panels_out = ([briefing_href_for(store)] * links, *headline,
                      *(_or_alert(lambda name=name: panel_answer(name, store, measure), lost=lost)
                        for name in PANEL_OUTPUTS.values()))
    return (search_out, store, *controls, showing, problem, *panels_out)


# --- rendering ahead for a new data version ---------------------------------------------------------------

def _view_text(view) -> str:
    name, filters, can_drill = view
    return orjson.dumps([name, filters.to_data(), can_drill], option=orjson.OPT_SORT_KEYS).decode()


def _view_from(text: str):
    name, data, can_drill = orjson.loads(text)
    return name, Filters.from_data(data), bool(can_drill)


def _recent_views(app) -> picture.RecentViews | picture.SharedRecentViews:
    views = app.extensions.get("maic.recent_views")
    if views is None:
        store = redis_store.for_app(app)
        views = picture.RecentViews() if store is None else picture.SharedRecentViews(
            picture.RecentViews(), store, _view_text, _view_from)
        views = app.extensions.setdefault("maic.recent_views", views)
    return views


def render_ahead(app, version: int) -> None:
    """Render the views asked for lately at a new data version (in the warmer's thread, with its own
    application context and database session), newest first."""
    with app.app_context():
        g.maic_data_version = picture.data_stamp(db())  # `version`, or a newer one if another return landed
        bounds = _bounds()  # every request at the new version bounds its filters first
        _week_options()
        for name, filters, can_drill in _recent_views(app).newest_first():
            # Only views still inside the bounds (a void can move the latest week back): answers are kept only
            # under filters that need no change, which kept_answer relies on.
            if filters.within(bounds)[0] == filters:
                answer(name, filters, can_drill)


def _warmer() -> picture.Warmer | picture.SharedWarmer:
    """Per process, or with Redis claimed once for the deployment: one worker renders a new version ahead."""
    app = current_app._get_current_object()
    warmer = app.extensions.get("maic.warmer")
    if warmer is None:
        store, hold = redis_store.for_app(app), float(setting("MAIC_LIVE_RENDER_AHEAD_SECONDS"))
        warm = lambda version: render_ahead(app, version)  # noqa: E731
        warmer = picture.Warmer(warm, hold) if store is None else picture.SharedWarmer(warm, hold, store)
        warmer = app.extensions.setdefault("maic.warmer", warmer)
    return warmer


# --- drill-down -------------------------------------------------------------------------------------------

def figure_for(trigger: dict, value, query: PictureQuery) -> picture.FigureRef | None:
    """Which figure was clicked: a tile, a red cell in the list, or a point on the map/shortfall/heatmap/forward."""
    session = db()
    kind = trigger.get("type")
    if kind == ids.DRILL_TILE:
        return picture.tile_figure(session, query, trigger["key"], TILE_LABELS.get(trigger["key"], trigger["key"]))
    if kind == ids.DRILL_CELL:
        return picture.cell_figure(session, query, trigger["metric"], trigger["area"])
    if kind == ids.DRILL_AREA_BUTTON:
        area = trigger["area"]
        return picture.area_figure(session, query, ("releases_total",), area,
                                   f"People released, {_area_names().get(area, area)}", whole_range=True)
    point = (value or {}).get("points", [{}])[0]
    custom = point.get("customdata") or []
    panel = trigger.get("panel")
    if panel == "map" and point.get("location"):
        return picture.area_figure(session, query, ("releases_total",), point["location"],
                                   f"People released, {custom[0] if custom else point['location']}", whole_range=True)
    if panel == "shortfall" and custom:
        return picture.area_figure(session, query, tuple(picture.SHORTFALL_METRICS), custom[0],
                                   f"Accommodation shortfall, {point.get('y', custom[0])}", whole_range=False)
    if panel == "heatmap" and point.get("x") and point.get("y"):
        metric = picture.metric_key_for(session, point["y"])
        area = {name: code for code, name in _area_names().items()}.get(point["x"])
        if metric and area:
            return picture.cell_figure(session, query, metric, area, f"{point['y']}, {point['x']}")
    if panel == "forward" and custom:
        return picture.area_figure(session, query, FORWARD_METRICS, custom[0], f"Forward look, {point.get('x')}",
                                   whole_range=False)
    return None


GRAPH_PANELS = {"map": "releases", "shortfall": "shortfall", "heatmap": "pressure", "forward": "forward"}


def origin_of(trigger: dict) -> tuple[str, str]:
    """Where the clicked figure sits (element id, name): the drill-down's way back."""
    kind = trigger.get("type")
    panel = {ids.DRILL_CELL: "pressure", ids.DRILL_AREA_BUTTON: "releases"}.get(kind) or (
        GRAPH_PANELS.get(trigger.get("panel", "")) if kind == ids.DRILL_GRAPH else None)
    if panel is None:
        return view.TILES_ANCHOR
    return f"panel-{panel}", next(title for key, title, *_ in view.PANELS if key == panel)


def figure_data(figure: picture.FigureRef, origin: tuple[str, str] = view.TILES_ANCHOR) -> dict:
    return {"label": figure.label, "metrics": list(figure.metrics), "from": figure.week_from.isoformat(),
            "to": figure.week_to.isoformat(), "areas": list(figure.area_codes), "origin": origin[0]}


def figure_from(data: dict) -> picture.FigureRef:
    return picture.FigureRef(data["label"], tuple(data["metrics"]), dt.date.fromisoformat(data["from"]),
                             dt.date.fromisoformat(data["to"]), tuple(data["areas"]))


def drill_panel(trigger, value, data):
    """The returns behind the clicked figure, as at the filters' time. Returns (panel children, drill state)."""
    if not value:  # components re-rendered, nothing clicked: no answer, nothing disclosed
        return no_update, no_update
    permissions.require(user(), permissions.DRILL_DOWN)
    if not isinstance(trigger, dict) or trigger.get("type") == ids.DRILL_CLOSE:
        return [], None
    filters = filters_from(data)
    query = query_for(filters)
    figure = figure_for(trigger, value, query)
    if figure is None:
        return [panels.message("There is no figure there to follow.")], None
    drill = picture.returns_behind(db(), query, figure)
    origin = origin_of(trigger)
    calculation = None
    if set(figure.metrics) == set(picture.SHORTFALL_METRICS):
        found = result("shortfall", filters)
        calculation = [r for r in found.rows if not figure.area_codes or r.area_code in figure.area_codes]
    return panels.drill_children(drill, picture.drill_table(drill, _tz()), _as_at_text(filters, drill.as_at),
                                 _filters_text(filters), view.export_button("drill", permissions.allowed(
                                     user(), permissions.EXPORT)), back=origin,
                                 shortfall_rows=calculation), figure_data(figure, origin)


# --- export -----------------------------------------------------------------------------------------------

EXPORT_TITLES = {"headlines": "Headlines", "releases-areas": "Releases by area", "releases-weeks": "Releases by week",
                 "shortfall": "Accommodation shortfall by area", "pressure": "Service pressure (RAG) by area",
                 "completeness": "Returns completeness by agency and week", "forward": "Forward look by area",
                 "drill": "Returns behind a figure"}


def export_table(panel: str, filters: Filters, drill_state: dict | None):
    tables = {
        "headlines": lambda: picture.headlines_table(result("headlines", filters)),
        "releases-areas": lambda: picture.releases_table(result("releases", filters)),
        "releases-weeks": lambda: picture.series_table(result("series", filters)),
        "shortfall": lambda: picture.shortfall_table(result("shortfall", filters)),
        "pressure": lambda: picture.pressure_table(result("pressure", filters)),
        "completeness": lambda: picture.completeness_table(result("completeness", filters)),
        "forward": lambda: picture.forward_table(result("forward", filters)),
    }
    if panel == "drill":
        figure = figure_from(drill_state or {})
        drill = picture.returns_behind(db(), query_for(filters), figure, limit=100_000)
        return picture.drill_table(drill, _tz()), f"{EXPORT_TITLES['drill']}: {figure.label}"
    return tables[panel](), EXPORT_TITLES[panel]


def export_csv(n_clicks, panel: str, data, drill_state):
    if not n_clicks:
        return no_update
    permissions.require(user(), permissions.EXPORT)
    if panel not in EXPORT_TITLES or (panel == "drill" and not drill_state):
        return no_update
    filters = filters_from(data)
    table, title = export_table(panel, filters, drill_state)
    as_at = filters.as_at(_tz())
    text = picture.csv_text(table, title=title, marking=setting("MAIC_PROTECTIVE_MARKING"),
                            as_at=picture.local_time(as_at or utcnow(), _tz()) + ("" if as_at else " (now)"),
                            filters=filters.describe(_area_names()))
    session = db()
    audit.record(session, getattr(user(), "username", ""), "picture.export", f"panel:{panel}",
                 f"{title}; {filters.to_search() or 'default filters'}", request.remote_addr or "")
    session.commit()
    stamp = (as_at or utcnow()).strftime("%Y%m%d-%H%M")
    return dcc.send_string(text, f"maic-{panel}-{stamp}.csv", type="text/csv")


def briefing_href_for(data) -> str:
    """The briefing pack's address for the filters on screen (the route checks them again)."""
    permissions.require(user(), permissions.VIEW_PICTURE)
    return "/briefings/pack" + Filters.from_data(data).to_search()


# --- live -------------------------------------------------------------------------------------------------

def check_version(_tick, known):
    # Neighbours poll it too, for the shared view: it reveals only that something changed.
    permissions.require(user(), permissions.DATA_VERSION)
    version = picture.data_version(db())
    if version == known:
        return no_update
    if known is not None and not _warmer().ready(version):
        return no_update  # the new picture is being rendered; tell this dashboard at its next check
    return version


def register(app) -> None:
    for key, action in ((f"{ids.HEADLINE_ASAT}.children", permissions.VIEW_PICTURE),
                        (f"{ids.HEADLINE_TILES}.children", permissions.VIEW_PICTURE),
                        (f"{ids.PICTURE_URL}.search", permissions.VIEW_PICTURE),
                        (f"{ids.FILTERS}.data", permissions.VIEW_PICTURE),
                        *((f"{c}.value", permissions.VIEW_PICTURE) for c in (
                            ids.WEEK_FROM, ids.WEEK_PICKER, ids.AREA_PICKER, ids.SCOPE_PICKER, ids.ASAT_DATE,
                            ids.ASAT_TIME, ids.MAP_MEASURE)),
                        (f"{ids.ASAT_SHOWING}.children", permissions.VIEW_PICTURE),
                        (f"{ids.ASAT_MESSAGE}.children", permissions.VIEW_PICTURE),
                        *((f"{panel}.children", permissions.VIEW_PICTURE) for panel in PANEL_OUTPUTS),
                        (f"{ids.DRILL_PANEL}.children", permissions.DRILL_DOWN),
                        (f"{ids.DRILL_STATE}.data", permissions.DRILL_DOWN),
                        (f"{ids.WEEK_PICKER}.options", permissions.VIEW_PICTURE),
                        (f"{ids.DRILL_FOCUS}.data", permissions.DRILL_DOWN),
                        (f"{{{ids.EXPORT_DOWNLOAD}}}.data", permissions.EXPORT),
                        (f"{{{ids.BRIEFING_LINK}}}.href", permissions.VIEW_PICTURE)):
        _guard.rule(key, action)

    # The page's shell holds the data version it was served at; the first check is the timer's first tick.
    app.callback(Output(ids.DATA_VERSION, "data"), Input(ids.LIVE_TIMER, "n_intervals"),
                 State(ids.DATA_VERSION, "data"), prevent_initial_call=True)(check_version)

    # The as-at boxes apply on Enter or on leaving the box (n_submit, n_blur), their text read as State: a
    # debounced dcc.Input (Dash 4.4) puts the caret back a key late and scrambles fast typing ("25/11" -> "2511/").
    # No initial call, here or below: the page opens with the address's filters and every panel
    # already drawn (render_page), so the browser asks for nothing more until something changes.
    # A change of filters is one request: the URL, the store, the controls, the pack link and every panel
    # (filter_change). Nothing listens to the store: the drill-down and the export read it as State.
    @app.callback(Output(ids.PICTURE_URL, "search"), Output(ids.FILTERS, "data"),
                  *(Output(c, "value") for c in CONTROLS), Output(ids.ASAT_SHOWING, "children"),
                  Output(ids.ASAT_MESSAGE, "children"),
                  # Pattern-matched, because only roles that may export have the link; the address reveals
                  # nothing (the route checks EXPORT), so any reader of the picture may be sent it.
                  Output({"type": ids.BRIEFING_LINK, "n": ALL}, "href"),
                  *(Output(output, "children") for output in LIVE_OUTPUTS),
                  Input(ids.PICTURE_URL, "search"),
                  *(Input(c, "value") for c in CONTROLS if c not in (ids.ASAT_DATE, ids.ASAT_TIME)),
                  *(Input(c, prop) for c in (ids.ASAT_DATE, ids.ASAT_TIME) for prop in ("n_submit", "n_blur")),
                  Input(ids.ASAT_NOW, "n_clicks"), State(ids.ASAT_DATE, "value"), State(ids.ASAT_TIME, "value"),
                  State(ids.FILTERS, "data"), prevent_initial_call=True)
    def filters(search, week_from, week_to, area, scope, measure, *as_at):
        *_applied, asat_date, asat_time, current = as_at
        # Pressing Now also leaves the box the cursor was in: both arrive together, and Now wins.
        now = f"{ids.ASAT_NOW}.n_clicks" in ctx.triggered_prop_ids
        return filter_change(ids.ASAT_NOW if now else ctx.triggered_id, search, week_from, week_to, area, scope,
                             asat_date, asat_time, measure, current=current, links=len(ctx.outputs_list[LINKS]))

    # New figures: the week picker's weeks and every panel redrawn in one answer (each part kept for the
    # deployment and rendered ahead), where a dashboard used to send seven requests for each return that landed.
    @app.callback(Output(ids.WEEK_PICKER, "options"),
                  *(Output(output, "children", allow_duplicate=True) for output in LIVE_OUTPUTS),
                  Input(ids.DATA_VERSION, "data"), State(ids.FILTERS, "data"), State(ids.MAP_MEASURE, "value"),
                  prevent_initial_call=True)
    def live(_version, data, measure):
        return live_redraw(data, measure)

    # A drill-down opens above the panels: bring it into view and move focus to its heading; when it closes,
    # focus goes back to where the figure was clicked.
    app.clientside_callback(
        """function(state) {
            setTimeout(function() {
                var target = null;
                if (state) { window.maicDrillOrigin = state.origin; target = document.getElementById('drill-heading'); }
                else if (window.maicDrillOrigin) {
                    target = document.getElementById(window.maicDrillOrigin); window.maicDrillOrigin = null;
                }
                if (target) { target.focus({preventScroll: true}); target.scrollIntoView({block: 'start'}); }
            }, 50);
            return state ? state.label : null;
        }""", Output(ids.DRILL_FOCUS, "data"), Input(ids.DRILL_STATE, "data"), prevent_initial_call=True)

    # The map's count or rate redraws the releases panel alone (the filters callback answers with the URL only).
    @app.callback(Output(ids.RELEASES_PANEL, "children", allow_duplicate=True), Input(ids.MAP_MEASURE, "value"),
                  State(ids.FILTERS, "data"), prevent_initial_call=True)
    def releases(measure, data):
        return releases_panel(data, measure)

    @app.callback(Output(ids.DRILL_PANEL, "children"), Output(ids.DRILL_STATE, "data"),
                  Input({"type": ids.DRILL_TILE, "key": ALL}, "n_clicks"),
                  Input({"type": ids.DRILL_CELL, "metric": ALL, "area": ALL}, "n_clicks"),
                  Input({"type": ids.DRILL_GRAPH, "panel": ALL}, "clickData"),
                  Input({"type": ids.DRILL_CLOSE, "n": ALL}, "n_clicks"),
                  Input({"type": ids.DRILL_AREA_BUTTON, "area": ALL}, "n_clicks"),
                  State(ids.FILTERS, "data"), prevent_initial_call=True)
    def drill(_tiles, _cells, _graphs, _close, _areas, data):
        return drill_panel(ctx.triggered_id, ctx.triggered[0]["value"] if ctx.triggered else None, data)

    @app.callback(Output({"type": ids.EXPORT_DOWNLOAD, "panel": MATCH}, "data"),
                  Input({"type": ids.EXPORT_BUTTON, "panel": MATCH}, "n_clicks"),
                  State(ids.FILTERS, "data"), State(ids.DRILL_STATE, "data"), prevent_initial_call=True)
    def export(n_clicks, data, drill_state):
        return export_csv(n_clicks, ctx.triggered_id["panel"], data, drill_state)

