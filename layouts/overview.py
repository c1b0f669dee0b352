"""The overview page (the common picture): filters kept in the URL, the as-at control, headline tiles with
change on last week, and the six panels, each with its export; the drill-down opens above the panels.

Built from plain data; never touches the database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dash import dcc, html

from layouts import ids
from layouts.components import fmt_change, fmt_int
from layouts.loading import waiting
from maic import dates

# In the order the SCG reads them: what is short now, what is coming, which services are under strain, then
# where people went and whose returns are in (the wide grid last).
PANELS = (
    ("shortfall", "Accommodation shortfall", ids.SHORTFALL_PANEL, ("shortfall",)),
    ("forward", "Forward look", ids.FORWARD_PANEL, ("forward",)),
    ("pressure", "Service pressure", ids.PRESSURE_PANEL, ("pressure",)),
    ("releases", "Releases by area", ids.RELEASES_PANEL, ("releases-areas", "releases-weeks")),
    ("completeness", "Returns completeness", ids.COMPLETENESS_PANEL, ("completeness",)),
)
# Where a drill-down came from, for its "Back to" link: an element id and its name.
TILES_ANCHOR = ("headline-figures", "Headline figures")
TILE_UNITS = {"people": "people", "households": "households", "places": "places short",
              "cells": "service-area pairs"}
EXPORT_LABELS = {"headlines": "headlines", "releases-areas": "by area", "releases-weeks": "by week",
                 "shortfall": "shortfall", "pressure": "service pressure", "completeness": "completeness",
                 "forward": "forward look", "drill": "drill-down"}


@dataclass(frozen=True)
class OverviewOptions:
    weeks: list = field(default_factory=list)  # maic.picture.WeekStatus, newest first
    areas: list[tuple[str, str, bool]] = field(default_factory=list)  # (code, name, is_home)
    can_export: bool = False


def returns_in_text(status) -> str:
    text = f"{status.returns_in} of {status.returns_due} returns in"
    return text if status.due else text + ", not yet due"


def week_options(weeks: list) -> list[dict]:
    """The default first, then each week newest first; a week not yet quotable says it is in progress."""
    return [{"label": "Latest week mostly in", "value": "latest"}] + [
        {"label": dates.week_beginning(w.week) + ("" if w.quotable else f" (in progress: {returns_in_text(w)})"),
         "value": w.week.isoformat()} for w in weeks]


def _from_options(weeks: list) -> list[dict]:
    return [{"label": "Start of the incident", "value": "start"}] + [
        {"label": dates.week_beginning(w.week), "value": w.week.isoformat()} for w in weeks]


def export_button(panel: str, can_export: bool) -> html.Span | None:
    if not can_export:
        return None
    return html.Span([
        html.Button(f"Export {EXPORT_LABELS[panel]} (CSV)", id={"type": ids.EXPORT_BUTTON, "panel": panel},
                    className="button secondary small"),
        dcc.Download(id={"type": ids.EXPORT_DOWNLOAD, "panel": panel}),
    ])


def briefing_link(can_export: bool) -> html.A | None:
    """The SCG briefing pack (PDF) for exactly what is on screen: its href follows the filters (week, area,
    scope, as at); the server makes, keeps and audits the pack."""
    if not can_export:
        return None
    return html.A("Briefing pack (PDF)", id={"type": ids.BRIEFING_LINK, "n": 0}, href="/briefings/pack", download="",
                  className="button small", title="The SCG briefing pack for the week, area, scope and as-at shown")


def control(label: str, component_id: str, component, hint: str = "") -> html.Div:
    return html.Div(className="control", children=[html.Label(label, htmlFor=component_id), component,
                                                   html.Span(hint, className="hint") if hint else None])


def as_at_control() -> html.Fieldset:
    """The as-at picker: what is shown now, a date typed dd/mm/yyyy, a time typed HH:MM (UK time), Now to go back
    to live, and why an as-at was refused. Plain text boxes: Dash 4's DatePickerSingle keeps its calendar open
    after a date is typed and Tab walks into the calendar, not on to the time."""
    return html.Fieldset(className="control asat-control", children=[
        html.Legend("As at"),
        html.P(["Showing: ", html.Strong("now, live", id=ids.ASAT_SHOWING)], className="asat-showing",
               **{"aria-live": "polite"}),
        html.Div(className="asat-fields", children=[
            html.Div(className="asat-field", children=[
                html.Label("Date (dd/mm/yyyy)", htmlFor=ids.ASAT_DATE),
                dcc.Input(id=ids.ASAT_DATE, type="text", placeholder="dd/mm/yyyy", maxLength=10,
                          autoComplete="off", className="asat-date"),
            ]),
            html.Div(className="asat-field", children=[
                html.Label("Time (HH:MM)", htmlFor=ids.ASAT_TIME),
                dcc.Input(id=ids.ASAT_TIME, type="text", placeholder="HH:MM", maxLength=5,
                          autoComplete="off", className="asat-time"),
            ]),
            html.Button("Now", id=ids.ASAT_NOW, type="button", className="button secondary small",
                        **{"aria-label": "Now: show the live picture"}),
        ]),
        html.P("UK time. Type a date and a time, then press Enter; leave empty for now.", className="hint"),
        html.P(id=ids.ASAT_MESSAGE, className="asat-message", role="alert"),
    ])


def layout(options: OverviewOptions) -> html.Div:
    home = [{"label": name, "value": code} for code, name, is_home in options.areas if is_home]
    neighbours = [{"label": f"{name} (neighbour)", "value": code} for code, name, is_home in options.areas
                  if not is_home]
    sections = []
    for key, title, body_id, exports in PANELS:
        sections.append(html.Section(className="panel", id=f"panel-{key}", tabIndex="-1",
                                     **{"aria-labelledby": f"h-{key}"},
                                     children=[
            html.Div(className="panel-head", children=[
                html.H2(title, id=f"h-{key}"),
                html.Div(className="panel-tools", children=[
                    html.Fieldset(className="control inline", children=[
                        html.Legend("Map shows"),
                        dcc.RadioItems(id=ids.MAP_MEASURE, value="count", inline=True,
                                       options=[{"label": "count", "value": "count"},
                                                {"label": "rate per 10,000", "value": "rate"}],
                                       inputClassName="radio", labelClassName="radio-label"),
                    ]) if key == "releases" else None,
                    *[export_button(e, options.can_export) for e in exports],
                ]),
            ]),
            waiting(html.Div(id=body_id, className="panel-body", **{"aria-live": "polite"})),
        ]))
    return html.Div([
        dcc.Location(id=ids.PICTURE_URL, refresh=False),
        dcc.Store(id=ids.FILTERS),
        dcc.Store(id=ids.DRILL_STATE),
        dcc.Store(id=ids.DRILL_FOCUS),
        html.H1("Common picture"),
        contents(),
        html.Div(className="controls", role="search", **{"aria-label": "Filters"}, children=[
            control("From week", ids.WEEK_FROM, dcc.Dropdown(
                id=ids.WEEK_FROM, options=_from_options(options.weeks),
                value="start", clearable=False, searchable=False)),
            control("Week", ids.WEEK_PICKER, dcc.Dropdown(
                id=ids.WEEK_PICKER, options=week_options(options.weeks),
                value="latest", clearable=False, searchable=False, placeholder="No weeks with returns yet")),
            control("Area", ids.AREA_PICKER, dcc.Dropdown(
                id=ids.AREA_PICKER, options=[{"label": "All areas", "value": "all"}] + home + neighbours,
                value="all", clearable=False)),
            html.Fieldset(className="control", children=[
                html.Legend("LRF scope"),
                dcc.RadioItems(id=ids.SCOPE_PICKER, value="home", options=[
                    {"label": "Home only", "value": "home"},
                    {"label": "Home + neighbours", "value": "neighbours"}], inline=True,
                    inputClassName="radio", labelClassName="radio-label"),
            ]),
            as_at_control(),
        ]),
        html.Div(className="asat-row", children=[
            html.Div(id=ids.HEADLINE_ASAT, **{"aria-live": "polite"}),
            export_button("headlines", options.can_export),
            briefing_link(options.can_export),
        ]),
        html.Div(id=TILES_ANCHOR[0], tabIndex="-1", **{"aria-label": TILES_ANCHOR[1]}, role="region", children=[
            html.Div(id=ids.HEADLINE_TILES, className="tiles", **{"aria-live": "polite"})]),
        html.Section(id=ids.DRILL_PANEL, className="drill", tabIndex="-1", **{"aria-live": "polite"},
                     **{"aria-label": "Returns behind a figure"}),
        *sections,
    ])


def contents() -> html.Nav:
    """A short contents list: every panel one click away, in the order they appear."""
    links = [(TILES_ANCHOR[0], TILES_ANCHOR[1])] + [(f"panel-{key}", title) for key, title, *_ in PANELS]
    return html.Nav(className="contents", **{"aria-label": "On this page"}, children=[
        html.Span("On this page:", className="contents-title"),
        html.Ul([html.Li(html.A(title, href=f"#{anchor}")) for anchor, title in links]),
    ])


def incomplete(returns_in: int, returns_due: int, status) -> bool:
    """Not every return is in for the week (or its deadline has not passed): its figures are not totals."""
    return returns_in < returns_due or (status is not None and not status.due)


def picture_header(week: dt.date | None, as_at_text: str, past: bool, returns_in: int, returns_due: int,
                   any_revised: bool, returns_from: str = "home agencies", status=None) -> html.Div:
    """What the figures are: the week, 'as at' in plain words, and how many returns are in (prominent when not
    all are: a partial week must not be quoted as a total)."""
    if week is None:
        return html.Div(className="asat", children=[
            html.Strong("No returns have been received yet." if not past else "No returns had been received by then."),
            html.Span(as_at_text)])
    partial = incomplete(returns_in, returns_due, status)
    return html.Div(className="asat" + (" past" if past else ""), children=[
        html.Strong(dates.week_beginning(week)),
        html.Span(f"As at {as_at_text}: the picture as it stood then" if past else as_at_text,
                  className="asat-when"),
        html.Span(("Incomplete week: " if partial else "") + f"{returns_in} of {returns_due} returns in ({returns_from})"
                  + ("" if status is None or status.due else ", not yet due"),
                  className="week-incomplete" if partial else "muted"),
        html.Span("✱ revised since: a figure marked so has changed after that time", className="revised-note")
        if past and any_revised else None,
    ])


def _tile_value(t) -> list:
    if t.value is None:
        return [fmt_int(t.value)]
    return [fmt_int(t.value), " ", html.Span(TILE_UNITS.get(t.unit, t.unit), className="unit")]


def tiles(headlines, can_drill: bool, past: bool, status=None) -> list:
    if headlines.week is None:
        return [html.P("When the first return is committed its figures appear here.", className="muted")]
    partial = incomplete(headlines.returns_in, headlines.returns_due, status)
    in_text = f"{headlines.returns_in} of {headlines.returns_due} returns in" + (
        "" if status is None or status.due else ", not yet due")
    out = []
    for t in headlines.tiles:
        text, css = fmt_change(t.change)
        out.append(html.Div(className="tile" + (" missing" if t.value is None else "") + (" incomplete" if partial
                                                                                         else ""),
                            id=f"tile-{t.key}", role="group", **{"aria-label": t.label}, children=[
            # The warning sits in the title's row: the tile's four rows (subgrid) stay in line with its neighbours'.
            html.Div(className="label", children=[
                t.label, html.Div(f"Incomplete week: {in_text}; not a total", className="tile-warning")
                if partial else None]),
            html.Div([*_tile_value(t), html.Span(" ✱", className="revised-mark", title="revised since")
                      if past and t.revised else None], className="value"),
            html.Div(text, className=css),
            html.Div(className="foot", children=[  # the fourth row of the tile: the rest, whatever it holds
                html.Div(t.change_note, className="note change-note") if t.change_note else None,
                html.Div(f"Covers {t.coverage}", className="note coverage") if t.coverage else None,
                html.Div(t.note, className="note") if t.note else None,
                html.Div("revised since", className="revised-note") if past and t.revised else None,
                html.Button("Returns behind this", id={"type": ids.DRILL_TILE, "key": t.key},
                            className="link small", **{"aria-label": f"Returns behind {t.label}"})
                if can_drill and t.value is not None else None,
            ]),
        ]))
    return out
