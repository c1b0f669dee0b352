"""Plotly figures for the overview panels, built from plain data (lists, dicts, the picture's dataclasses).

Colours are colour-blind safe (Okabe-Ito); RAG cells also carry the letters R, A and G. Maps use
go.Choroplethmap on a blank "white-bg" style with explicit centre and zoom, so they draw offline.
Never touches the database.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import plotly.graph_objects as go

# Okabe-Ito, safe for the common colour-vision deficiencies.
BLUE, ORANGE, GREEN, SKY, VERMILLION, YELLOW, PINK, GREY = (
    "#0072B2", "#E69F00", "#009E73", "#56B4E9", "#D55E00", "#F0E442", "#CC79A7", "#999999")
RAG_COLOURS = {"R": VERMILLION, "A": YELLOW, "G": GREEN}
NO_DATA = "#e3e3e3"
FONT = dict(family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif", size=13, color="#0b0c0c")
CONFIG = {"displayModeBar": False, "responsive": True}


def _base(fig: go.Figure, height: int, **layout: Any) -> go.Figure:
    settings = dict(height=height, margin=dict(l=10, r=10, t=30, b=10), font=FONT, paper_bgcolor="#ffffff",
                    plot_bgcolor="#ffffff", legend=dict(orientation="h", y=-0.2))
    settings.update(layout)
    fig.update_layout(**settings)
    return fig


def choropleth(geojson: dict, areas: list, measure: str, view: tuple[float, float, float],
               height: int = 440) -> go.Figure:
    """Areas with a figure shaded by count or rate; areas without one in grey with 'no figures' on hover."""
    shaped = {f["properties"]["code"] for f in geojson["features"]}
    use_rate = measure == "rate"
    with_value = [a for a in areas if a.code in shaped and (a.rate if use_rate else a.count) is not None]
    without = [a for a in areas if a.code in shaped and (a.rate if use_rate else a.count) is None]
    fig = go.Figure()
    if without:
        fig.add_trace(go.Choroplethmap(
            geojson=geojson, featureidkey="properties.code", locations=[a.code for a in without],
            z=[0] * len(without), colorscale=[[0, NO_DATA], [1, NO_DATA]], showscale=False,
            marker=dict(line=dict(width=0.8, color="#ffffff")), name="no figures",
            customdata=[[a.name, a.note or "no figures"] for a in without],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"))
    if with_value:
        values = [a.rate if use_rate else a.count for a in with_value]
        fig.add_trace(go.Choroplethmap(
            geojson=geojson, featureidkey="properties.code", locations=[a.code for a in with_value], z=values,
            colorscale="Blues", zmin=0, zmax=max(values) or 1, marker=dict(line=dict(width=0.8, color="#0b0c0c")),
            colorbar=dict(title=dict(text="per 10,000" if use_rate else "people"), thickness=12),
            name="released",
            customdata=[[a.name, f"{a.count:,}", "no population" if a.rate is None else f"{a.rate:.2f}",
                         a.note] for a in with_value],
            hovertemplate=("<b>%{customdata[0]}</b><br>Released: %{customdata[1]}<br>"
                           "Per 10,000 people: %{customdata[2]}<br>%{customdata[3]}<extra></extra>")))
    lat, lon, zoom = view
    return _base(fig, height, map=dict(style="white-bg", center=dict(lat=lat, lon=lon), zoom=zoom),
                 margin=dict(l=0, r=0, t=0, b=0), showlegend=False)


def _markers(fig: go.Figure, markers: list[tuple[dt.date, str]], weeks: list[dt.date]) -> None:
    if not weeks:
        return
    first, last = weeks[0], weeks[-1] + dt.timedelta(days=6)
    for day, name in markers:
        if first <= day <= last:
            fig.add_vline(x=day.isoformat(), line=dict(color="#0b0c0c", width=1.5, dash="dash"))
            fig.add_annotation(x=day.isoformat(), y=1, yref="paper", text=name, showarrow=False,
                               xanchor="left", yanchor="bottom", font=dict(size=12))


def series_by_tranche(series, height: int = 300) -> go.Figure:
    weeks = [w for w in series.weeks]
    x = [w.week.isoformat() for w in weeks]
    fig = go.Figure()
    for name, attr, colour in (("Tranche one", "tranche1", BLUE), ("Tranche two", "tranche2", ORANGE),
                               ("Other releases", "other", SKY)):
        fig.add_trace(go.Bar(x=x, y=[getattr(w, attr) if w.total is not None else None for w in weeks], name=name,
                             marker_color=colour, hovertemplate=f"{name}: %{{y}}<extra>%{{x}}</extra>"))
    _markers(fig, series.markers, [w.week for w in weeks])
    return _base(fig, height, barmode="stack", xaxis=dict(type="date", tickformat="%d %b", hoverformat="week of %d %b %Y"),
                 yaxis=dict(title="People released", rangemode="tozero"),
                 legend=dict(orientation="h", x=0, y=-0.12, yanchor="top"))


def series_by_accommodation(series, height: int = 300) -> go.Figure:
    weeks = [w for w in series.weeks]
    x = [w.week.isoformat() for w in weeks]
    fig = go.Figure()
    for name, attr, colour in (("No fixed abode", "nfa", VERMILLION), ("Housed on release", "housed", BLUE)):
        fig.add_trace(go.Bar(x=x, y=[getattr(w, attr) if w.total is not None else None for w in weeks], name=name,
                             marker_color=colour, hovertemplate=f"{name}: %{{y}}<extra>%{{x}}</extra>"))
    _markers(fig, series.markers, [w.week for w in weeks])
    return _base(fig, height, barmode="stack", xaxis=dict(type="date", tickformat="%d %b", hoverformat="week of %d %b %Y"),
                 yaxis=dict(title="People released", rangemode="tozero"),
                 legend=dict(orientation="h", x=0, y=-0.12, yanchor="top"))


def shortfall_bars(rows: list, height: int | None = None) -> go.Figure:
    """Demand against spare places per area, worst shortfall on top; clicking a bar drills down."""
    ordered = list(reversed(rows))
    names = [r.area_name for r in ordered]
    codes = [[r.area_code] for r in ordered]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[r.spare for r in ordered], orientation="h", name="Spare places",
                         marker_color=BLUE, customdata=codes, hovertemplate="Spare places: %{x}<extra>%{y}</extra>"))
    fig.add_trace(go.Bar(y=names, x=[r.demand for r in ordered], orientation="h", name="Demand", marker_color=ORANGE,
                         customdata=codes, hovertemplate="Demand: %{x}<extra>%{y}</extra>",
                         text=[f"short {r.shortfall}" if r.shortfall else "" for r in ordered],
                         textposition="outside", cliponaxis=False))
    return _base(fig, height or max(240, 90 + 44 * len(rows)), barmode="group",
                 xaxis=dict(title="Households / places", rangemode="tozero"), yaxis=dict(automargin=True),
                 legend=dict(orientation="h", x=0, y=-0.25, yanchor="top", traceorder="reversed"),
                 margin=dict(l=10, r=60, t=10, b=10))


def trend_line(points: list[tuple[dt.date, int | None]], name: str, colour: str = VERMILLION,
               height: int = 220) -> go.Figure:
    fig = go.Figure(go.Scatter(x=[w.isoformat() for w, _ in points], y=[v for _, v in points], mode="lines+markers",
                               name=name, line=dict(color=colour, width=2), connectgaps=False,
                               hovertemplate=f"{name}: %{{y}}<extra>%{{x}}</extra>"))
    return _base(fig, height, xaxis=dict(type="date", tickformat="%d %b", hoverformat="week of %d %b %Y"),
                 yaxis=dict(title=name, rangemode="tozero"), showlegend=False)


RAG_Z = {"G": 0, "A": 1, "R": 2}


def rag_heatmap(metrics: list, areas: list[tuple[str, str]], cells: list, height: int | None = None) -> go.Figure:
    """Service (rows) x area (columns); colour and letter from the RAG; no figure: blank grey with a dash."""
    by_key = {(c.metric, c.area_code): c for c in cells}
    z, text, custom = [], [], []
    for m in metrics:
        row_z, row_t, row_c = [], [], []
        for code, _name in areas:
            c = by_key.get((m.key, code))
            rag = c.rag if c else None
            row_z.append(RAG_Z[rag] if rag else math.nan)
            row_t.append(rag or "–")
            value = "no return" if c is None or c.value is None else f"{c.value:,}"
            row_c.append([m.key, code, value, {"R": "red", "A": "amber", "G": "green"}.get(rag or "", c.note if c else "")])
        z.append(row_z)
        text.append(row_t)
        custom.append(row_c)
    colourscale = [[0, GREEN], [0.333, GREEN], [0.333, YELLOW], [0.666, YELLOW], [0.666, VERMILLION], [1, VERMILLION]]
    fig = go.Figure(go.Heatmap(
        z=z, x=[name for _c, name in areas], y=[m.label for m in metrics], text=text, texttemplate="%{text}",
        textfont=dict(size=14, color="#0b0c0c"), customdata=custom, zmin=0, zmax=2, colorscale=colourscale,
        showscale=False, xgap=2, ygap=2,
        hovertemplate="<b>%{y}</b><br>%{x}: %{customdata[2]} (%{customdata[3]})<extra></extra>"))
    return _base(fig, height or max(260, 80 + 34 * len(metrics)), plot_bgcolor=NO_DATA,
                 xaxis=dict(side="top", tickangle=-30, automargin=True), yaxis=dict(autorange="reversed", automargin=True),
                 margin=dict(l=10, r=10, t=10, b=10))


def forward_bars(result, height: int | None = None) -> go.Figure:
    rows = [r for r in result.rows if r.total is not None or r.spare is not None]
    names = [r.area_name for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[r.total for r in rows], name="Releases notified, next 4 weeks",
                         marker_color=ORANGE, customdata=[[r.area_code] for r in rows],
                         hovertemplate="Notified: %{y}<extra>%{x}</extra>"))
    fig.add_trace(go.Bar(x=names, y=[r.expected_nfa for r in rows], name="Of whom expected no fixed abode",
                         marker_color=VERMILLION, customdata=[[r.area_code] for r in rows],
                         hovertemplate="Expected NFA: %{y}<extra>%{x}</extra>"))
    fig.add_trace(go.Bar(x=names, y=[r.spare for r in rows], name="Spare TA places now", marker_color=BLUE,
                         customdata=[[r.area_code] for r in rows], hovertemplate="Spare places: %{y}<extra>%{x}</extra>"))
    return _base(fig, height or 320, barmode="group", yaxis=dict(title="People / places", rangemode="tozero"),
                 xaxis=dict(automargin=True))
