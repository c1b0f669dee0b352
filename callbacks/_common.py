"""What every callback needs: the request's database session, the signed-in user, and error handling."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid

from dash import html, set_props
from flask import current_app
from flask_login import current_user
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from layouts import ids
from maic.db import session_for
from maic.errors import MaicError
from maic.web.errors import DATABASE_DOWN

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


def connection_lost(exc: BaseException) -> bool:
    """The database could not be reached (a restart, a lost connection), as opposed to refusing a statement."""
    return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError) or (
        isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)


def error_alert(exc: Exception) -> None:
    """Dash's on_error: show a MaicError's message in the page's alert, log anything else with a reference.

    Returns None so that the callback's own outputs are left as they were; no traceback reaches the screen.
    """
    # If the connection is already gone, the pool replaces it on the next checkout (pre-ping).
    with contextlib.suppress(sa_exc.DBAPIError):
        session_for(current_app).rollback()
    if isinstance(exc, MaicError):
        alert = html.Div(className="alert", children=[html.Strong(exc.title + ": "), exc.message])
    elif connection_lost(exc):
        log.warning("callback failed: the database could not be reached (%s)", exc.__class__.__name__)
        alert = html.Div(className="alert", children=[html.Strong("Database unavailable: "), DATABASE_DOWN])
    else:
        reference = uuid.uuid4().hex[:8]
        log.error("callback failed (reference %s)", reference, exc_info=exc)
        alert = html.Div(className="alert", children=[
            html.Strong("Something went wrong: "), f"the error was logged with reference {reference}."])
    set_props(ids.ALERT, {"children": alert})
    return None
