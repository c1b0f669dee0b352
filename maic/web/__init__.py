"""The Flask side of the app: login and logout, the session user, error pages, security, and guarding routes.

Imports flask and flask_login, never dash.
"""

from __future__ import annotations

from maic.web.session_user import SessionUser  # noqa: F401  (re-exported for callbacks)


def init_app(app, *, callback_namer=None) -> None:
    from maic.sharing import api
    from maic.web import (
        access,
        auth_views,
        boundaries,
        briefings,
        errors,
        exports,
        guard,
        limits,
        ops,
        security,
    )

    guard.init_app(app)  # first: an anonymous Dash request gets 401, not a CSRF complaint
    access.init_app(app)
    auth_views.init_app(app)
    security.init_app(app)
    api.init_app(app)
    exports.init_app(app)
    briefings.init_app(app)
    boundaries.init_app(app)
    errors.init_app(app)
    limits.init_app(app)
    ops.init_app(app, callback_namer=callback_namer)  # its clock goes first of all, before the size check
