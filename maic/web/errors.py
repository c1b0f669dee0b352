"""One handler for every error: JSON under /api/ and for Dash requests, a plain page otherwise; no tracebacks."""

from __future__ import annotations

import contextlib
import logging
import uuid

from flask import current_app, g, jsonify, make_response, render_template, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from maic.db import session_for
from maic.errors import MaicError

log = logging.getLogger(__name__)

DATABASE_DOWN = ("The database cannot be reached just now, so this was not done. Wait a minute and try again; "
                 "nothing half-done was kept.")


def _wants_json() -> bool:
    return request.path.startswith("/api/") or "/_dash-" in request.path or request.is_json


def _respond(status: int, title: str, message: str):
    if _wants_json():
        return jsonify({"error": title, "message": message, "status": status}), status
    return render_template("error.html", status=status, title=title, message=message,
                           marking=current_app.config["MAIC_PROTECTIVE_MARKING"]), status


def init_app(app) -> None:
    @app.errorhandler(MaicError)
    def maic_error(exc: MaicError):
        session_for(current_app).rollback()
        return _respond(exc.status, exc.title, exc.message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        response = make_response(_respond(exc.code or 500, exc.name, exc.description or ""))
        # Keep what the exception says about itself (Allow on a 405, Retry-After on a 429).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    def database_unavailable(exc: sa_exc.DBAPIError):
        # A database restart or a lost connection: the pool's pre-ping replaces the dead connections, so the
        # next request works once the database is back. Nothing was half-saved: each write is one transaction.
        log.warning("database unavailable during %s %s: %s", request.method, request.path,
                    str(exc.orig or exc).splitlines()[0] if str(exc.orig or exc) else exc.__class__.__name__)
        with contextlib.suppress(sa_exc.DBAPIError):
            session_for(current_app).rollback()
        # Hooks that run after this answer (metrics, cookies) ask who the user is: when the database failed
        # while loading the user, Flask-Login would try again, fail again, and turn this answer into a bare 500.
        if "_login_user" not in g:
            g._login_user = current_app.login_manager.anonymous_user()
        response = make_response(_respond(503, "Database unavailable", DATABASE_DOWN))
        response.headers["Retry-After"] = "30"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        reference = uuid.uuid4().hex[:8]
        log.exception("unexpected error (reference %s)", reference)
        with contextlib.suppress(sa_exc.DBAPIError):
            session_for(current_app).rollback()
        return _respond(500, "Something went wrong",
                        f"The error was logged with reference {reference}. Nothing you sent was half-saved.")
