"""Login and session security over real requests: rate limit, lock-out, no enumeration, expiry, cookies,
headers and CSP, and an audit log that records who did what and cannot be edited."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from maic import admin
from maic.auth import THROTTLE_WINDOW, sign_in
from maic.db import transaction
from maic.models import AuditEvent, User, utcnow
from tests.fixtures import PASSWORD, csrf_from, login, login_as, make_user
from tests.security.conftest import make_app

MESSAGE = b"That username and password do not match an active account."


def _attempt(client, username: str, password: str):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


@pytest.mark.parametrize("storage", ["memory://", "redis://127.0.0.1:6379/15"])
def test_login_attempts_are_rate_limited(sqlite_url, data_dir, storage):
    app = make_app(sqlite_url, data_dir, MAIC_RATELIMIT_STORAGE_URL=storage, MAIC_LOGIN_RATE_LIMIT="5 per minute",
                   RATELIMIT_KEY_PREFIX=f"maic-test-{uuid.uuid4().hex[:8]}")
    client = app.test_client()
    statuses = [_attempt(client, f"nobody-{i}", "wrong password here").status_code for i in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429]
    assert client.get("/login").status_code == 200  # reading the form is not limited
    app.extensions["maic.db"]["engine"].dispose()


def _from(client, address: str, username: str, password: str, **headers):
    """One sign-in attempt from one client address (REMOTE_ADDR, as the server sees the connection)."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password},
                       environ_base=environ, headers=headers)


def _page_text(response) -> str:
    """The page without what differs by design: its CSRF token, and the name typed (kept in the form)."""
    text = re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", response.get_data(as_text=True))
    return re.sub(r'(<input[^>]*name="username"[^>]*) value="[^"]*"', r"\1", text)


@pytest.fixture
def throttle_app(db_url, data_dir):
    app = make_app(db_url, data_dir, MAIC_LOGIN_SLOWDOWN_SECONDS=0.05)
    yield app
    app.extensions["maic.db"]["engine"].dispose()


def _audit(factory, name: str) -> list[tuple[str, str, str]]:
    with factory() as session:
        return [(e.action, e.remote_addr, e.detail) for e in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.actor == name).order_by(AuditEvent.id))]


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_wrong_passwords_from_many_addresses_do_not_lock_the_account(throttle_app, factory, role):
    username = make_user(factory, role)
    attacker, person = throttle_app.test_client(), throttle_app.test_client()
    for n in range(6):
        for _ in range(5):
            response = _from(attacker, f"203.0.113.{n}", f"  {username.upper()} ", "not the password at all")
            assert response.status_code == 401
    signed_in = _from(person, "198.51.100.7", username, PASSWORD)
    assert signed_in.status_code == 302 and person.get("/dash/").status_code == 200
    events = _audit(factory, username)
    assert [a for a, *_ in events].count("login.failure") == 30
    action, address, detail = events[-1]
    assert (action, address) == ("login.success", "198.51.100.7")
    assert "held 0.05 s: 30 wrong tries" in detail  # slowed, never refused


def test_brute_force_from_one_address_is_throttled_for_that_name_only(throttle_app, factory):
    username, other = make_user(factory, "viewer"), make_user(factory, "viewer")
    client = throttle_app.test_client()
    for _ in range(5):
        assert _from(client, "203.0.113.9", username, "not the password at all").status_code == 401
    # Even the right password is not checked from there now; the answer is the one every refusal gets.
    throttled = _from(client, "203.0.113.9", username, PASSWORD)
    assert throttled.status_code == 401 and MESSAGE in throttled.data
    action, address, detail = _audit(factory, username)[-1]
    assert (action, address) == ("login.throttled", "203.0.113.9") and "5 wrong tries from this address" in detail
    # X-Forwarded-For is not trusted: a made-up forwarded address is still the same connection.
    assert _from(client, "203.0.113.9", username, PASSWORD, **{"X-Forwarded-For": "192.0.2.44"}).status_code == 401
    assert _from(client, "203.0.113.9", other, PASSWORD).status_code == 302  # another name from there: fine
    assert _from(throttle_app.test_client(), "198.51.100.7", username, PASSWORD).status_code == 302


def test_the_throttle_passes_with_its_window_and_an_admin_reset_lifts_it(factory):
    username = make_user(factory, "viewer")
    with transaction(factory) as session:
        for _ in range(5):
            assert sign_in(session, username, "not the password", "203.0.113.9", slowdown_seconds=0).user is None
        assert sign_in(session, username, PASSWORD, "203.0.113.9", slowdown_seconds=0).user is None
        later = utcnow() + THROTTLE_WINDOW + dt.timedelta(seconds=1)
        assert sign_in(session, username, PASSWORD, "203.0.113.9", slowdown_seconds=0, now=later).user is not None
    with transaction(factory) as session:
        for _ in range(5):
            sign_in(session, username, "not the password", "203.0.113.9", slowdown_seconds=0)
        user_id = session.scalar(sa.select(User.id).where(User.username == username))
        password = admin.reset_password(session, "boss", user_id)
    with transaction(factory) as session:
        assert sign_in(session, username, password, "203.0.113.9", slowdown_seconds=0).user is not None


def test_every_refusal_gets_the_same_answer(throttle_app, factory):
    known, disabled = make_user(factory, "viewer"), make_user(factory, "viewer")
    with transaction(factory) as session:
        session.scalar(sa.select(User).where(User.username == disabled)).active = False
    client = throttle_app.test_client()
    wrong = _from(client, "203.0.113.1", known, "not the password at all")
    unknown = _from(client, "203.0.113.2", "nobody-at-all", PASSWORD)
    off = _from(client, "203.0.113.3", disabled, PASSWORD)
    for _ in range(5):
        _from(client, "203.0.113.4", known, "not the password at all")
    throttled = _from(client, "203.0.113.4", known, PASSWORD)
    answers = {(r.status_code, _page_text(r)) for r in (wrong, unknown, off, throttled)}
    assert len(answers) == 1 and MESSAGE in wrong.data and b"ask an admin to reset your password" in wrong.data
    # An unknown name is counted and throttled exactly like a known one.
    for _ in range(5):
        _from(client, "203.0.113.5", "nobody-at-all", "whatever it is")
    _from(client, "203.0.113.5", "nobody-at-all", "whatever it is")
    assert _audit(factory, "nobody-at-all")[-1][0] == "login.throttled"
    assert [a for a, *_ in _audit(factory, disabled)] == ["login.failure"]
    assert _audit(factory, disabled)[0][2] == "account disabled"


def test_a_disabled_user_is_signed_out_at_once(client, factory):
    username = login_as(client, factory, "viewer")
    assert client.get("/dash/").status_code == 200
    with transaction(factory) as session:
        from maic.models import User
        session.scalar(sa.select(User).where(User.username == username)).active = False
    assert client.get("/dash/").status_code == 302


def test_session_expires_after_inactivity(client, factory, monkeypatch):
    login_as(client, factory, "viewer")
    assert client.get("/dash/").status_code == 200
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 31 * 60)
    response = client.get("/dash/")
    assert response.status_code == 302 and "/login" in response.location
    assert client.post("/dash/_dash-update-component", json={"output": "page.children"}).status_code == 401


def test_secure_cookies_when_served_over_https(sqlite_url, data_dir, factory):
    app = make_app(sqlite_url, data_dir, MAIC_SECURE_COOKIES=True)
    client = app.test_client()
    username = make_user(factory, "viewer")
    token = csrf_from(client.get("/login", base_url="https://localhost").get_data(as_text=True))
    response = client.post("/login", base_url="https://localhost",
                           data={"csrf_token": token, "username": username, "password": PASSWORD})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    app.extensions["maic.db"]["engine"].dispose()


def test_security_headers_and_a_csp_without_inline_scripts(client, factory):
    login_as(client, factory, "viewer")
    for path in ("/login", "/dash/", "/dash/_dash-layout", "/api/v1/openapi.json"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
        assert "'sha256-" in script_src and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"


def test_logins_logouts_and_failures_are_audited(client, factory):
    username = make_user(factory, "viewer")
    login(client, username, "not the password at all")
    login(client, username)
    client.get("/dash/")
    client.post("/logout", data={"csrf_token": client.get_cookie("_csrf_token").value})
    with factory() as session:
        actions = [(e.actor, e.action) for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [(username, "login.failure"), (username, "login.success"), (username, "logout")]


def test_the_database_refuses_to_edit_the_audit_log(factory):
    with transaction(factory) as session:
        session.add(AuditEvent(actor="someone", action="login.success"))
    for statement in (sa.update(AuditEvent).values(actor="someone else"), sa.delete(AuditEvent)):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), transaction(factory) as session:
            session.execute(statement)
    with factory() as session:
        assert session.scalar(sa.select(AuditEvent.actor)) == "someone"


def test_audit_export_is_admin_only_marked_and_neutralises_formulas(client, factory):
    with transaction(factory) as session:
        session.add(AuditEvent(actor="=HYPERLINK(\"http://evil\")", action="login.failure", detail="+1-2",
                               at=dt.datetime(2024, 11, 20, 9, 0)))
    login_as(client, factory, "analyst")
    assert client.get("/exports/audit.csv").status_code == 403
    admin = client.application.test_client()
    login_as(admin, factory, "admin")
    response = admin.get("/exports/audit.csv?action=login.failure")
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and text.startswith("# OFFICIAL-SENSITIVE")
    assert "'=HYPERLINK" in text and "'+1-2" in text and "\n=" not in text and ",=" not in text
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "export.audit_csv")) == 1
