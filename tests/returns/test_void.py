"""Voiding a return restores what it superseded, audited, with the as-at history exact before and after."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from maic.cli import main
from maic.db import transaction
from maic.errors import MaicError
from maic.models import AuditEvent, Return
from maic.picture import PictureQuery, values
from maic.returns.void import void_return
from tests.fixtures import ingest

W = dt.date(2024, 9, 9)


def current(factory, area="E07000008", as_at=None, metric="releases_total"):
    with factory() as session:
        frame = values(session, PictureQuery(as_at=as_at), [metric], W, W)
    return frame[frame["area_code"] == area]["value"].tolist()


def test_void_restores_what_it_superseded_and_keeps_history(factory, data_dir):
    t1, t2 = dt.datetime(2024, 9, 16, 9), dt.datetime(2024, 9, 17, 9)
    first = ingest(factory, data_dir, "probation-cambs", [(W.isoformat(), "E07000008", "releases_total", 12)],
                   received_at=t1)
    second = ingest(factory, data_dir, "probation-cambs",
                    [(W.isoformat(), "E07000008", "releases_total", 40),
                     (W.isoformat(), "E07000009", "releases_total", 7)], received_at=t2)
    with factory() as session:
        assert session.get(Return, first.return_id).status == "superseded"
    before_void = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with transaction(factory) as session:
        restored = void_return(session, second.return_id, reason="double-counted a transfer", actor="analyst")
    assert restored == 1
    assert current(factory) == [12]  # the first return's value is current again
    assert current(factory, area="E07000009") == []  # it had replaced nothing there: no figure now
    assert current(factory, as_at=before_void) == [40]  # what was shown before the void is unchanged
    assert current(factory, as_at=t2 - dt.timedelta(hours=1)) == [12]
    with factory() as session:
        voided = session.get(Return, second.return_id)
        assert (voided.status, voided.void_reason) == ("voided", "double-counted a transfer")
        assert session.get(Return, first.return_id).status == "accepted"
        event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "return.void"))
        assert event.target == f"return:{second.return_id}" and "double-counted" in event.detail
    with pytest.raises(MaicError, match="already voided"), transaction(factory) as session:
        void_return(session, second.return_id, reason="again, twice", actor="analyst")


def test_a_value_already_replaced_later_is_left_alone(factory, data_dir):
    a = ingest(factory, data_dir, "probation-cambs", [(W.isoformat(), "E07000008", "releases_total", 1)],
               received_at=dt.datetime(2024, 9, 16))
    b = ingest(factory, data_dir, "probation-cambs", [(W.isoformat(), "E07000008", "releases_total", 2)],
               received_at=dt.datetime(2024, 9, 17))
    ingest(factory, data_dir, "probation-cambs", [(W.isoformat(), "E07000008", "releases_total", 3)],
           received_at=dt.datetime(2024, 9, 18))
    with transaction(factory) as session:
        assert void_return(session, b.return_id, reason="wrong week entirely", actor="analyst") == 0
    assert current(factory) == [3]
    assert a.return_id


def test_void_needs_a_reason(factory, data_dir):
    r = ingest(factory, data_dir, "probation-cambs", [(W.isoformat(), "E07000008", "releases_total", 1)])
    with pytest.raises(MaicError, match="give a reason"), transaction(factory) as session:
        void_return(session, r.return_id, reason=" ", actor="analyst")


def test_cli_void(factory, data_dir, db_url, monkeypatch):
    monkeypatch.setenv("MAIC_DATABASE_URL", db_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    r = ingest(factory, data_dir, "probation-cambs", [(W.isoformat(), "E07000008", "releases_total", 1)])
    result = CliRunner().invoke(main, ["returns", "void", str(r.return_id), "--reason", "sent by mistake"])
    assert result.exit_code == 0, result.output
    assert f"voided return {r.return_id}" in result.output
    missing = CliRunner().invoke(main, ["returns", "void", "999999", "--reason", "sent by mistake"])
    assert missing.exit_code == 1 and "there is no return 999999" in missing.output
