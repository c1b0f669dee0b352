"""The bodies of the overview's panels, from the picture's results (plain data): a sentence that says what
the panel shows, the chart, and the same figures as a table (every chart's text alternative).

Empty and partial data get a plain message, never a blank chart. Never touches the database.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from html import escape

from dash import dcc, html

from layouts import figures, ids
from layouts.plain import Slotted, slotted
from maic import dates
from maic.plaintext import one_line
from maic.rounding import cell_text, fixed

REVISED_MARK = "✱"


def message(text: str, kind: str = "info") -> html.P:
    return html.P(text, className=f"panel-message {kind}")


@functools.lru_cache(maxsize=8192)
def text_of(text: str) -> str:
    """Text for the escaped HTML string: escaped, and on one line. The string is read by dcc.Markdown as one raw
    HTML block, which a blank line would end (what followed would be read as Markdown: links, tables). Kept for the
    texts seen last: a table of thousands of cells repeats a few classes, letters and figures (a pure function
    of its text, so a kept answer is the answer)."""
    return escape(one_line(text))


def html_table(caption: str, header: list[str], rows: list[list[tuple]], *,
               header_titles: list[str] | None = None, css: str = "data") -> str:
    """A table as one escaped HTML string: thousands of cells as one component, not thousands (Dash renders
    every html.* element as its own React component, which made large tables take seconds to draw).
    rows: cells of (text, css class[, title]); the first cell of each row is its header."""
    def attr(name: str, value: str | None) -> str:
        return f' {name}="{text_of(value)}"' if value else ""

    titles = header_titles or [""] * len(header)
    parts = [f'<table class="{css}"><caption>{text_of(caption)}</caption><thead><tr>']
    parts += [f'<th scope="col"{attr("title", t)}>{text_of(h)}</th>' for h, t in zip(header, titles, strict=True)]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>")
        for i, (text, cls, *title) in enumerate(row):
            tag = "th" if i == 0 else "td"
            parts.append(f'<{tag}{attr("scope", "row" if i == 0 else None)}{attr("class", cls)}'
                         f'{attr("title", title[0] if title else None)}>{text_of(text)}</{tag}>')
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def scroll_region(label: str, table_html: str, extra_css: str = "") -> html.Div:
    return html.Div(className=("table-scroll " + extra_css).strip(), tabIndex="0", role="region",
                    **{"aria-label": label}, children=[
        dcc.Markdown(table_html, dangerously_allow_html=True, className="table-html")])


def data_table(frame, caption: str, *, label: str) -> html.Div:
    """A DataFrame as a table in a keyboard-scrollable region; 'Revised since' shows as a mark."""
    columns = [str(c) for c in frame.columns]
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(columns, row, strict=True):
            text = cell_text(value)
            if column == "Revised since":
                text = f"{REVISED_MARK} revised" if text == "yes" else ""
            cells.append((text, None))
        rows.append(cells)
    return scroll_region(label, html_table(caption, columns, rows))


def component_table(frame, caption: str, *, label: str) -> html.Div:
    """A DataFrame as a table of html components in a keyboard-scrollable region: for tables that show stored
    text (file names, people's names), which must never pass through Markdown or HTML. Kept for tables of at
    most a few hundred rows (each cell is a component)."""
    columns = [str(c) for c in frame.columns]
    body = [html.Tr([html.Th(cell_text(row[0]), scope="row"), *(html.Td(cell_text(v)) for v in row[1:])])
            for row in frame.itertuples(index=False)]
    return html.Div(className="table-scroll", tabIndex="0", role="region", **{"aria-label": label}, children=[
        html.Table(className="data", children=[
            html.Caption(caption), html.Thead(html.Tr([html.Th(c, scope="col") for c in columns])), html.Tbody(body)])])


def details(summary: str, content) -> html.Details:
    return html.Details(className="table-details", children=[html.Summary(summary), content])


def graph(panel: str, figure, label: str, clickable: bool) -> html.Div:
    component_id = {"type": ids.DRILL_GRAPH, "panel": panel} if clickable else f"graph-{panel}"
    return html.Div(className="chart", role="figure", **{"aria-label": label}, children=[
        dcc.Graph(id=component_id, figure=figure, config=figures.CONFIG)])


def _mark(revised: bool) -> str:
    return f" {REVISED_MARK}" if revised else ""


def revised_note(as_at_past: bool, any_revised: bool) -> html.P | None:
    if as_at_past and any_revised:
        return html.P(f"{REVISED_MARK} marks figures that have been revised since the as-at time.",
                      className="revised-note")
    return None


def _range_text(week_from: dt.date | None, week_to: dt.date | None) -> str:
    if not week_from or not week_to:
        return ""
    if week_from == week_to:
        return f"the week beginning {dates.day(week_to)}"
    return f"the weeks beginning {dates.day(week_from)} to {dates.day(week_to)}"


def releases_children(by_area, series, area_table, week_table, boundaries_url: str, shaped: set[str], view,
                      measure: str, can_drill: bool, past: bool, attribution: str) -> list:
    if by_area.week_to is None:
        return [message("No returns have been received yet: releases appear here when the first return is in.")]
    reported = [a for a in by_area.areas if a.count is not None]
    total = sum(a.count for a in reported)
    unshaped = [a.name for a in by_area.areas if a.code not in shaped]
    summary = (f"{total:,} people released into {len(reported)} of {len(by_area.areas)} areas over "
               f"{_range_text(by_area.week_from, by_area.week_to)}.")
    if not reported:
        summary = f"No release figures for {_range_text(by_area.week_from, by_area.week_to)}."
    top = sorted(reported, key=lambda a: -(a.rate if measure == "rate" and a.rate is not None else a.count or 0))[:3]
    if top:
        summary += " Highest " + ("rate per 10,000: " if measure == "rate" else "counts: ") + ", ".join(
            f"{a.name} ({fixed(a.rate, 2)})" if measure == "rate" and a.rate is not None else f"{a.name} ({a.count:,})"
            for a in top) + "."
    missing_pop = [a.name for a in reported if a.rate is None]
    notes = []
    if missing_pop:
        notes.append(message("No population figure for " + ", ".join(missing_pop) + ": rate per 10,000 not computed.",
                             "warning"))
    if unshaped:
        notes.append(message("No boundary bundled for " + ", ".join(unshaped) + ": see the table.", "warning"))
    map_label = (f"Map of people released by area, shaded by {'rate per 10,000 people' if measure == 'rate' else 'count'}"
                 ". " + summary)
    weeks_known = [w for w in series.weeks if w.total is not None]
    series_block: list = []
    if weeks_known:
        missing_weeks = len(series.weeks) - len(weeks_known)
        partial = [w for w in weeks_known if w.areas_reported < series.areas_expected]
        series_block = [
            html.H3("Released each week, by tranche"),
            graph("series-tranche", figures.series_by_tranche(series), "Bar chart of people released each week, "
                  "split into tranche one, tranche two and other releases, with the tranche dates marked.", False),
            html.H3("Released each week, by accommodation on release"),
            graph("series-accommodation", figures.series_by_accommodation(series),
                  "Bar chart of people released each week with no fixed abode and housed.", False),
            message(f"No release figures for {missing_weeks} of the {len(series.weeks)} weeks: shown as gaps, "
                    "not zero.", "warning") if missing_weeks else None,
            message(f"{len(partial)} of the weekly totals lack some areas' returns (a missing return is not a zero): "
                    + ", ".join(f"week of {w.week:%d %b} covers {w.areas_reported} of {series.areas_expected} areas"
                                for w in partial[:6]) + ("; see the table" if len(partial) > 6 else "") + ".",
                    "warning") if partial else None,
            details("Table: released each week", data_table(week_table, "People released each week",
                                                              label="Released each week, table")),
        ]
    else:
        series_block = [message("No weekly release figures for these weeks.")]
    return [
        html.P(summary, className="summary"),
        *notes,
        html.Div(className="two-up", children=[
            html.Div([graph("map", figures.choropleth(boundaries_url, shaped, by_area.areas, measure, view), map_label, can_drill),
                      html.P(attribution, className="attribution"),
                      area_drill(by_area.areas) if can_drill else None]),
            html.Div(series_block),
        ]),
        revised_note(past, any(a.revised for a in by_area.areas)),
        details("Table: released by area", data_table(area_table, "People released by area",
                                                      label="Released by area, table")),
    ]


def area_drill(areas) -> html.Details:
    """The map's drill-down without a mouse: a button per area for the returns behind its figure."""
    return html.Details(className="table-details area-drill", children=[
        html.Summary("Returns behind an area's figure"),
        html.P("Select an area on the map, or choose it here.", className="muted small"),
        html.Ul(className="area-buttons", children=[
            html.Li(html.Button(a.name, id={"type": ids.DRILL_AREA_BUTTON, "area": a.code}, className="link small",
                                **{"aria-label": f"Returns behind the figure for {a.name}"}))
            for a in areas]),
    ])


def shortfall_children(result, table, summary: str, can_drill: bool, past: bool) -> list:
    """`summary` is the panel's sentence (maic.picture.shortfall_sentence: the same in a briefing pack)."""
    if result.week is None:
        return [message(summary)]
    if not result.rows:
        return [message(summary, "warning")]
    trend_known = [p for p in result.trend if p[1] is not None]
    return [
        html.P(summary, className="summary"),
        message("No capacity figure for " + ", ".join(result.missing) + ": not counted.", "warning")
        if result.missing else None,
        html.Div(className="two-up", children=[
            graph("shortfall", figures.shortfall_bars(result.rows), "Bar chart of demand against spare places by "
                  "area, worst shortfall first. " + summary, can_drill),
            html.Div([html.H3("Total shortfall each week"), graph("shortfall-trend", figures.trend_line([(w, v) for w, v, _n in result.trend], "Shortfall"),
                  "Line chart of the total shortfall each week.", False)]) if len(trend_known) > 1 else
            message("The trend appears once two weeks have capacity figures."),
        ]),
        revised_note(past, any(r.revised for r in result.rows)),
        details("Table: shortfall by area", data_table(table, "Accommodation shortfall by area (demand = no fixed "
                                                              "abode + awaiting placement; spare = capacity - in TA)",
                                                       label="Shortfall by area, table")),
    ]


def pressure_matrix(result) -> str:
    """The heatmap's text alternative: services as rows (with their thresholds), areas as columns, each cell
    the RAG letter and the value. The long table with measures and notes is the panel's CSV export."""
    by_key = {(c.metric, c.area_code): c for c in result.cells}
    rows = []
    for m in result.metrics:
        cells = [(f"{m.label} ({m.threshold_text()})", None)]
        for code, _name in result.areas:
            c = by_key.get((m.key, code))
            # No title per cell: the row and column headers name it, and hundreds of areas made it heavy.
            if c is None or c.value is None:
                cells.append(("–", "rag-none"))
                continue
            cells.append((f"{c.rag or '–'} {c.value:,}" + (f" {REVISED_MARK}" if c.revised else ""),
                          f"rag-{c.rag or 'none'}"))
        rows.append(cells)
    return html_table("Service pressure by area: R red, A amber, G green, – no figure, then the value "
                      f"({REVISED_MARK} revised since the as-at time)",
                      ["Service (thresholds)"] + [name for _code, name in result.areas], rows, css="data grid")


def pressure_children(result, can_drill: bool, past: bool) -> list:
    if result.week is None:
        return [message("No returns have been received yet.")]
    rated = [c for c in result.cells if c.rag]
    if not rated:
        return [message(f"No service figures for the week beginning {dates.day(result.week)}.", "warning")]
    red = result.red
    counts = {k: sum(1 for c in rated if c.rag == k) for k in "RAG"}
    summary = (f"Week beginning {dates.day(result.week)}: {counts['R']} red, {counts['A']} amber, {counts['G']} green "
               f"of {len(result.cells)} service and area pairs ({len(result.cells) - len(rated)} without a figure).")
    by_key = {m.key: m for m in result.metrics}
    red_items = []
    for c in red:
        was = {"R": "red last week too", "A": "amber last week", "G": "green last week"}.get(c.previous_rag or "",
                                                                                        "no figure last week")
        text = f"{c.label}, {c.area_name}: {c.value:,}"
        red_items.append(html.Li([
            html.Span("R", className="rag rag-R letter", **{"aria-hidden": "true"}), " ", text,
            f" ({by_key[c.metric].threshold_text()}; {was})", " ",
            html.Button("Returns behind this", id={"type": ids.DRILL_CELL, "metric": c.metric, "area": c.area_code},
                        className="link small", **{"aria-label": f"Returns behind {c.label}, {c.area_name}"})
            if can_drill else None,
        ]))
    return [
        html.P(summary, className="summary"),
        html.Div(className="legend", children=[
            html.Span("R", className="rag rag-R letter"), " red ", html.Span("A", className="rag rag-A letter"),
            " amber ", html.Span("G", className="rag rag-G letter"), " green ",
            html.Span("–", className="rag rag-none letter"), " no figure"]),
        graph("heatmap", figures.rag_heatmap(result.metrics, result.areas, result.cells,
                                             area_lrfs=result.area_lrfs),
              "Heatmap of services by area coloured red, amber or green, with the letter in each cell. " + summary,
              can_drill),
        html.H3(f"At red ({len(red)})"),
        html.Ul(red_items, className="red-list") if red_items else html.P("No service is at red this week."),
        html.Div([html.H3("Service and area pairs at red, each week"),
                  graph("red-trend", figures.trend_line(result.red_trend, "Pairs at red"),
                        "Line chart of the number of service and area pairs at red each week.", False)])
        if sum(1 for _w, v in result.red_trend if v is not None) > 1 else None,
        revised_note(past, any(c.revised for c in result.cells)),
        details("Table: every service and area", scroll_region("Service pressure, table", pressure_matrix(result))),
    ]


GRID_WEEKS = 26


def completeness_children(result, tz_format) -> list:
    return _completeness_children(
        result, tz_format, lambda agency: tz_format(agency.last_received) if agency.last_received else "never")


def last_received_text(moment, tz_format) -> str:
    """One agency's "Last received" cell as it sits in the grid's HTML (completeness_parts' slots)."""
    return text_of(tz_format(moment) if moment else "never")


def completeness_parts(grid, tz_format) -> Slotted:
    """The completeness panel as JSON with a slot for each agency's "Last received" cell, in the grid's order:
    the part that depends only on the weeks shown, kept by week; fill_slots completes it with the part that
    reads every week (last_received_text), giving what completeness_children renders, byte for byte."""
    rows = len(grid.agencies) if grid.weeks else 0  # no weeks or no agencies: a message, no grid
    while True:
        slot = f"maicslot{uuid.uuid4().hex}"  # letters and digits: the same in HTML and JSON, escaped or not
        parts = slotted(_completeness_children(grid, tz_format, lambda _agency, slot=slot: slot), slot)
        if len(parts.pieces) == rows + 1:
            return parts
        # (never in practice: the data held the slot's text too; another slot is drawn)


def _completeness_children(result, tz_format, last_text) -> list:
    if not result.weeks:
        return [message("No returns have been received yet: the grid appears when the first return is in.")]
    if not result.agencies:
        return [message("No agencies are configured for this LRF.", "warning")]
    counts = result.counts()
    summary = (f"{counts['on_time']} on time, {counts['late']} late, {counts['missing']} missing"
               + (f", {counts['not_due']} not yet due" if counts["not_due"] else "")
               + f"; {counts['corrected']} corrected, over {len(result.weeks)} weeks and {len(result.agencies)} agencies.")
    # Newest week first, and no more than GRID_WEEKS of them: what is due now is what matters.
    weeks = list(reversed(result.weeks))[:GRID_WEEKS]
    rows = []
    for agency in result.agencies:
        cells = [(agency.name, None), (last_text(agency), "nowrap")]
        by_week = {c.week: c for c in agency.cells}
        for week in weeks:
            c = by_week[week]
            title = c.text + (f"; received {tz_format(c.first_received)}" if c.first_received else "")
            if c.corrected and c.last_received:
                title += f"; last {tz_format(c.last_received)}"
            cells.append((c.text, f"status status-{c.status}" + (" corrected" if c.corrected else ""), title))
        rows.append(cells)
    grid = html_table("Returns by agency and week, newest first (a missing return is shown as missing, never as "
                      "zero)", ["Agency", "Last received"] + [dates.day_month(w) for w in weeks], rows,
                      header_titles=["", ""] + [dates.week_beginning(w) for w in weeks], css="data grid")
    return [
        html.P(summary, className="summary"),
        html.Div(className="legend", children=[
            html.Span("On time", className="status status-on_time"), html.Span("Late", className="status status-late"),
            html.Span("Missing", className="status status-missing"),
            html.Span("Not yet due", className="status status-not_due"),
            html.Span("corrected: a later return replaced figures", className="status corrected")]),
        message(f"The grid shows the latest {GRID_WEEKS} of the {len(result.weeks)} weeks chosen; the counts above "
                "and the CSV export cover them all.") if len(result.weeks) > GRID_WEEKS else None,
        scroll_region("Returns completeness grid", grid, "grid-scroll"),
    ]


def forward_children(result, table, can_drill: bool, past: bool) -> list:
    if result.week is None:
        return [message("No returns have been received yet.")]
    totals = result.totals()
    if all(t is None for t in totals):
        return [message(f"No release notifications in the return for the week beginning {dates.day(result.week)}.",
                        "warning")]
    parts = [f"{t:,} in the week of {dates.day(w)}" if t is not None else f"no figure for the week of {dates.day(w)}"
             for w, t in zip(result.ahead, totals, strict=True)]
    share = ""
    if result.expected_total is not None:
        share = (f" About {result.share_text}{_mark(past and result.share_revised)} of recent releases had no "
                 f"fixed abode; at that share {result.expected_total:,}{_mark(past and result.expected_revised)} "
                 "may need emergency accommodation (worked out on the total and rounded once, so the areas' "
                 "figures in the table may not add up to it).")
    if result.coverage:
        share += f" Notifications cover {result.coverage}."
    short = [r for r in result.rows if r.short]
    summary = "Releases notified: " + "; ".join(parts) + "." + share
    if short:
        summary += (" Expected to run out of places over the next four weeks: " + ", ".join(
            f"{r.area_name} ({r.short} {'place' if r.short == 1 else 'places'} too few)" for r in short) + ".")
    return [
        html.P(summary, className="summary"),
        html.P("Places too few = people expected with no fixed abode in the next four weeks minus spare places "
               "now. It looks ahead, so it differs from the accommodation shortfall above, which is this week's "
               "demand (released with no fixed abode + awaiting placement) minus spare places.",
               className="muted small explain") if short else None,
        graph("forward", figures.forward_bars(result), "Bar chart by area of releases notified for the next four "
              "weeks, those expected with no fixed abode, and spare TA places now. " + summary, can_drill),
        revised_note(past, any(r.revised for r in result.rows) or result.share_revised or result.expected_revised),
        details("Table: forward look by area", data_table(table, "Releases notified for the coming four weeks "
                                                                 "against spare places", label="Forward look, table")),
    ]


def shortfall_calculation(rows) -> html.Div:
    """How the shortfall is worked out, area by area, with what each value means (the drill-down of the
    shortfall tile or a bar): the returns below are the figures these rows are made of."""
    header = ["Area", "Released with no fixed abode", "Awaiting placement", "Demand", "TA capacity",
              "Households in TA", "Spare places", "Shortfall"]
    titles = ["", "People released this week with no fixed abode", "Referrals awaiting placement at the end of the "
              "week", "Released with no fixed abode + awaiting placement", "Emergency and temporary places",
              "Households in emergency or temporary accommodation at the end of the week",
              "TA capacity - households in TA (never below 0)", "Demand - spare places (never below 0)"]
    body = [[(r.area_name, None), (f"{r.nfa:,}", None), (f"{r.awaiting:,}", None),
             (f"{r.nfa:,} + {r.awaiting:,} = {r.demand:,}", None), (f"{r.capacity:,}", None), (f"{r.in_ta:,}", None),
             (f"{r.capacity:,} - {r.in_ta:,} = {r.spare:,}" if r.capacity >= r.in_ta
              else f"none ({r.capacity:,} - {r.in_ta:,} is below 0)", None),
             (f"{r.demand:,} - {r.spare:,} = {r.shortfall:,}" if r.shortfall else "none", None)] for r in rows]
    total = sum(r.shortfall for r in rows)
    return html.Div(className="calculation", children=[
        html.H3("How the shortfall is worked out"),
        html.P("Demand = people released this week with no fixed abode + referrals awaiting placement. Spare places "
               "= TA capacity - households in TA. Shortfall = demand - spare places, or none when spare places "
               f"cover demand; the figure is the sum over areas: {total:,} places.", className="small"),
        scroll_region("How the shortfall is worked out, table",
                      html_table(f"Shortfall by area: {total:,} places", header, body, header_titles=titles)),
    ])


def drill_children(drill, table, as_at_text: str, filters_text: str, export=None, *,
                   back: tuple[str, str] | None = None, shortfall_rows=None) -> list:
    shown = len(drill.rows)
    heading = f"Returns behind: {drill.figure.label}"
    weeks = _range_text(drill.figure.week_from, drill.figure.week_to)
    info = (f"{shown} of {drill.total} recorded values" if drill.total > shown else f"{shown} recorded values")
    # A total of values is a figure only when they measure one thing: several measures are listed, not added.
    caption = (f"Values behind the figure (used total {drill.used_sum:,})" if len(drill.figure.metrics) == 1
               else "Values behind the figure, by measure")
    return [
        html.Div(className="drill-head", children=[
            html.H2(heading, id="drill-heading", tabIndex="-1"),
            html.A(f"Back to {back[1]}", href=f"#{back[0]}", className="button secondary small") if back else None,
            export,
            html.Button("Close", id={"type": ids.DRILL_CLOSE, "n": 0}, className="button secondary small"),
        ]),
        html.P(f"{info} for {weeks}, as at {as_at_text}; {filters_text}. 'used' values make up the figure; "
               "'superseded' ones had been replaced by a later return by then.", className="muted"),
        shortfall_calculation(shortfall_rows) if shortfall_rows else None,
        message("No return carries a value for this figure.") if not drill.rows else
        component_table(table, caption, label="Returns behind the figure"),
    ]
