"""The shared view for neighbouring LRFs: one shareable metric at a time, area by week, protected figures.

Plain data in (SharedTableData built by callbacks/shared.py from maic.picture.shared), components out.
Every figure cell carries data-key="metric|area|week|measure", so tests can compare it with the API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from dash import dcc, html

from layouts import ids
from layouts.components import scroll_box
from layouts.loading import waiting


@dataclass(frozen=True)
class SharedCellData:
    key: str
    shown: str
    status: str
    covers: str = ""  # "5 of 6 areas" on a partial total


@dataclass(frozen=True)
class SharedRowData:
    label: str
    code: str
    cells: list[SharedCellData]
    total: bool = False


@dataclass
class SharedTableData:
    metric_label: str
    unit: str
    lrf_name: str
    threshold: int
    marking: str
    columns: list[str] = field(default_factory=list)
    rows: list[SharedRowData] = field(default_factory=list)

    def partial_notes(self) -> list[str]:
        """One line per partial total: which row and column, and how many figures it covers."""
        return [f"{row.label}, {column}: covers {cell.covers}" for row in self.rows
                for column, cell in zip(self.columns, row.cells, strict=True) if cell.covers]


def layout(lrf_name: str, metrics: list[tuple[str, str]], weeks: list[dt.date], areas: list[tuple[str, str]],
           threshold: int) -> html.Div:
    week_options = [{"label": f"w/c {w:%d %b %Y}", "value": w.isoformat()} for w in weeks]
    return html.Div([
        html.H1(f"Shared picture: {lrf_name}"),
        html.P(className="muted", children=[
            "What neighbouring LRFs see, read-only: shareable metrics at area level. ",
            f"Counts from 1 to {threshold - 1} are shown as <{threshold}; cells marked [c] are withheld so that "
            "a small count cannot be worked out from a total or from the difference between two weeks.",
        ]),
        html.Div(className="controls", children=[
            _control("Metric", dcc.Dropdown(id=ids.SHARED_METRIC, clearable=False,
                                            options=[{"label": label, "value": key} for key, label in metrics],
                                            value=metrics[0][0] if metrics else None)),
            _control("From week", dcc.Dropdown(id=ids.SHARED_WEEK_FROM, clearable=False, options=week_options,
                                               value=weeks[max(0, len(weeks) - 8)].isoformat() if weeks else None)),
            _control("To week", dcc.Dropdown(id=ids.SHARED_WEEK_TO, clearable=False, options=week_options,
                                             value=weeks[-1].isoformat() if weeks else None)),
            _control("Areas", dcc.Dropdown(id=ids.SHARED_AREAS, multi=True, placeholder="All areas",
                                           options=[{"label": name, "value": code} for code, name in areas])),
        ]),
        html.Div(id=ids.SHARED_ASAT),
        waiting(html.Div(id=ids.SHARED_TABLE, **{"aria-live": "polite"})),
        html.P([html.A("Download these figures (CSV)", id=ids.SHARED_EXPORT, href="/exports/shared.csv",
                       className="button"), " ",
                html.A("Neighbours' pack (PDF)", id=ids.SHARED_PACK, href="/briefings/neighbour", download="",
                       className="button secondary")]),
    ])


def _control(label: str, component) -> html.Div:
    return html.Div(className="control", children=[html.Label(label, htmlFor=component.id), component])


def table(data: SharedTableData) -> html.Div:
    if not data.rows:
        return html.P("No shared figures for this choice yet.", className="muted")
    head = html.Thead(html.Tr([html.Th("Area", scope="col"), *(html.Th(c, scope="col") for c in data.columns)]))
    body = html.Tbody([
        html.Tr(className="total" if row.total else None, children=[
            html.Th(row.label, scope="row"),
            *(html.Td(cell.shown, className=f"num {cell.status}" + (" partial" if cell.covers else ""),
                      title=f"covers {cell.covers}" if cell.covers else None, **{"data-key": cell.key})
              for cell in row.cells),
        ])
        for row in data.rows
    ])
    caption = html.Caption(f"{data.metric_label} ({data.unit}), {data.lrf_name}. {data.marking}.")
    notes = data.partial_notes()
    return html.Div(className="table-wrap", children=[
        scroll_box(f"{data.metric_label} by area", html.Table(className="shared", children=[caption, head, body])),
        html.Div(className="partial-notes", children=[
            html.P("† A total marked so lacks some areas' returns (a missing return is not a zero):"),
            html.Ul([html.Li(n) for n in notes])]) if notes else None,
        legend(data.threshold),
    ])


def legend(threshold: int) -> html.P:
    """What the marks in the table mean, beside the table where they appear."""
    return html.P(className="legend-note", children=[
        html.Strong(f"<{threshold}"), f": a count from 1 to {threshold - 1}, not shown exactly. ",
        html.Strong("[c]"), ": withheld, because with a total or the week before it would reveal a count "
        f"below {threshold}. ", html.Strong("no return"), ": no figure was sent for that area and week.",
    ])


def as_at_text(updated_local: str) -> html.Div:
    return html.Div(className="asat", children=html.Span(f"Figures updated {updated_local}"))
