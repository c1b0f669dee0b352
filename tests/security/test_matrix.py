"""The authorisation matrix, generated from the app's own url_map and Dash callback_map.

Every role, anonymous and an API token, against every route, every Dash page, every callback and every API
endpoint, with the expected answer computed from the one policy. A route or callback output without a rule
fails here (and is refused at run time).
"""

from __future__ import annotations

import json
import re

import pytest

from callbacks import _guard, pages
from maic import permissions as p
from maic.web.access import ROUTE_RULES
from tests.security.conftest import ROLES, csrf_headers, new_token, role_clients_for

ACTORS = [*ROLES, "anonymous", "token"]
DENIED = {401, 403}


def _denied(response, path: str | None = None) -> bool:
    """Refused, sent to sign in, or (for a page) sent on to another page the role can use."""
    if response.status_code in DENIED:
        return True
    location = response.location or ""
    elsewhere = path is not None and location.startswith("/dash/") and location.rstrip("/") != path.rstrip("/")
    return response.status_code in (301, 302, 303) and ("/login" in location or elsewhere)


class Actor:
    def __init__(self, role: str | None):
        self.role = role
        self.agency_id = None


def _actor_for(name: str):
    return None if name == "anonymous" else Actor(p.API_TOKEN_ROLE if name == "token" else name)


def _concrete(rule) -> str | None:
    """A URL for a rule; None for the generic Dash page rule (pages are checked one by one below)."""
    if rule.endpoint in ("/dash/<path:path>", "/dash/"):
        return None
    url = rule.rule
    url = url.replace("<path:filename>", "maic.css").replace("<string:package_name>", "dash")
    url = url.replace("<path:fingerprinted_path>", "dash-renderer/build/dash_renderer.v0m0.min.js")
    # A pack that does not exist: allowed roles get 404, the others are refused before the lookup.
    url = url.replace("<int:pack_id>", "999")
    if rule.endpoint in ("briefings.picture_pack", "briefings.neighbour_pack"):
        url += "?format=html"  # the permissions are the PDF's; HTML spares a browser per role
    assert "<" not in url, f"the matrix cannot build a URL for {rule.rule}: teach it this converter"
    return url


@pytest.fixture
def world(sqlite_app, sqlite_factory):
    clients = role_clients_for(sqlite_app, sqlite_factory)
    clients["anonymous"] = sqlite_app.test_client()
    clients["token"] = sqlite_app.test_client()
    return sqlite_app, clients, new_token(sqlite_factory)


def test_every_route_has_a_rule(sqlite_app):
    missing = sorted({r.endpoint for r in sqlite_app.url_map.iter_rules()} - set(ROUTE_RULES))
    assert not missing, f"routes without an access rule in maic/web/access.py: {missing}"


def test_every_callback_output_has_a_rule(sqlite_app):
    dash_app = sqlite_app.extensions["maic.dash"]
    missing = sorted({k for output in dash_app.callback_map for k in _guard.output_keys(output)}
                     - set(_guard.CALLBACK_RULES))
    assert not missing, f"callback outputs without a rule in callbacks/_guard.py: {missing}"


def test_routes(world):
    app, clients, token = world
    checked = 0
    for rule in app.url_map.iter_rules():
        url = _concrete(rule)
        if url is None or rule.endpoint == _guard.UPDATE_PATH:
            continue
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        for name in ACTORS:
            client = clients[name]
            headers = {"Authorization": f"Bearer {token}"} if name == "token" else csrf_headers(client)
            data = {"csrf_token": headers.get("X-CSRFToken", "")} if method == "POST" else None
            if rule.endpoint == "auth.logout":
                continue  # signing out would spoil the rest of the matrix: test_logout covers it
            response = client.open(url, method=method, headers=headers, data=data)
            response.close()
            if ROUTE_RULES[rule.endpoint] == p.PUBLIC:  # "/" sends the anonymous to /login: that is its job
                assert response.status_code not in DENIED, f"{name} {method} {url}: {response.status_code}"
                continue
            expected = p.allowed_rule(_actor_for(name), ROUTE_RULES[rule.endpoint])
            assert _denied(response) != expected, (
                f"{name} {method} {url}: got {response.status_code}, expected {'allow' if expected else 'deny'}")
            checked += 1
    assert checked > 30


def test_pages(world):
    _, clients, token = world
    for page in pages.PAGES:
        for name in ACTORS:
            headers = {"Authorization": f"Bearer {token}"} if name == "token" else {}
            response = clients[name].get(page.path, headers=headers)
            response.close()
            expected = p.allowed(_actor_for(name), page.action)
            assert _denied(response, page.path) != expected, f"{name} GET {page.path}: {response.status_code}"
    viewer_nav = pages.nav_for(Actor("viewer"))
    assert ("Admin", "/dash/admin") not in viewer_nav and ("Shared view", "/dash/shared") in viewer_nav
    assert pages.nav_for(Actor("neighbour")) == (("Shared view", "/dash/shared"),)


def _callback_body(output: str, spec: dict) -> dict:
    outputs = []
    for key in (output[2:-2].split("...") if output.startswith("..") else [output]):
        ident, _, prop = key.rpartition(".")
        prop = prop.split("@", 1)[0]
        outputs.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop})
    inputs = [{"id": i["id"], "property": i["property"], "value": None} for i in spec.get("inputs", [])]
    state = [{"id": s["id"], "property": s["property"], "value": None} for s in spec.get("state", [])]
    return {"output": output, "outputs": outputs if len(outputs) > 1 else outputs[0], "inputs": inputs,
            "state": state, "changedPropIds": []}


def test_callbacks(world):
    app, clients, token = world
    dash_app = app.extensions["maic.dash"]
    assert len(dash_app.callback_map) >= 5
    for output, spec in dash_app.callback_map.items():
        rules = [_guard.CALLBACK_RULES[k] for k in _guard.output_keys(output)]
        body = _callback_body(output, spec)
        for name in ACTORS:
            client = clients[name]
            headers = {"Authorization": f"Bearer {token}"} if name == "token" else csrf_headers(client)
            response = client.post(_guard.UPDATE_PATH, json=body, headers=headers)
            expected = all(p.allowed_rule(_actor_for(name), r) for r in rules)
            assert _denied(response) != expected, (
                f"{name} callback {output}: got {response.status_code} {response.get_data(as_text=True)[:200]}")


def test_api_endpoints(world):
    app, clients, token = world
    api_rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("api.")]
    assert len(api_rules) >= 6
    for rule in api_rules:
        for name in ACTORS:
            headers = {"Authorization": f"Bearer {token}"} if name == "token" else {}
            response = clients[name].get(rule.rule, headers=headers)
            response.close()
            expected = p.allowed_rule(_actor_for(name), ROUTE_RULES[rule.endpoint])
            assert _denied(response) != expected, f"{name} GET {rule.rule}: {response.status_code}"


def test_a_hand_made_callback_for_an_unknown_or_disguised_output_is_refused(world):
    _, clients, _ = world
    neighbour = clients["neighbour"]
    headers = csrf_headers(neighbour)
    for output in ("no-such-thing.children", "..headline-asat.children...headline-tiles.children..",
                   "admin-message.children"):
        body = {"output": output, "outputs": {"id": "shared-table", "property": "children"}, "inputs": [],
                "changedPropIds": [], "state": []}
        response = neighbour.post(_guard.UPDATE_PATH, json=body, headers=headers)
        assert response.status_code == 403, output
        assert not re.search(r"Released|tile", response.get_data(as_text=True))


def test_state_changing_callbacks_need_the_csrf_header(world):
    _, clients, _ = world
    admin = clients["admin"]
    callback_map = admin.application.extensions["maic.dash"].callback_map
    key = next(k for k in callback_map if k.startswith("..admin-message.children...admin-body.children"))
    body = _callback_body(key, callback_map[key])
    assert admin.post(_guard.UPDATE_PATH, json=body).status_code == 400  # no X-CSRFToken: refused
