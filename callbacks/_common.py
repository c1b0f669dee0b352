"""What every callback needs: the request's database session, the signed-in user, and error handling."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from dash import html, set_props
from flask import current_app
from flask_login import current_user
from sqlalchemy import orm

from layouts import ids
from maic.db import session_for
from maic.errors import MaicError

log = logging.getLogger(__name__)


def db() -> orm.Session:
    return session_for(current_app)


def user():
    return current_user if current_user.is_authenticated else None


def setting(name: str):
    return current_app.config[name]


def parse_week(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise MaicError(f"{str(value)[:20]!r} is not a week: choose one from the list") from None


def show_notice(title: str, lines: list[str]) -> None:
    """A message in the page's alert, from any callback (as text: it may quote what the user sent)."""
    set_props(ids.ALERT, {"children": html.Div(className="alert", children=[
        html.Strong(title + ": "), " ".join(lines)])})


def error_alert(exc: Exception) -> None:
    """Dash's on_error: show a MaicError's message in the page's alert, log anything else with a reference.

    Returns None so that the callback's own outputs are left as they were; no traceback reaches the screen.
    """
    session_for(current_app).rollback()
    if isinstance(exc, MaicError):
        alert = html.Div(className="alert", children=[html.Strong(exc.title + ": "), exc.message])
    else:
        reference = uuid.uuid4().hex[:8]
        log.error("callback failed (reference %s)", reference, exc_info=exc)
        alert = html.Div(className="alert", children=[
            html.Strong("Something went wrong: "), f"the error was logged with reference {reference}."])
    set_props(ids.ALERT, {"children": alert})
    return None
