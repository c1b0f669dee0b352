"""Authorisation of every Dash request on the server: which pages a role may open, which callbacks it may run.

A callback is identified the way Dash dispatches it: the `output` string of the request, looked up in the
app's callback_map. Each output (id.property) maps to an action in CALLBACK_RULES; a callback runs only when
the user may do the action of every one of its outputs. A callback output without a rule is refused, so a
new callback must be given one (tests/security/test_matrix.py fails until it is). Callback bodies check
again with permissions.require: this is the outer wall, not the only one.
"""

from __future__ import annotations

import json

from flask import abort, jsonify, redirect, request
from flask_login import current_user

from callbacks import pages
from layouts import ids
from maic import permissions as p

UPDATE_PATH = "/dash/_dash-update-component"

# id.property -> the action a user needs to receive it. Pattern-matching ids are written {type}.property.
CALLBACK_RULES: dict[str, str] = {
    f"{ids.PAGE}.children": p.SIGNED_IN,  # the router refuses each page the role may not see
    # Every signed-in role polls the version (neighbours for the shared view): it carries no figure.
    f"{ids.DATA_VERSION}.data": p.DATA_VERSION,
    f"{ids.HEADLINE_ASAT}.children": p.VIEW_PICTURE,
    f"{ids.HEADLINE_TILES}.children": p.VIEW_PICTURE,
}


def rule(key: str, action: str) -> None:
    """Give a callback output its rule (each page's callbacks module calls this beside its callbacks)."""
    CALLBACK_RULES[key] = action


def output_keys(output: str) -> list[str]:
    """'a.children' or '..a.children...b.figure..' -> ['a.children', 'b.figure']; dict ids as '{type}.prop'."""
    parts = output[2:-2].split("...") if output.startswith("..") and output.endswith("..") else [output]
    keys = []
    for part in parts:
        ident, _, prop = part.rpartition(".")
        prop = prop.split("@", 1)[0]  # allow_duplicate outputs carry "@<hash>"
        if ident.startswith("{"):
            try:
                ident = "{" + str(json.loads(ident).get("type", "")) + "}"
            except (ValueError, AttributeError):
                ident = "{?}"
        keys.append(f"{ident}.{prop}")
    return keys


def callback_action_allowed(actor, output: str, callback_map) -> tuple[bool, str]:
    if output not in callback_map:
        return False, "there is no such callback"
    for key in output_keys(output):
        action = CALLBACK_RULES.get(key)
        if action is None:
            return False, f"the callback output {key} has no access rule"
        if not p.allowed_rule(actor, action):
            return False, "your role cannot see this"
    return True, ""


def _page_allowed(actor, path: str) -> int:
    """200 when the page may be shown, 403 when the role may not, 404 when there is no such page."""
    page = pages.page_for(path)
    if page is None:
        return 404
    return 200 if p.allowed(actor, page.action) else 403


def init_app(server, dash_app) -> None:
    @server.before_request
    def guard_dash():
        if not current_user.is_authenticated:
            return None  # maic/web/guard.py has already answered (redirect or 401)
        endpoint = request.endpoint or ""
        if request.path == UPDATE_PATH and request.method == "POST":
            body = request.get_json(silent=True)
            output = body.get("output") if isinstance(body, dict) else None
            if not isinstance(output, str):
                return jsonify({"error": "Bad request", "message": "not a Dash callback request", "status": 400}), 400
            ok, why = callback_action_allowed(current_user, output, dash_app.callback_map)
            if not ok:
                return jsonify({"error": "Not allowed", "message": why, "status": 403}), 403
            return None
        if endpoint in ("/dash/", "/dash/<path:path>"):
            status = _page_allowed(current_user, request.path)
            if status == 403:
                home = pages.home_for(current_user)
                if home and request.method == "GET":
                    return redirect(home)  # e.g. a neighbour's old bookmark of /dash/: their shared view
                abort(403, "your role cannot see this page")
            if status == 404:
                abort(404, "there is no such page")
        return None
