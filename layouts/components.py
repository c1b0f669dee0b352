"""Pieces every page shares: the header with LRF, user and marking, navigation, tiles and messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dash import dcc, html

from layouts import ids
from layouts.roles import role_words


@dataclass(frozen=True)
class HeaderData:
    lrf_name: str
    user_name: str
    role: str
    marking: str
    demo: bool
    nav: tuple[tuple[str, str], ...]
    csrf_token: str
    unread: int | None = None  # the user's unread notifications; None: nobody signed in


def notify_count_text(unread: int | None) -> str:
    return "Notifications" if not unread else f"Notifications ({unread} unread)"


def marking_bar(marking: str) -> html.Div:
    return html.Div(marking, className="marking", role="note", **{"aria-label": "Protective marking"})


def header(data: HeaderData) -> html.Header:
    return html.Header(className="header", children=[
        html.P("MAIC common picture", className="title"),
        html.Span(data.lrf_name, className="lrf"),
        html.Span("Demo data", className="demo-flag") if data.demo else None,
        html.Span(className="who", children=[
            dcc.Link(notify_count_text(data.unread), href="/dash/notifications", id=ids.NOTIFY_COUNT,
                     className="notify-count") if data.unread is not None else None,
            " · " if data.unread is not None else None,
            f"{data.user_name} · {role_words(data.role)} · ",
            html.Form(method="post", action="/logout", children=[
                dcc.Input(type="hidden", name="csrf_token", value=data.csrf_token),
                html.Button("Sign out", type="submit", className="link"),
            ]),
        ]),
    ])


def nav(links: tuple[tuple[str, str], ...]) -> html.Nav:
    return html.Nav(className="nav", **{"aria-label": "Pages"},
                    children=[dcc.Link(label, href=href) for label, href in links])


def shell(data: HeaderData, live_poll_ms: int, notify_poll_ms: int, data_version: int | None = None) -> html.Div:
    """The frame around every page; the page body is filled by the router callback. It holds the data version
    the page was served at (None for a reader who may not see it): the live check compares with it from its
    first tick, and a page opening sends no check of its own."""
    return html.Div([
        dcc.Location(id=ids.URL, refresh=False),
        dcc.Store(id=ids.DATA_VERSION, data=data_version),
        dcc.Interval(id=ids.LIVE_TIMER, interval=live_poll_ms),
        # Unread notifications change far less often than figures: their own, slower clock, so a dozen open
        # dashboards do not double their requests for a count shown in the header (filled when the page loads).
        dcc.Interval(id=ids.NOTIFY_TIMER, interval=notify_poll_ms, disabled=data.unread is None),
        # Every piece of the page sits in a landmark (axe "region"); Dash's own page already has a <footer>.
        html.Div(marking_bar(data.marking), role="region", **{"aria-label": "Protective marking"}),
        header(data),
        nav(data.nav),
        html.Div(id=ids.ALERT, role="alert"),
        html.Main(id=ids.PAGE, className="page"),
        html.Div(marking_bar(data.marking), role="region", **{"aria-label": "Protective marking, end of page"}),
    ])


def fmt_int(value: int | None) -> str:
    return "no return" if value is None else f"{value:,}"


def fmt_change(change: int | None) -> tuple[str, str]:
    if change is None:
        return "no figure for last week", "change"
    if change == 0:
        return "no change on last week", "change"
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {abs(change):,} on last week", "change up" if change > 0 else "change down"


def scroll_box(label: str, table) -> html.Div:
    """A table wider than a phone scrolls inside its own box, never the page; the box takes the keyboard's
    focus so that it can be scrolled without a mouse, and is named for screen readers."""
    return html.Div(className="table-scroll", tabIndex="0", role="region", **{"aria-label": label}, children=table)


def tile(label: str, value: int | None, change: int | None, note: str = "", tile_id: str = "") -> html.Section:
    text, css = fmt_change(change)
    return html.Section(className="tile" + (" missing" if value is None else ""), id=tile_id or None,
                        **{"aria-label": label}, children=[
        html.Div(label, className="label"),
        html.Div(fmt_int(value), className="value"),
        html.Div(text, className=css),
        html.Div(html.Div(note, className="note") if note else None, className="foot"),
    ])


def as_at_line(week: dt.date | None, as_at: dt.datetime, returns_in: int, returns_due: int,
               tz_name: str = "Europe/London") -> html.Div:
    from zoneinfo import ZoneInfo

    local = as_at.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz_name))
    if week is None:
        return html.Div(className="asat", children=[html.Strong("No returns have been received yet."),
                                                     html.Span(f"As at {local:%d %b %Y %H:%M}")])
    return html.Div(className="asat", children=[
        html.Strong(f"Week beginning {week:%A %d %B %Y}"),
        html.Span(f"As at {local:%d %b %Y %H:%M} ({local:%Z})"),
        html.Span(f"{returns_in} of {returns_due} returns in", className="muted"),
    ])
