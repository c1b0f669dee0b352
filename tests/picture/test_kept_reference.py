"""Reference reads kept per process under the data stamp: a reader at the same stamp reads none of them again,
and any change to them (a reference load, an admin change, an ingest) in another process moves the stamp, so the
next reader reads afresh and nothing kept under the old stamp is served or kept on."""

from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from maic import admin
from maic.db import make_engine, make_session_factory, transaction
from maic.models import Area, bump_data_version, utcnow
from maic.picture import PictureQuery, core
from maic.picture.completeness import agencies_counted
from maic.reference import DEFAULT_REFERENCE, load_reference, read_reference
from tests.fixtures import login_as
from tests.picture.test_callbacks import announced, panel_body, post, version_body
from tests.picture.world import CAMBRIDGE, W2, seed

EVERYONE = PictureQuery(include_neighbours=True)
FENLAND = "E07000010"


@contextmanager
def statements(engine):
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if statement != "BEGIN":  # SQLite's driver shows its own
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def reference(session) -> dict:
    """Every reference read the panels keep, as plain values."""
    return {"areas": core.areas_in_scope(session, EVERYONE).to_dict("records"),
            "metric ids": core.metric_ids(session, ["releases_total", "households_in_ta"]),
            "expected": core.expected_areas(session, EVERYONE, ["households_in_ta", "releases_total"]),
            "catalogue": core.metric_catalogue(session).astype(object).where(lambda f: f.notna(), None)
            .to_dict("records"),
            "start": core.incident_start(session), "markers": core.tranche_markers(session),
            "agencies": [tuple(a) for a in agencies_counted(session, EVERYONE)]}


@pytest.fixture
def other(db_url):
    """Another engine on the same database: another worker, the CLI, the scheduler."""
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_reader_at_the_same_stamp_reads_no_reference_again_and_gets_the_same_answers(engine, factory):
    with factory() as session:
        stamp = core.data_stamp(session)
        first = reference(session)
    with factory() as session, statements(engine) as seen:
        assert core.data_stamp(session) == stamp
        again = reference(session)
    assert len(seen) == 1 and "data_version" in seen[0]
    assert again == first
    with factory() as session:  # a session that never read the stamp keeps its reads to itself
        assert reference(session) == first


def test_a_reference_load_in_another_process_is_read_afresh_by_the_next_reader(engine, factory, other):
    with factory() as session:
        old_stamp = core.data_stamp(session)
        before = reference(session)
    data = copy.deepcopy(read_reference(DEFAULT_REFERENCE))
    cambridge = next(a for a in data["lrfs"][0]["areas"] if a["code"] == CAMBRIDGE)
    cambridge["name"], cambridge["population"] = "Cambridge City", 150000
    data["incident"]["start"] = "2024-08-26"
    with transaction(other) as session:
        load_reference(session, data)
    with factory() as session:
        stamp = core.data_stamp(session)
        after = reference(session)
    assert stamp != old_stamp
    area = next(a for a in after["areas"] if a["code"] == CAMBRIDGE)
    assert (area["name"], area["population"]) == ("Cambridge City", 150000)
    assert str(after["start"]) == "2024-08-26" and after["start"] != before["start"]
    # Only the new stamp's entries are kept for this engine.
    kept_stamp, kept = core._BY_STAMP[engine]
    assert kept_stamp == stamp and ("areas", True, ()) in kept


def test_an_admin_change_in_another_process_is_read_afresh_by_the_next_reader(engine, factory, other):
    with factory() as session:
        core.data_stamp(session)
        before = reference(session)
    assert FENLAND in before["expected"]["households_in_ta"]
    assert "fenland-housing" in {a[1] for a in before["agencies"]}
    with transaction(other) as session:
        admin.set_agency_active(session, "admin", "fenland-housing", False)
    with factory() as session:
        core.data_stamp(session)
        after = reference(session)
    assert FENLAND not in after["expected"]["households_in_ta"]
    assert "fenland-housing" not in {a[1] for a in after["agencies"]}
    with transaction(other) as session:
        admin.update_metric(session, "admin", "households_in_ta", {"amber": 0.85})
    with factory() as session:
        core.data_stamp(session)
        after = reference(session)
    assert next(m for m in after["catalogue"] if m["key"] == "households_in_ta")["rag_amber"] == 0.85


def test_an_ingest_in_another_process_moves_the_stamp_and_nothing_kept_under_the_old_one_is_kept_on(
        engine, factory, data_dir, other):
    with factory() as session:
        old_stamp = core.data_stamp(session)
        reference(session)
    old_kept = core._BY_STAMP[engine][1]
    assert old_kept
    seed(other, data_dir)
    with factory() as session, statements(engine) as seen:
        stamp = core.data_stamp(session)
        reference(session)
    assert stamp != old_stamp and len(seen) > 1  # read again
    kept_stamp, kept = core._BY_STAMP[engine]
    assert kept_stamp == stamp and kept is not old_kept


def test_a_writer_reads_its_own_change_and_keeps_nothing_of_it_for_the_process(engine, factory):
    with factory() as session:
        stamp = core.data_stamp(session)
        reference(session)
    with factory() as session:
        assert core.data_stamp(session) == stamp
        assert core.areas_in_scope(session, EVERYONE).set_index("code").loc[CAMBRIDGE, "name"] == "Cambridge"
        session.execute(sa.update(Area).where(Area.code == CAMBRIDGE).values(name="Renamed"))
        assert core.areas_in_scope(session, EVERYONE).set_index("code").loc[CAMBRIDGE, "name"] == "Renamed"
        bump_data_version(session, utcnow(), first_week=None, written_at=None)
        moved = core.data_stamp(session)
        assert moved != stamp
        assert core.areas_in_scope(session, EVERYONE).set_index("code").loc[CAMBRIDGE, "name"] == "Renamed"
        session.rollback()
    assert core._BY_STAMP[engine][0] == stamp  # the uncommitted stamp was never kept under
    with factory() as session:
        assert core.data_stamp(session) == stamp
        assert core.areas_in_scope(session, EVERYONE).set_index("code").loc[CAMBRIDGE, "name"] == "Cambridge"


def test_the_live_check_reads_nothing_but_the_user_and_sees_another_process_change(app, client, factory, data_dir, other):
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    known = announced(post(client, version_body(None)))
    body = panel_body("completeness-panel", {"to": W2.isoformat()})
    assert "Fenland District Council housing" in post(client, body).get_data(as_text=True)
    with statements(app.extensions["maic.db"]["engine"]) as seen:
        assert announced(post(client, version_body(known))) is None
    assert len(seen) == 1 and "user_account" in seen[0] and "data_version" in seen[0]  # the user, with the stamp

    with transaction(other) as session:
        admin.set_agency_active(session, "admin", "fenland-housing", False)
    from tests.picture.test_settings_version import _told_of_a_new_version

    assert _told_of_a_new_version(client, known) > known
    assert "Fenland District Council housing" not in post(client, body).get_data(as_text=True)
