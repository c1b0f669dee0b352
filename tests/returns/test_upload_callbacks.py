"""The returns page's callback bodies check on the server who may submit for which agency."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from flask_login import login_user

from callbacks import returns as cb
from callbacks import scheduler as sched_cb
from maic.db import factory_for
from maic.errors import Forbidden, MaicError
from maic.models import Return, User
from maic.web.session_user import SessionUser
from tests.fixtures import csv_bytes, make_user

DATA = csv_bytes([("2024-09-09", "E07000008", "households_in_ta", 4)])
CONTENTS = "data:text/csv;base64," + base64.b64encode(DATA).decode()


def as_user(app, role: str, **kw):
    factory = factory_for(app)
    name = make_user(factory, role, **kw)
    context = app.test_request_context("/dash/_dash-update-component", method="POST")
    context.push()
    with factory() as session:
        user_id = session.scalar(sa.select(User.id).where(User.username == name))
        login_user(SessionUser.load(session, user_id))
    return context


def test_lead_previews_and_commits_for_their_own_agency_only(app):
    context = as_user(app, "agency_lead")  # cambridge-housing
    try:
        preview = cb.preview_data("cambridge-housing", CONTENTS, "r.csv")
        assert preview["errors"] == [] and preview["rows"] == 1
        with pytest.raises(Forbidden):
            cb.preview_data("fenland-housing", CONTENTS, "r.csv")
        with pytest.raises(Forbidden):
            cb.commit_data("probation-cambs", CONTENTS, "r.csv")
        receipt = cb.commit_data("cambridge-housing", CONTENTS, "r.csv")
        assert receipt["rows"] == 1 and not receipt["duplicate"]
        with pytest.raises(Forbidden):
            cb.template_download(1, None, "fenland-housing", "2024-09-09")
        with pytest.raises(Forbidden):
            sched_cb.render_page()
    finally:
        context.pop()
    with factory_for(app)() as session:
        ret = session.scalar(sa.select(Return))
        assert (ret.source, ret.submitted_by.role) == ("upload", "agency_lead")


@pytest.mark.parametrize("role", ["viewer", "neighbour"])
def test_roles_without_returns_cannot_preview(app, role):
    context = as_user(app, role)
    try:
        with pytest.raises(Forbidden):
            cb.preview_data("cambridge-housing", CONTENTS, "r.csv")
    finally:
        context.pop()


def test_analyst_may_send_for_any_agency_and_admin_sees_the_scheduler(app):
    context = as_user(app, "analyst")
    try:
        assert cb.preview_data("fenland-housing", CONTENTS, "r.csv")["errors"][0][2] == (
            "E07000008 is not an area this agency reports for")
    finally:
        context.pop()
    context = as_user(app, "admin")
    try:
        assert sched_cb.render_page() is not None
    finally:
        context.pop()


def _failing(error: Exception):
    def commit(*_args):
        raise error
    return commit


def test_a_commit_the_database_refuses_is_not_said_to_be_a_lost_connection(app, monkeypatch):
    """Two requests saving the same file at once: the loser's unique-key error is no outage, and it says so."""
    refused = sa.exc.IntegrityError("INSERT INTO return ...", {}, Exception("duplicate key value"))
    lost = sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    context = as_user(app, "agency_lead")
    try:
        monkeypatch.setattr(cb, "commit_data", _failing(refused))
        with pytest.raises(MaicError) as said:
            cb.committed("cambridge-housing", CONTENTS, "r.csv")
        assert "refused" in said.value.message and "could not be reached" not in said.value.message
        assert "nothing of it was saved" in said.value.message and "reference" in said.value.message
        monkeypatch.setattr(cb, "commit_data", _failing(lost))
        with pytest.raises(MaicError) as said:
            cb.committed("cambridge-housing", CONTENTS, "r.csv")
        assert said.value.message == cb.NOT_SAVED and said.value.title == "Not saved"
    finally:
        context.pop()
