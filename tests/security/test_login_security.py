"""Login and session security over real requests: rate limit, lock-out, no enumeration, expiry, cookies,
headers and CSP, and an audit log that records who did what and cannot be edited."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from maic.db import transaction
from maic.models import AuditEvent
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


def test_lockout_after_repeated_failures_without_telling(client, factory):
    username = make_user(factory, "viewer")
    for _ in range(5):
        assert login(client, username, "not the password at all").status_code == 401
    locked = login(client, username, PASSWORD)  # the right password, but the account is locked now
    unknown = login(client, "nobody-at-all", PASSWORD)
    assert locked.status_code == unknown.status_code == 401
    assert MESSAGE in locked.data and MESSAGE in unknown.data


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
