"""A change to settings or reference moves the data version: kept answers are not served under the old rule,
and every open dashboard is told at its next live check."""

from __future__ import annotations

import time

import sqlalchemy as sa

from maic import admin
from maic.db import transaction
from maic.models import AuditEvent, Metric
from maic.picture import data_version
from maic.reference import load_reference, read_reference
from tests.fixtures import login_as
from tests.picture.test_callbacks import announced, panel_body, post, version_body
from tests.picture.world import seed


def _told_of_a_new_version(client, known: int) -> int:
    deadline = time.monotonic() + 10
    while (told := announced(post(client, version_body(known)))) is None:
        assert time.monotonic() < deadline, "the new version was never announced"
        time.sleep(0.05)
    return told


def test_a_threshold_change_changes_the_kept_pressure_panel_and_is_announced(client, factory, data_dir):
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    body = panel_body("pressure-panel")
    before = post(client, body).get_data(as_text=True)
    assert "2 red, 2 amber" in before and "Recalls to custody (amber from 0.3, red from 0.5 per 10,000" in before
    assert post(client, body).get_data(as_text=True) == before  # kept
    known = announced(post(client, version_body(None)))

    with transaction(factory) as session:
        old, new = admin.update_metric(session, "admin", "probation_recalls", {"amber": 0.25})
    assert (old.amber, new.amber, new.red, new.shareable) == (0.3, 0.25, 0.5, True)

    assert _told_of_a_new_version(client, known) > known
    after = post(client, body).get_data(as_text=True)
    assert "Recalls to custody (amber from 0.25, red from 0.5 per 10,000" in after
    assert "Recalls to custody (amber from 0.3," not in after


def test_only_the_settings_named_are_written_and_the_audit_shows_before_and_after(factory):
    with factory() as session:
        version = data_version(session)
    with transaction(factory) as session:
        admin.update_metric(session, "admin", "households_in_ta", {"amber": 0.85})
    with factory() as session:
        metric = session.scalar(sa.select(Metric).where(Metric.key == "households_in_ta"))
        assert (metric.shareable, metric.rag_amber, metric.rag_red) == (True, 0.85, 1.0)
        event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "admin.metric_update"))
        assert event.detail == "shareable=True amber=0.9 red=1.0 -> shareable=True amber=0.85 red=1.0"
        assert data_version(session) == version + 1
    with transaction(factory) as session:  # the same values again: nothing written, nothing moves
        admin.update_metric(session, "admin", "households_in_ta", {"amber": 0.85, "shareable": True})
    with factory() as session:
        assert data_version(session) == version + 1
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "admin.metric_update")) == 1


def test_losing_a_threshold_or_sharing_is_named_before_it_is_saved(factory):
    with factory() as session:
        before = admin.metric_settings(session, "households_in_ta")
        assert admin.settings_losses(before, admin.proposed_settings(before, {"amber": 0.85})) == []
        losses = admin.settings_losses(before, admin.proposed_settings(before, {"shareable": False, "red": None}))
        assert losses == ["neighbouring LRFs will no longer see this metric",
                          "the red threshold is removed: no area can be rated red on this metric"]
        assert "a share of Emergency and temporary accommodation capacity" in admin.threshold_unit(
            session, "households_in_ta")
        assert "per 10,000 people" in admin.threshold_unit(session, "rough_sleepers")


def test_a_reference_load_that_changes_something_moves_the_data_version(factory):
    data = read_reference()
    with transaction(factory) as session:
        load_reference(session, data)  # as loaded already: nothing changes
        version = data_version(session)
    next(m for m in data["metrics"] if m["key"] == "rough_sleepers")["rag"]["amber"] = 1.5
    with transaction(factory) as session:
        load_reference(session, data)
    with factory() as session:
        assert data_version(session) == version + 1
