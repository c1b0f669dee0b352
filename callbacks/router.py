"""The router callback: the page for a URL, built by its callbacks module, or refused for a role that may not see it.

Which pages exist, their paths and permissions live in callbacks/pages.py (read by the guard and the
navigation too); this module only maps each page to the function that builds it.
"""

from __future__ import annotations

from collections.abc import Callable

from dash import Input, Output, State, html

from callbacks import admin, briefings, notifications, overview, returns, scheduler, shared
from callbacks._common import user
from callbacks.pages import PAGES, home_for, page_for
from layouts import ids
from maic import permissions
from maic.errors import Forbidden

BUILDERS: dict[str, Callable[[], object]] = {
    "/dash/": overview.render_page,  # with the address's filters: see render_page
    "/dash/returns": returns.render_page,
    "/dash/admin/scheduler": scheduler.render_page,
    "/dash/shared": shared.render_page,
    "/dash/briefings": briefings.render_page,
    "/dash/admin": admin.render_page,
    "/dash/notifications": notifications.render_page,
    "/dash/admin/outbox": notifications.render_outbox,
}

NOT_FOUND = html.Div([html.H1("Page not found"), html.P("There is no such page. Use the links above.")])


def not_for_you(home: str | None) -> html.Div:
    label = next((p.label for p in PAGES if p.path == home), None)
    return html.Div([html.H1("This page is not open to your role"),
                     html.P(["Your page is ", html.A(label, href=home), "."] if home and label
                            else "Ask an administrator what you can use.")])


def render_page(pathname: str | None, search: str | None = None):
    page = page_for(pathname)
    if page is None:
        return NOT_FOUND
    current = user()
    if current is None:
        raise Forbidden("sign in first")
    if not permissions.allowed(current, page.action):
        return not_for_you(home_for(current))
    if page.path == "/dash/":  # the common picture opens with its filters and panels drawn, in this one answer
        return overview.render_page(search, page.path)
    return BUILDERS[page.path]()


def register(app) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"), State(ids.URL, "search"))
    def route(pathname, search):
        return render_page(pathname, search)
