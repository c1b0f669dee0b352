"""One page at a time: the URL path picks the page, after the permission check for that page."""

from __future__ import annotations

from dash import Input, Output, html

from callbacks._common import db, user
from layouts import ids, overview
from maic import permissions, picture

NOT_FOUND = html.Div([html.H1("Page not found"), html.P("There is no such page. Use the links above.")])


def render_page(pathname: str | None):
    current = user()
    path = (pathname or "/dash/").rstrip("/") or "/dash"
    if path in ("/dash", "/dash/overview"):
        permissions.require(current, permissions.VIEW_PICTURE)
        weeks = picture.weeks_with_data(db(), picture.PictureQuery())
        return overview.layout(weeks, weeks[-1] if weeks else None)
    return NOT_FOUND


def register(app) -> None:
    @app.callback(Output(ids.PAGE, "children"), Input(ids.URL, "pathname"))
    def route(pathname):
        return render_page(pathname)
