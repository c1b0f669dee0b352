"""The Flask side of the app: login and logout, the session user, error pages, and guarding the dashboard.

Imports flask and flask_login, never dash.
"""

from __future__ import annotations

from maic.web.session_user import SessionUser  # noqa: F401  (re-exported for callbacks)


def init_app(app) -> None:
    from maic.web import auth_views, errors, guard

    guard.init_app(app)  # first: an anonymous Dash request gets 401, not a CSRF complaint
    auth_views.init_app(app)
    errors.init_app(app)
