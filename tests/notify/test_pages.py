"""The pages' callbacks through the real Dash endpoint: an admin sets an address and retries from the outbox
(audited); a user marks only their own notifications read; the header counts each user's own."""

from __future__ import annotations

import json

import sqlalchemy as sa

from layouts import ids
from maic import notify
from maic.db import factory_for, transaction
from maic.models import AuditEvent, Notification, NotifyState, User
from maic.notify.outbox import mark_read, unread_count
from maic.notify.send import deliver_due
from tests.fixtures import login
from tests.notify.conftest import person, send_settings
from tests.security.conftest import csrf_headers, make_app

UPDATE = "/dash/_dash-update-component"


def _body(dash_app, first_output: str, trigger: str, values: dict) -> dict:
    key = next(k for k in dash_app.callback_map if k.startswith(f"..{first_output}"))
    spec = dash_app.callback_map[key]

    def output(part: str) -> dict:
        ident, prop = part.rsplit(".", 1)
        return {"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop.split("@")[0]}

    return {"output": key, "outputs": [output(p) for p in key.strip(".").split("...")],
            "inputs": [{"id": i["id"], "property": i["property"],
                        "value": 1 if i["id"] == trigger else values.get(i["id"])} for i in spec["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": values.get(s["id"])} for s in spec["state"]],
            "changedPropIds": [f"{trigger}.n_clicks"]}


def _client(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 302
    client.get("/dash/")
    return client


def test_an_admin_sets_an_address_and_retries_an_unsent_message_from_the_outbox(sqlite_url, data_dir):
    app = make_app(sqlite_url, data_dir)
    factory = factory_for(app)
    try:
        admin = person(factory, "admin")
        viewer = person(factory, "viewer")
        client = _client(app, admin.username)
        dash_app = app.extensions["maic.dash"]
        response = client.post(UPDATE, headers=csrf_headers(client), json=_body(
            dash_app, ids.OUTBOX_TABLE, ids.OUTBOX_EMAIL_SAVE,
            {ids.OUTBOX_STATE: "all", ids.OUTBOX_EMAIL_USER: viewer.username, ids.OUTBOX_EMAIL: "viewer@scg.example"}))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert "viewer@scg.example" in response.get_data(as_text=True)
        with transaction(factory) as session:
            assert session.get(User, viewer.id).email == "viewer@scg.example"
            notify.pack_issued(session, 1, "Pack", "/dash/briefings/1")
        deliver_due(factory, send_settings(None))  # no mail server: the email waits, "off"
        with factory() as session:
            email = session.scalar(sa.select(Notification).where(Notification.channel == "email"))
        assert email.state == NotifyState.OFF
        response = client.post(UPDATE, headers=csrf_headers(client), json=_body(
            dash_app, ids.OUTBOX_TABLE, ids.OUTBOX_RETRY, {ids.OUTBOX_STATE: "all", ids.OUTBOX_RETRY_ID: email.id}))
        assert f"Message {email.id} will be sent again." in response.get_data(as_text=True)
        with factory() as session:
            assert session.get(Notification, email.id).state == NotifyState.PENDING
            actions = set(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.actor == admin.username)))
        assert {"admin.user_email", "notify.retry"} <= actions
        # A viewer cannot use the outbox at all.
        viewer_client = _client(app, viewer.username)
        refused = viewer_client.post(UPDATE, headers=csrf_headers(viewer_client), json=_body(
            dash_app, ids.OUTBOX_TABLE, ids.OUTBOX_RETRY_ALL, {ids.OUTBOX_STATE: "all"}))
        assert refused.status_code == 403
    finally:
        app.extensions["maic.db"]["engine"].dispose()


def test_each_user_reads_and_marks_only_their_own(sqlite_url, data_dir):
    app = make_app(sqlite_url, data_dir)
    factory = factory_for(app)
    try:
        one, two = person(factory, "viewer"), person(factory, "viewer")
        with transaction(factory) as session:
            notify.pack_issued(session, 1, "Pack one", "/dash/briefings/1")
            notify.pack_issued(session, 2, "Pack two", "/dash/briefings/2")
            theirs = session.scalars(sa.select(Notification.id).where(Notification.user_id == two.id)).all()
            assert mark_read(session, one.id, theirs) == 0  # another user's ids change nothing
        client = _client(app, one.username)
        page = client.get("/dash/")  # the header is built per request with the user's own count
        assert page.status_code == 200
        response = client.post(UPDATE, headers=csrf_headers(client), json=_body(
            app.extensions["maic.dash"], ids.NOTIFY_LIST, ids.NOTIFY_READ_ALL, {}))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert '"Notifications"' in response.get_data(as_text=True)
        with factory() as session:
            assert unread_count(session, one.id) == 0 and unread_count(session, two.id) == 2
    finally:
        app.extensions["maic.db"]["engine"].dispose()
