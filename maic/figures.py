"""Plotly figures for the overview panels and the briefing pack, built from plain data (the picture's dataclasses).

In maic (not layouts) so that the briefing pack (maic/briefing) draws exactly the dashboard's charts; layouts/figures.py
re-exports it for the dashboard. Imports neither plotly nor dash: figures are plain dicts.

Figures are plain dicts in plotly.js's JSON schema, not plotly.graph_objects: graph_objects validate and
deep-copy every property, which cost tens of milliseconds a figure and made each panel slow to draw; a dict
costs nothing to build and goes straight to JSON. The figure tests check the shapes plotly.js needs.

Colours are colour-blind safe (Okabe-Ito); RAG cells also carry the letters R, A and G. Maps use a
"choroplethmap" trace on a blank "white-bg" style with explicit centre and zoom, so they draw offline.
Never touches the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from maic.rounding import fixed

# Okabe-Ito, safe for the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, SKY, VERMILLION, YELLOW, PINK, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#56B4E9", "#D55E00", "#F0E442", "#CC79A7", "#999999")
# ColorBrewer's Blues, light to dark, written out: plotly.js's own "Blues" runs the other way.
BLUES = [[0.0, "rgb(247,251,255)"], [0.125, "rgb(222,235,247)"], [0.25, "rgb(198,219,239)"],
         [0.375, "rgb(158,202,225)"], [0.5, "rgb(107,174,214)"], [0.625, "rgb(66,146,198)"],
         [0.75, "rgb(33,113,181)"], [0.875, "rgb(8,81,156)"], [1.0, "rgb(8,48,107)"]]
RAG_COLOURS = {"R": VERMILLION, "A": YELLOW, "G": GREEN}
NO_DATA = "#e3e3e3"
GRID = "#e3e3e3"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", "size": 13, "color": "#0b0c0c"}
CONFIG = {"displayModeBar": False, "responsive": True}
WEEK_AXIS = {"type": "date", "tickformat": "%d %b", "hoverformat": "week of %d %b %Y"}

Figure = dict[str, Any]


def _axis(**settings: Any) -> dict[str, Any]:
    return {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True, **settings}


def _figure(traces: list[dict[str, Any]], height: int, **layout: Any) -> Figure:
    """A figure with the house layout; a key given in `layout` replaces the house value whole."""
    settings: dict[str, Any] = {
        "height": height, "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "font": FONT, "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff", "legend": {"orientation": "h", "y": -0.2}, "hovermode": "closest",
        "xaxis": _axis(), "yaxis": _axis()}
    settings.update(layout)
    return {"data": traces, "layout": settings}


def _axis_title(text: str) -> dict[str, Any]:
    return {"text": text}


def choropleth(boundaries_url: str, shaped: set[str], areas: list, measure: str,
               view: tuple[float, float, float], height: int = 440) -> Figure:
    """Areas with a figure shaded by count or rate; areas without one in grey with 'no figures' on hover.

    The boundaries are a URL that plotly.js fetches from our own server (once; the browser keeps it), so the
    figure carries only codes and values. `shaped` is the codes that have a boundary in that file.
    """
    use_rate = measure == "rate"
    with_value = [a for a in areas if a.code in shaped and (a.rate if use_rate else a.count) is not None]
    without = [a for a in areas if a.code in shaped and (a.rate if use_rate else a.count) is None]
    traces = []
    if without:
        traces.append({
            "type": "choroplethmap", "geojson": boundaries_url, "featureidkey": "properties.code",
            "locations": [a.code for a in without], "z": [0] * len(without),
            "colorscale": [[0, NO_DATA], [1, NO_DATA]], "showscale": False,
            "marker": {"line": {"width": 0.8, "color": "#ffffff"}}, "name": "no figures",
            "customdata": [[a.name, a.note or "no figures"] for a in without],
            "hovertemplate": "<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"})
    if with_value:
        values = [a.rate if use_rate else a.count for a in with_value]
        traces.append({
            "type": "choroplethmap", "geojson": boundaries_url, "featureidkey": "properties.code",
            "locations": [a.code for a in with_value], "z": values, "colorscale": BLUES,
            "zmin": 0, "zmax": max(values) or 1, "marker": {"line": {"width": 0.8, "color": "#0b0c0c"}},
            "colorbar": {"title": {"text": "per 10,000" if use_rate else "people"}, "thickness": 12},
            "name": "released",
            "customdata": [[a.name, f"{a.count:,}", "no population" if a.rate is None else fixed(a.rate, 2),
                            a.note] for a in with_value],
            "hovertemplate": ("<b>%{customdata[0]}</b><br>Released: %{customdata[1]}<br>"
                              "Per 10,000 people: %{customdata[2]}<br>%{customdata[3]}<extra></extra>")})
    lat, lon, zoom = view
    return _figure(traces, height, map={"style": "white-bg", "center": {"lat": lat, "lon": lon}, "zoom": zoom},
                   margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False)


def _markers(markers: list[tuple[dt.date, str]], weeks: list[dt.date]) -> dict[str, list]:
    """Tranche dates as dashed vertical lines with their names, for the weeks shown."""
    shapes: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if weeks:
        first, last = weeks[0], weeks[-1] + dt.timedelta(days=6)
        for day, name in markers:
            if first <= day <= last:
                x = day.isoformat()
                shapes.append({"type": "line", "xref": "x", "yref": "y domain", "x0": x, "x1": x, "y0": 0, "y1": 1,
                               "line": {"color": "#0b0c0c", "width": 1.5, "dash": "dash"}})
                notes.append({"x": x, "y": 1, "yref": "paper", "text": name, "showarrow": False, "xanchor": "left",
                              "yanchor": "bottom", "font": {"size": 12}})
    return {"shapes": shapes, "annotations": notes}


def _weekly_bars(series, parts: tuple[tuple[str, str, str], ...], height: int) -> Figure:
    weeks = list(series.weeks)
    x = [w.week.isoformat() for w in weeks]
    traces = [{"type": "bar", "x": x, "y": [getattr(w, attr) if w.total is not None else None for w in weeks],
               "name": name, "marker": {"color": colour}, "hovertemplate": f"{name}: %{{y}}<extra>%{{x}}</extra>"}
              for name, attr, colour in parts]
    return _figure(traces, height, barmode="stack", xaxis=_axis(**WEEK_AXIS),
                   yaxis=_axis(title=_axis_title("People released"), rangemode="tozero"),
                   legend={"orientation": "h", "x": 0, "y": -0.12, "yanchor": "top"},
                   **_markers(series.markers, [w.week for w in weeks]))


def series_by_tranche(series, height: int = 300) -> Figure:
    return _weekly_bars(series, (("Tranche one", "tranche1", BLUE), ("Tranche two", "tranche2", ORANGE),
                                 ("Other releases", "other", SKY)), height)


def series_by_accommodation(series, height: int = 300) -> Figure:
    return _weekly_bars(series, (("No fixed abode", "nfa", VERMILLION), ("Housed on release", "housed", BLUE)),
                        height)


def shortfall_bars(rows: list, height: int | None = None) -> Figure:
    """Demand against spare places per area, worst shortfall on top; clicking a bar drills down."""
    ordered = list(reversed(rows))
    names = [r.area_name for r in ordered]
    codes = [[r.area_code] for r in ordered]
    traces = [
        {"type": "bar", "y": names, "x": [r.spare for r in ordered], "orientation": "h", "name": "Spare places",
         "marker": {"color": BLUE}, "customdata": codes, "hovertemplate": "Spare places: %{x}<extra>%{y}</extra>"},
        {"type": "bar", "y": names, "x": [r.demand for r in ordered], "orientation": "h", "name": "Demand",
         "marker": {"color": ORANGE}, "customdata": codes, "hovertemplate": "Demand: %{x}<extra>%{y}</extra>",
         "text": [f"{r.shortfall} short now" if r.shortfall else "" for r in ordered], "textposition": "outside",
         "cliponaxis": False},
    ]
    return _figure(traces, height or max(240, 90 + 44 * len(rows)), barmode="group",
                   xaxis=_axis(title=_axis_title("Households / places"), rangemode="tozero"), yaxis=_axis(),
                   # Above the bars: below them it sat on the axis title whenever few areas made the chart short.
                   legend={"orientation": "h", "x": 0, "y": 1, "yanchor": "bottom", "traceorder": "reversed"},
                   margin={"l": 10, "r": 60, "t": 36, "b": 10})


def trend_line(points: list[tuple[dt.date, int | None]], name: str, colour: str = VERMILLION,
               height: int = 220) -> Figure:
    trace = {"type": "scatter", "x": [w.isoformat() for w, _ in points], "y": [v for _, v in points],
             "mode": "lines+markers", "name": name, "line": {"color": colour, "width": 2}, "connectgaps": False,
             "hovertemplate": f"{name}: %{{y}}<extra>%{{x}}</extra>"}
    return _figure([trace], height, xaxis=_axis(**WEEK_AXIS), yaxis=_axis(title=_axis_title(name), rangemode="tozero"),
                   showlegend=False)


RAG_Z = {"G": 0, "A": 1, "R": 2}
RAG_NAMES = {"R": "red", "A": "amber", "G": "green"}


def rag_heatmap(metrics: list, areas: list[tuple[str, str]], cells: list, height: int | None = None,
                area_lrfs: list[str] | None = None) -> Figure:
    """Service (rows) x area (columns); colour and letter from the RAG; no figure: blank grey with a dash.

    Every area is labelled (turned upright when there are many); with neighbours in scope the columns come
    in LRF blocks, divided by a line and named below.

    A clicked cell is known by its row and column labels (service label, area name), so the figure carries
    no per-cell keys: with hundreds of areas the panel's answer stays small.
    """
    by_key = {(c.metric, c.area_code): c for c in cells}
    z, text, hover = [], [], []
    for m in metrics:
        row_z, row_t, row_h = [], [], []
        for code, _name in areas:
            c = by_key.get((m.key, code))
            rag = c.rag if c else None
            row_z.append(RAG_Z[rag] if rag else None)
            row_t.append(rag or "–")
            value = "no return" if c is None or c.value is None else f"{c.value:,}"
            row_h.append(f"{value} ({RAG_NAMES.get(rag or '', c.note if c else '')})")
        z.append(row_z)
        text.append(row_t)
        hover.append(row_h)
    colourscale = [[0, GREEN], [0.333, GREEN], [0.333, YELLOW], [0.666, YELLOW], [0.666, VERMILLION], [1, VERMILLION]]
    trace = {"type": "heatmap", "z": z, "x": [name for _c, name in areas], "y": [m.label for m in metrics],
             "text": text, "texttemplate": "%{text}", "textfont": {"size": 14, "color": "#0b0c0c"},
             "hovertext": hover, "zmin": 0, "zmax": 2, "colorscale": colourscale, "showscale": False,
             "xgap": 2, "ygap": 2, "hoverongaps": True,
             "hovertemplate": "<b>%{y}</b><br>%{x}: %{hovertext}<extra></extra>"}
    many = len(areas) > 12
    shapes, notes = _lrf_blocks(area_lrfs or [])
    return _figure([trace], height or max(260, 80 + 34 * len(metrics)) + (150 if many else 0) + (60 if notes else 0),
                   plot_bgcolor=NO_DATA, shapes=shapes, annotations=notes,
                   xaxis=_axis(side="top", tickangle=-90 if many else -30, showgrid=False, tickmode="linear", dtick=1,
                               tickfont={"size": 11 if many else 13}, range=[-0.5, len(areas) - 0.5]),
                   yaxis=_axis(autorange="reversed", showgrid=False),
                   margin={"l": 10, "r": 10, "t": 10, "b": 60 if notes else 10})


def _lrf_blocks(area_lrfs: list[str]) -> tuple[list[dict], list[dict]]:
    """A dividing line between LRFs and each LRF's name under its block (nothing when there is one LRF)."""
    if len(set(area_lrfs)) < 2:
        return [], []
    starts = [i for i, name in enumerate(area_lrfs) if i == 0 or name != area_lrfs[i - 1]]
    ends = [*starts[1:], len(area_lrfs)]
    shapes = [{"type": "line", "xref": "x", "yref": "paper", "x0": i - 0.5, "x1": i - 0.5, "y0": -0.15, "y1": 1,
               "line": {"color": "#0b0c0c", "width": 2}} for i in starts[1:]]
    # Names alternate between two rows, so that a narrow block's name does not run into its neighbour's.
    notes = [{"xref": "x", "yref": "paper", "x": (start + end - 1) / 2, "y": -0.02 - 0.07 * (n % 2),
              "yanchor": "top", "showarrow": False, "text": area_lrfs[start].replace(" LRF", ""), "font": {"size": 12}}
             for n, (start, end) in enumerate(zip(starts, ends, strict=True))]
    return shapes, notes


def forward_bars(result, height: int | None = None) -> Figure:
    rows = [r for r in result.rows if r.total is not None or r.spare is not None]
    names = [r.area_name for r in rows]
    codes = [[r.area_code] for r in rows]
    traces = [{"type": "bar", "x": names, "y": [getattr(r, attr) for r in rows], "name": name,
               "marker": {"color": colour}, "customdata": codes, "hovertemplate": f"{hover}: %{{y}}<extra>%{{x}}</extra>"}
              for name, attr, colour, hover in (
                  ("Releases notified, next 4 weeks", "total", ORANGE, "Notified"),
                  ("Of whom expected no fixed abode", "expected_nfa", VERMILLION, "Expected NFA"),
                  ("Spare TA places now", "spare", BLUE, "Spare places"))]
    return _figure(traces, height or 320, barmode="group", yaxis=_axis(title=_axis_title("People / places"),
                                                                       rangemode="tozero"), xaxis=_axis())
