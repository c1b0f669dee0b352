"""Sessions that really end: a session cookie copied before sign-out, a password change or reset, disabling or a
role change is refused afterwards, for pages and for callbacks, on SQLite and PostgreSQL, and across two app
instances on one database (as two workers would be)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from callbacks import _guard
from layouts import ids
from maic import admin
from maic.auth import set_password
from maic.db import transaction
from maic.models import User
from tests.fixtures import PASSWORD, login, login_as, make_user
from tests.security.conftest import admin_button_body, csrf_headers

POLL = {"output": f"{ids.DATA_VERSION}.data", "outputs": {"id": ids.DATA_VERSION, "property": "data"},
        "inputs": [{"id": ids.LIVE_TIMER, "property": "n_intervals", "value": 1}],
        "state": [{"id": ids.DATA_VERSION, "property": "data", "value": None}],
        "changedPropIds": [f"{ids.LIVE_TIMER}.n_intervals"]}


def _signed_in_viewer(client, factory) -> tuple[str, dict[str, str]]:
    """A viewer with the dashboard open; their cookies as an attacker would copy them."""
    username = login_as(client, factory, "viewer")
    assert client.get("/dash/").status_code == 200
    cookies = {name: client.get_cookie(name).value for name in ("session", "_csrf_token")}
    return username, cookies


def _replay(app, cookies: dict[str, str]):
    """A fresh client (another browser, or another worker's view of the same cookie) with the copied cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    page = thief.get("/dash/")
    callback = thief.post(_guard.UPDATE_PATH, json=POLL, headers={"X-CSRFToken": cookies["_csrf_token"]})
    return page, callback


def _user_id(factory, username: str) -> int:
    with factory() as session:
        return session.scalar(sa.select(User.id).where(User.username == username))


def test_a_copied_cookie_works_until_the_session_ends(app, client, factory):
    _, cookies = _signed_in_viewer(client, factory)
    page, callback = _replay(app, cookies)
    assert page.status_code == 200 and callback.status_code in (200, 204)


def test_a_cookie_replayed_after_sign_out_is_refused(app, client, factory):
    _, cookies = _signed_in_viewer(client, factory)
    assert client.post("/logout", data={"csrf_token": cookies["_csrf_token"]}).status_code == 302
    page, callback = _replay(app, cookies)
    assert page.status_code == 302 and "/login" in page.location
    assert callback.status_code == 401 and b"sign in again" in callback.data


def _change_password(factory, username):
    with transaction(factory) as session:
        set_password(session, session.scalar(sa.select(User).where(User.username == username)), "a new long password")


def _admin_does(action):
    def run(factory, username):
        with transaction(factory) as session:
            action(session, _user_id(factory, username))
    return run


ENDINGS = {
    "password change": _change_password,
    "password reset": _admin_does(lambda s, uid: admin.reset_password(s, "boss", uid)),
    "disabled": _admin_does(lambda s, uid: admin.set_user_active(s, "boss", uid, False)),
    "role change": _admin_does(lambda s, uid: admin.set_user_role(s, "boss", uid, "analyst")),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_every_session_ends_when_the_account_changes(app, client, factory, ending):
    username, cookies = _signed_in_viewer(client, factory)
    ENDINGS[ending](factory, username)
    page, callback = _replay(app, cookies)
    assert page.status_code == 302 and "/login" in page.location
    assert callback.status_code == 401
    assert client.get("/dash/").status_code == 302  # the browser the person was using is signed out too


def _admin_button(admin_client, button: str, user_id: int, role: str = ""):
    """Press a user button on the real admin page, through the callback endpoint as the browser does."""
    values = {ids.ADMIN_USER_ID: user_id, ids.ADMIN_ROLE_SET: role or None}  # the role change has its own fields
    body = admin_button_body(admin_client.application.extensions["maic.dash"], button, values)
    response = admin_client.post(_guard.UPDATE_PATH, json=body, headers=csrf_headers(admin_client))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


@pytest.mark.parametrize("button,role", [(ids.ADMIN_USER_RESET, ""), (ids.ADMIN_USER_DISABLE, ""),
                                         (ids.ADMIN_USER_SET_ROLE, "analyst")])
def test_the_admin_page_ends_the_users_sessions(app, client, factory, button, role):
    username, cookies = _signed_in_viewer(client, factory)
    boss = app.test_client()
    login_as(boss, factory, "admin")
    boss.get("/dash/admin")
    _admin_button(boss, button, _user_id(factory, username), role)
    page, callback = _replay(app, cookies)
    assert page.status_code == 302 and callback.status_code == 401
    assert boss.get("/dash/admin").status_code == 200  # the admin's own session is untouched


def test_sign_out_in_one_worker_ends_the_session_in_another(app, db_url, data_dir, client, factory):
    from tests.security.conftest import make_app

    other = make_app(db_url, data_dir, MAIC_SECRET_KEY=app.config["SECRET_KEY"])
    try:
        _, cookies = _signed_in_viewer(client, factory)
        assert _replay(other, cookies)[0].status_code == 200
        client.post("/logout", data={"csrf_token": cookies["_csrf_token"]})
        page, callback = _replay(other, cookies)
        assert page.status_code == 302 and callback.status_code == 401
    finally:
        other.extensions["maic.db"]["engine"].dispose()


def test_signing_in_again_after_the_end_works(app, client, factory):
    username, cookies = _signed_in_viewer(client, factory)
    client.post("/logout", data={"csrf_token": cookies["_csrf_token"]})
    assert login(client, username, PASSWORD).status_code == 302
    assert client.get("/dash/").status_code == 200


def test_a_cookie_from_before_session_generations_is_refused(app, client, factory):
    """A session signed before this change holds a bare user id: it names no generation, so it has ended."""
    username = make_user(factory, "viewer")
    with client.session_transaction() as session:
        session["_user_id"] = str(_user_id(factory, username))
        session["_fresh"] = True
    assert client.get("/dash/").status_code == 302


def test_a_callback_token_stays_good_past_an_hour_while_the_session_lives(client, factory, monkeypatch):
    """The live poll every few seconds keeps the session alive; its CSRF token must live as long (not 60 min)."""
    from itsdangerous.timed import TimestampSigner

    _signed_in_viewer(client, factory)
    real, offset = TimestampSigner.get_timestamp, {"seconds": 0}
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + offset["seconds"])
    for _ in range(4):  # 80 minutes, each step inside the 30-minute idle limit
        offset["seconds"] += 20 * 60
        response = client.post(_guard.UPDATE_PATH, json=POLL, headers=csrf_headers(client))
        assert response.status_code in (200, 204), response.get_data(as_text=True)[:200]
    offset["seconds"] += 31 * 60  # and a session left idle past its limit has still ended
    assert client.post(_guard.UPDATE_PATH, json=POLL, headers=csrf_headers(client)).status_code == 401


def test_an_unchanged_session_is_signed_again_once_a_minute_not_on_every_answer(client, factory, monkeypatch):
    from maic.web import ops

    login_as(client, factory, "viewer")
    assert client.get("/dash/").status_code == 200
    headers = {"X-CSRFToken": client.get_cookie("_csrf_token").value}

    def session_cookies_set() -> list[str]:
        answer = client.post(_guard.UPDATE_PATH, json=POLL, headers=headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return [h for h in answer.headers.getlist("Set-Cookie") if h.startswith("session=")]

    assert [session_cookies_set() for _ in range(3)] == [[], [], []]  # signed at sign-in, a moment ago
    monkeypatch.setattr(ops, "SESSION_REFRESH_SECONDS", 0)  # as if a minute had passed
    refreshed = session_cookies_set()
    assert len(refreshed) == 1 and "Expires=" in refreshed[0]  # its idle expiry moved on
