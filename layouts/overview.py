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

PANELS = (
    ("releases", "Releases by area", ids.RELEASES_PANEL, ("releases-areas", "releases-weeks")),
    ("shortfall", "Accommodation shortfall", ids.SHORTFALL_PANEL, ("shortfall",)),
    ("pressure", "Service pressure", ids.PRESSURE_PANEL, ("pressure",)),
    ("completeness", "Returns completeness", ids.COMPLETENESS_PANEL, ("completeness",)),
    ("forward", "Forward look", ids.FORWARD_PANEL, ("forward",)),
)
EXPORT_LABELS = {"headlines": "headlines", "releases-areas": "by area", "releases-weeks": "by week",
                 "shortfall": "shortfall", "pressure": "service pressure", "completeness": "completeness",
                 "forward": "forward look", "drill": "drill-down"}


@dataclass(frozen=True)
class OverviewOptions:
    weeks: list[dt.date]
    areas: list[tuple[str, str, bool]] = field(default_factory=list)  # (code, name, is_home)
    can_export: bool = False


def _week_options(weeks: list[dt.date], first_label: str, first_value: str) -> list[dict]:
    return [{"label": first_label, "value": first_value}] + [
        {"label": f"Week beginning {w:%d %b %Y}", "value": w.isoformat()} for w in reversed(weeks)]


def export_button(panel: str, can_export: bool) -> html.Span | None:
    if not can_export:
        return None
    return html.Span([
        html.Button(f"Export {EXPORT_LABELS[panel]} (CSV)", id={"type": ids.EXPORT_BUTTON, "panel": panel},
                    className="button secondary small"),
        dcc.Download(id={"type": ids.EXPORT_DOWNLOAD, "panel": panel}),
    ])


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
        sections.append(html.Section(className="panel", id=f"panel-{key}", **{"aria-labelledby": f"h-{key}"},
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
        html.H1("Common picture"),
        html.Div(className="controls", role="search", **{"aria-label": "Filters"}, children=[
            control("From week", ids.WEEK_FROM, dcc.Dropdown(
                id=ids.WEEK_FROM, options=_week_options(options.weeks, "Start of the incident", "start"),
                value="start", clearable=False, searchable=False)),
            control("Week", ids.WEEK_PICKER, dcc.Dropdown(
                id=ids.WEEK_PICKER, options=_week_options(options.weeks, "Latest week with returns", "latest"),
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
        ]),
        html.Div(id=ids.HEADLINE_TILES, className="tiles", **{"aria-live": "polite"}),
        html.Section(id=ids.DRILL_PANEL, className="drill", tabIndex="-1", **{"aria-live": "polite"},
                     **{"aria-label": "Returns behind a figure"}),
        *sections,
    ])


def picture_header(week: dt.date | None, as_at_text: str, past: bool, returns_in: int, returns_due: int,
                   any_revised: bool, returns_from: str = "home agencies") -> html.Div:
    """What the figures are: the week, 'as at' in plain words, and how many returns are in."""
    if week is None:
        return html.Div(className="asat", children=[
            html.Strong("No returns have been received yet." if not past else "No returns had been received by then."),
            html.Span(f"As at {as_at_text}")])
    return html.Div(className="asat" + (" past" if past else ""), children=[
        html.Strong(f"Week beginning {week:%A %d %B %Y}"),
        html.Span(f"As at {as_at_text}" + (": the picture as it stood then" if past else ""),
                  className="asat-when"),
        html.Span(f"{returns_in} of {returns_due} returns in ({returns_from})", className="muted"),
        html.Span("✱ revised since: a figure marked so has changed after that time", className="revised-note")
        if past and any_revised else None,
    ])


def tiles(headlines, can_drill: bool, past: bool) -> list:
    if headlines.week is None:
        return [html.P("When the first return is committed its figures appear here.", className="muted")]
    out = []
    for t in headlines.tiles:
        text, css = fmt_change(t.change)
        out.append(html.Div(className="tile" + (" missing" if t.value is None else ""), id=f"tile-{t.key}",
                            role="group", **{"aria-label": t.label}, children=[
            html.Div(t.label, className="label"),
            html.Div([fmt_int(t.value), html.Span(" ✱", className="revised-mark", title="revised since")
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
