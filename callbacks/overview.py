"""Headline tiles: recomputed when the week changes or when the data version moves, not on every tick."""

from __future__ import annotations

from dash import Input, Output, State, no_update

from callbacks._common import db, parse_week, setting, user
from layouts import ids
from layouts.overview import headline_children
from maic import permissions, picture


def headline_panel(week: str | None):
    permissions.require(user(), permissions.VIEW_PICTURE)
    result = picture.headlines(db(), picture.PictureQuery(week_to=parse_week(week)))
    return headline_children(result, setting("MAIC_TIMEZONE"))


def check_version(_tick, known):
    permissions.require(user(), permissions.VIEW_PICTURE)
    version = picture.data_version(db())
    return no_update if version == known else version


def register(app) -> None:
    app.callback(Output(ids.DATA_VERSION, "data"), Input(ids.LIVE_TIMER, "n_intervals"),
                 State(ids.DATA_VERSION, "data"))(check_version)

    @app.callback(Output(ids.HEADLINE_ASAT, "children"), Output(ids.HEADLINE_TILES, "children"),
                  Input(ids.WEEK_PICKER, "value"), Input(ids.DATA_VERSION, "data"))
    def headlines(week, _version):
        return headline_panel(week)
