"""The overview page: headline tiles with change on last week, the as-at stamp and completeness."""

from __future__ import annotations

import datetime as dt

from dash import dcc, html

from layouts import ids
from layouts.components import as_at_line, tile


def layout(weeks: list[dt.date], selected: dt.date | None) -> html.Div:
    options = [{"label": f"Week beginning {w:%d %b %Y}", "value": w.isoformat()} for w in reversed(weeks)]
    return html.Div([
        html.H1("Common picture"),
        html.Div(className="controls", children=[
            html.Div(className="control", children=[
                html.Label("Week", htmlFor=ids.WEEK_PICKER),
                dcc.Dropdown(id=ids.WEEK_PICKER, options=options, clearable=False,
                             value=selected.isoformat() if selected else None,
                             placeholder="No weeks with returns yet"),
            ]),
        ]),
        html.Div(id=ids.HEADLINE_ASAT),
        html.Div(id=ids.HEADLINE_TILES, className="tiles", **{"aria-live": "polite"}),
    ])


def headline_children(headlines, tz_name: str) -> tuple[html.Div, list]:
    stamp = as_at_line(headlines.week, headlines.as_at, headlines.returns_in, headlines.returns_due, tz_name)
    if headlines.week is None:
        return stamp, [html.P("When the first return is committed its figures appear here.", className="muted")]
    tiles = [tile(t.label, t.value, t.change, t.note, tile_id=f"tile-{t.key}") for t in headlines.tiles]
    return stamp, tiles
