"""Pages: each is a path, a nav label, the permission it needs and a function that builds it.

The router callback and the navigation both read PAGES, so a page a role may not use is neither shown in
its navigation nor rendered when its URL is typed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dash import Input, Output, html

from callbacks._common import user
from layouts import ids
from maic import permissions
from maic.errors import Forbidden


@dataclass(frozen=True)
class Page:
    path: str
    label: str
    action: str
    render: Callable[[], object]
    in_nav: bool = True


def _overview():
    from callbacks import overview as overview_callbacks  # issue 5: filters, panels, drill-down, export

    return overview_callbacks.render_page()


def _shared():
    from callbacks import shared

    return shared.render_page()


def _returns():
    from callbacks import returns  # issue 4

    return returns.render_page()


def _scheduler():
    from callbacks import scheduler  # issue 4

    return scheduler.render_page()


def _admin():
    from callbacks import admin

    return admin.render_page()


PAGES: list[Page] = [
    Page("/dash/", "Common picture", permissions.VIEW_PICTURE, _overview),
    Page("/dash/returns", "Returns", permissions.VIEW_RETURNS, _returns),  # issue 4
    Page("/dash/admin/scheduler", "Scheduler", permissions.ADMIN, _scheduler),  # issue 4
    Page("/dash/shared", "Shared view", permissions.VIEW_SHARED, _shared),  # issue 6
    Page("/dash/admin", "Admin", permissions.ADMIN, _admin),  # issue 6
]

NOT_FOUND = html.Div([html.H1("Page not found"), html.P("There is no such page. Use the links above.")])


def _normal(path: str | None) -> str:
    return (path or "/dash/").rstrip("/") + "/"


def page_for(pathname: str | None) -> Page | None:
    wanted = _normal(pathname)
    return next((p for p in PAGES if _normal(p.path) == wanted), None)


def nav_for(current) -> tuple[tuple[str, str], ...]:
    return tuple((p.label, p.path) for p in PAGES if p.in_nav and permissions.allowed(current, p.action))


def render_page(pathname: str | None):
    page = page_for(pathname)
    if page is None:
        return NOT_FOUND
    if not permissions.allowed(user(), page.action):
        raise Forbidden("your role cannot see this page")
    return page.render()


def register(app) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"))
    def route(pathname):
        return render_page(pathname)
