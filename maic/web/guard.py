"""Every dashboard request needs a session: pages redirect to login, Dash's data endpoints answer 401.

The JavaScript bundles and assets carry no data and are served to anyone, so the login page can style itself.
"""

from __future__ import annotations

from flask import current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

# dash-renderer copies this cookie into an X-CSRFToken header on every callback, which Flask-WTF checks.
DASH_CSRF_COOKIE = "_csrf_token"

PUBLIC_DASH_PREFIXES = ("/dash/_dash-component-suites/", "/dash/assets/", "/dash/_favicon.ico")


def init_app(app) -> None:
    @app.before_request
    def require_login():
        path = request.path
        if not path.startswith("/dash/") and path != "/dash":
            return None
        if path.startswith(PUBLIC_DASH_PREFIXES) or current_user.is_authenticated:
            return None
        if "/_dash-" in path or "/_reload-hash" in path:
            return jsonify({"error": "Unauthorised", "message": "Your session has ended: sign in again."}), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.after_request
    def hand_dash_its_csrf_token(response):
        # An error page needs no token, and asking who the user is may need the database that just failed.
        if response.status_code >= 500:
            return response
        if current_user.is_authenticated and request.path.startswith("/dash") and "/_dash-" not in request.path:
            secure = request.is_secure or bool(current_app.config["MAIC_SECURE_COOKIES"])
            response.set_cookie(DASH_CSRF_COOKIE, generate_csrf(), samesite="Lax", secure=secure, httponly=False)
        return response
