"""Every Flask route has a rule, and a route without one is refused: the route half of the one policy.

Rules name an action of maic.permissions, or PUBLIC, or SIGNED_IN. Dash's own endpoints are checked again
in detail by callbacks/_guard.py (which page, which callback); /api/v1/ checks its bearer token itself.
"""

from __future__ import annotations

from flask import abort, jsonify, redirect, request, url_for
from flask_login import current_user

from maic import permissions as p
from maic.web import ops

DASH_UPDATE = "/dash/_dash-update-component"

ROUTE_RULES: dict[str, str] = {
    "static": p.PUBLIC,
    "auth.login": p.PUBLIC,
    "auth.logout": p.PUBLIC,
    "auth.index": p.PUBLIC,
    "ops.healthz": p.PUBLIC,
    "ops.readyz": p.PUBLIC,
    "ops.metrics": p.ADMIN,  # or an address in MAIC_METRICS_ALLOW (a scraper), below
    "auth.favicon": p.PUBLIC,
    "_dash_dash_assets.static": p.PUBLIC,
    "/dash/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": p.PUBLIC,
    "/dash/_favicon.ico": p.PUBLIC,
    "/dash/_dash-layout": p.SIGNED_IN,
    "/dash/_dash-dependencies": p.SIGNED_IN,
    "/dash/_reload-hash": p.SIGNED_IN,
    DASH_UPDATE: p.SIGNED_IN,
    "/dash/": p.SIGNED_IN,
    "/dash/<path:path>": p.SIGNED_IN,
    "api.shared_json": p.API_SHARED,
    "api.shared_csv": p.API_SHARED,
    "api.metrics": p.API_SHARED,
    "api.areas": p.API_SHARED,
    "api.version": p.API_SHARED,
    "api.openapi_document": p.PUBLIC,
    "exports.shared_csv": p.VIEW_SHARED,
    "exports.audit_csv": p.ADMIN,
    "boundaries.districts": p.SIGNED_IN,
    "briefings.picture_pack": p.EXPORT,
    "briefings.neighbour_pack": p.VIEW_SHARED,
    "briefings.pack_file": p.VIEW_BRIEFINGS,
}


# Routes an allowed address (MAIC_METRICS_ALLOW) may also read without signing in: a monitoring scraper.
ADDRESS_RULES = frozenset({"ops.metrics"})


def _actor():
    return current_user if current_user.is_authenticated else None


def init_app(app) -> None:
    @app.before_request
    def check_route():
        endpoint = request.endpoint
        if endpoint is None:
            return None  # no such route: a 404 follows
        rule = ROUTE_RULES.get(endpoint)
        if rule is None:
            abort(403, "this route has no access rule, so it is refused")
        if rule == p.PUBLIC or endpoint.startswith("api."):
            return None  # the API checks its bearer token itself, before any view runs
        if endpoint in ADDRESS_RULES and ops.address_may_scrape(app, request.remote_addr):
            return None
        actor = _actor()
        if actor is None:
            if request.path.startswith("/dash"):
                return None  # guard.py answers: a redirect for pages, 401 for Dash data
            if request.method == "GET" and not request.path.startswith("/api/"):
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            return jsonify({"error": "Unauthorised", "message": "Sign in first.", "status": 401}), 401
        if not p.allowed_rule(actor, rule):
            abort(403, "your role cannot use this")
        return None
