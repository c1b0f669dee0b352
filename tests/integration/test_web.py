"""Login, sessions and the dashboard over real HTTP requests to the app (Flask's test client)."""

from __future__ import annotations

import datetime as dt
import re
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from benchmarks.panels import filters_body
from tests.fixtures import PASSWORD, csrf_from, login, login_as, make_user

# A change of filters (the page's address): one request, answered with the headline and every panel.
HEADLINE_CALLBACK = filters_body({})


@pytest.mark.parametrize("path", ["/", "/dash/", "/dash/overview"])
def test_anonymous_pages_redirect_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("path", ["/dash/_dash-layout", "/dash/_dash-dependencies"])
def test_anonymous_dash_data_is_refused(client, path):
    assert client.get(path).status_code == 401


def test_anonymous_callback_is_refused(client):
    assert client.post("/dash/_dash-update-component", json=HEADLINE_CALLBACK).status_code == 401


def test_login_page_and_successful_login(client, factory):
    page = client.get("/login")
    assert page.status_code == 200 and b"OFFICIAL-SENSITIVE" in page.data
    username = make_user(factory, "viewer")
    response = login(client, username)
    assert response.status_code == 302 and response.location == "/dash/"
    assert client.get("/dash/").status_code == 200


ICON = (Path(__file__).resolve().parents[2] / "assets" / "favicon.ico").read_bytes()


def _icon_at(client, path: str) -> bytes:
    with client.get(path) as response:  # a file response: closed here, or its open file outlives the test
        assert response.status_code == 200, path
        assert response.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert "no-store" not in response.headers.get("Cache-Control", "")
        return response.data


def test_every_page_has_the_icon_the_sign_in_page_included(client, factory):
    """/favicon.ico (what a browser asks for when a page links none) and each page's linked icon are ours."""
    assert _icon_at(client, "/favicon.ico") == ICON
    (linked,) = re.findall(r'<link rel="icon" href="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert _icon_at(client, linked) == ICON
    login(client, make_user(factory, "viewer"))
    dash_page = client.get("/dash/").get_data(as_text=True)
    (dash_icon,) = re.findall(r'<link rel="icon" type="image/x-icon" href="([^"]+)"', dash_page)
    assert dash_icon.startswith("/dash/assets/favicon.ico") and _icon_at(client, dash_icon) == ICON


def test_wrong_password_and_unknown_user_get_the_same_answer(client, factory):
    username = make_user(factory, "viewer")
    wrong = login(client, username, "not the password at all")
    unknown = login(client, "nobody-at-all", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    message = b"That username and password do not match an active account."
    assert message in wrong.data and message in unknown.data


def test_login_needs_the_csrf_token(client, factory):
    username = make_user(factory, "viewer")
    response = client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 400


def test_next_parameter_cannot_send_the_user_elsewhere(client, factory):
    username = make_user(factory, "viewer")
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login?next=//evil.example/x",
                           data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.location == "/dash/"


def test_session_cookie_is_httponly_and_samesite(client, factory):
    username = make_user(factory, "viewer")
    response = login(client, username)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    expires = next(part for part in cookie.split("; ") if part.startswith("Expires="))
    lifetime = parsedate_to_datetime(expires[8:]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=29) < lifetime <= dt.timedelta(minutes=30)


def test_headline_callback_needs_the_csrf_header(client, factory):
    login_as(client, factory, "viewer")
    client.get("/dash/")
    assert client.post("/dash/_dash-update-component", json=HEADLINE_CALLBACK).status_code == 400
    token = client.get_cookie("_csrf_token").value
    response = client.post("/dash/_dash-update-component", json=HEADLINE_CALLBACK, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert "No returns have been received yet." in response.get_data(as_text=True)


def test_header_shows_lrf_user_and_marking(client, factory):
    login_as(client, factory, "viewer")
    layout = client.get("/dash/_dash-layout").get_data(as_text=True)
    assert "Cambridgeshire & Peterborough LRF" in layout and "OFFICIAL-SENSITIVE" in layout
    assert "viewer-" in layout and "Demo data" in layout


def test_logout_ends_the_session(client, factory):
    login_as(client, factory, "viewer")
    page = client.get("/login", follow_redirects=True)
    assert page.status_code == 200
    client.get("/dash/")
    token = client.get_cookie("_csrf_token").value
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/dash/").status_code == 302


def test_unexpected_errors_show_no_traceback(app, client, monkeypatch):
    from maic.web import access

    monkeypatch.setitem(access.ROUTE_RULES, "boom", "public")  # a route without a rule would be refused

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"secret internals" not in response.data and b"Traceback" not in response.data
    assert b"reference" in response.data


def test_a_forbidden_page_shows_a_message_not_a_traceback(client, factory):
    login_as(client, factory, "neighbour")
    client.get("/dash/")
    token = client.get_cookie("_csrf_token").value
    body = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": "/dash/"}],
            "changedPropIds": ["url.pathname"], "state": [{"id": "url", "property": "search", "value": ""}]}
    response = client.post("/dash/_dash-update-component", json=body, headers={"X-CSRFToken": token})
    text = response.get_data(as_text=True)
    # Inside the app, a page the role cannot use says so and links the page it can (a neighbour's: the shared view).
    assert "This page is not open to your role" in text and "Shared view" in text and "Traceback" not in text
    assert "Released this week" not in text
