"""The Briefings page: every pack kept as issued, with its download, and "figures revised since this pack" when
a later correction touched a figure in it; analysts make and approve Warn and Inform briefs here.

Plain data in (PackRow, built by callbacks/briefings.py from maic.briefing), components out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dash import html

from layouts import ids
from layouts.components import scroll_box


@dataclass(frozen=True)
class PackRow:
    id: int
    made: str
    audience: str
    status: str
    week: str
    as_at: str
    made_by: str
    sha256: str
    href: str
    filename: str
    revised: list[str] = field(default_factory=list)  # one line per revised figure (the first few)
    revised_count: int = 0
    approved: str = ""
    can_download: bool = True


def table(rows: list[PackRow], can_approve: bool) -> html.Div:
    if not rows:
        return html.P("No pack has been made yet: use “Briefing pack (PDF)” on the common picture, or "
                      "`maic briefing`; the scheduler makes the SCG pack each week.", className="muted")
    head = html.Thead(html.Tr([html.Th(h, scope="col") for h in (
        "Pack", "Made", "For", "Week", "As at", "Made by", "Status", "Figures revised since this pack", "File")]))
    body = []
    for r in rows:
        revised = (html.Div([html.Strong(f"{r.revised_count} revised since this pack"),
                             html.Ul([html.Li(line) for line in r.revised])], className="revised")
                   if r.revised_count else "none")
        status = [r.status] + ([html.Br(), html.Span(r.approved, className="small")] if r.approved else [])
        if r.status == "draft" and can_approve:
            status += [html.Br(), html.Button("Approve", id={"type": ids.BRIEFING_APPROVE, "pack": r.id},
                                              className="button small",
                                              **{"aria-label": f"Approve Warn and Inform brief {r.id}"})]
        link = (html.A("Download", href=r.href, download=r.filename, **{"aria-label": f"Download pack {r.id}"})
                if r.can_download else html.Span("after approval", className="muted"))
        body.append(html.Tr([html.Th(str(r.id), scope="row"), html.Td(r.made), html.Td(r.audience), html.Td(r.week),
                             html.Td(r.as_at), html.Td(r.made_by), html.Td(status), html.Td(revised),
                             html.Td([link, html.Br(), html.Span(f"sha256 {r.sha256[:12]}…", className="small muted",
                                                                 title=r.sha256)])]))
    return scroll_box("Briefing packs", html.Table(className="history briefings", children=[
        html.Caption("Packs kept as issued, newest first"), head, html.Tbody(body)]))


def layout(rows: list[PackRow], can_approve: bool) -> html.Div:
    return html.Div([
        html.H1("Briefings"),
        html.P("Every briefing pack made is kept here exactly as issued. When a correction received later changes a "
               "figure a pack quoted, the pack says so below: the pack itself is never changed.", className="lede"),
        html.Div(className="controls", children=[
            html.Button("Make a Warn and Inform brief (draft)", id=ids.BRIEFINGS_COMMS, className="button"),
            html.P("Public-safe lines for communications colleagues, as at now: rounded to the nearest 5, nothing "
                   "below the disclosure threshold, no service ratings. A draft until an analyst approves it.",
                   className="hint"),
        ]) if can_approve else None,
        html.P(id=ids.BRIEFINGS_MESSAGE, role="status"),
        html.Div(id=ids.BRIEFINGS_TABLE, children=table(rows, can_approve)),
    ])
