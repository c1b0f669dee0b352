"""Kept picture answers are keyed by the newest change that could alter them (callbacks/overview._view_stamp).

First the premise, with real ingests, corrections, voids and backdated returns on the hand-computed world: a
panel for week W is the same after changes only to later weeks, and a view as at T the same after changes
written after T. Then, over generated histories, every kept answer equals the answer computed afresh with
nothing kept. Then the point of it: after a return for the newest week, a dashboard on an older week gets its
live redraw through the real Dash endpoint without computing a panel.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager, suppress

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from callbacks import overview
from layouts import panels
from layouts.plain import rendered
from maic import admin, picture
from maic.db import transaction
from maic.errors import MaicError
from maic.models import DataChange, DataVersion, Return, bump_data_version, utcnow
from maic.picture import Filters
from maic.picture.filters import NEIGHBOURS
from maic.returns.ingest import Submission, ingest_return
from maic.returns.void import void_return
from tests.fixtures import csv_bytes, ingest
from tests.picture.test_callbacks import live_body, post
from tests.picture.test_current_values import ACTIONS, CAMBRIDGE, WEEKS, History, reset
from tests.picture.world import PETERBOROUGH, W1, W2, seed

PANELS = tuple(overview.BUILDERS)  # headlines, releases, shortfall, pressure, completeness, forward
EXPORTS = ("headlines", "releases-areas", "releases-weeks", "shortfall", "pressure", "completeness", "forward")
CACHES = ("maic.picture_cache", "maic.answer_cache", "maic.recent_views")
FENLAND = "E07000010"


@contextmanager
def nothing_kept(app):
    """The app with none of its kept answers: whatever is computed inside is computed afresh, and dropped."""
    held = {name: app.extensions.pop(name) for name in CACHES if name in app.extensions}
    try:
        yield
    finally:
        for name in CACHES:
            app.extensions.pop(name, None)
        app.extensions.update(held)


def answers(app, filters: Filters, names=PANELS, *, kept: bool) -> dict[str, bytes]:
    """Each panel's answer as the dashboard receives it (JSON), and each export's CSV, for these filters."""

    def read() -> dict[str, bytes]:
        out = {}
        for name in names:
            with app.test_request_context("/dash/"):
                out[name] = orjson.dumps(overview.answer(name, filters, True))
        for name in EXPORTS if names == PANELS else ():
            with app.test_request_context("/dash/"):
                out[f"export {name}"] = overview.export_table(name, filters, None)[0].to_csv().encode()
        return out

    if kept:
        return read()
    with nothing_kept(app):
        return read()


def deadline() -> dict:
    return {"deadline_rule": overview.setting("MAIC_RETURN_DEADLINE"), "tz": overview._tz()}


def completeness_grid(app, filters: Filters) -> bytes:
    """The completeness panel without what reads every week (each agency shown as never received), computed
    afresh: the part of it kept by week."""
    with nothing_kept(app), app.test_request_context("/dash/"):
        grid = picture.completeness_grid(overview.db(), overview.query_for(filters), **deadline())
        return orjson.dumps(rendered(panels.completeness_children(
            picture.with_last_received(grid, {}), lambda moment: picture.local_time(moment, overview._tz()))).value())


def completeness_computed_whole(app, filters: Filters) -> bytes:
    """The completeness panel computed in one piece (picture.completeness, layouts' completeness_children), not
    assembled from parts: what the assembled answer must equal."""
    with nothing_kept(app), app.test_request_context("/dash/"):
        found = picture.completeness(overview.db(), overview.query_for(filters), **deadline())
        return orjson.dumps(rendered(panels.completeness_children(
            found, lambda moment: picture.local_time(moment, overview._tz()))).value())


def as_at(moment: dt.datetime) -> dict:
    """An as-at (naive UTC) as the filters hold it: London date and time, to the minute."""
    local = moment.replace(tzinfo=dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=1)))  # BST in Sep/Oct 2024
    return {"as_at_date": local.date(), "as_at_time": local.strftime("%H:%M")}


# --- the premise ------------------------------------------------------------------------------------------

def later_weeks_only(factory, data_dir) -> None:
    """Changes to W2 only, of every kind: a new return, a correction, a backdated return, a void."""
    w2 = W2.isoformat()
    ingest(factory, data_dir, "fenland-housing", [(w2, FENLAND, "households_in_ta", 40),
                                                  (w2, FENLAND, "ta_capacity", 30)], filename="fenland-w2.csv")
    ingest(factory, data_dir, "probation-cambs", [(w2, PETERBOROUGH, "releases_total", 26)],
           filename="probation-w2-again.csv")
    ingest(factory, data_dir, "probation-cambs", [(w2, FENLAND, "releases_total", 3)],
           filename="probation-fenland-late.csv", received_at=dt.datetime(2024, 9, 25, 9))
    with transaction(factory) as session:
        cpft = session.scalar(sa.select(Return.id).where(Return.filename == "cpft-w2.csv"))
        void_return(session, cpft, reason="sent for the wrong week", actor="test")


def after_time(factory, data_dir, moment: dt.datetime) -> None:
    """Changes to both weeks, all written after `moment`: a correction of W1, a backdated W1 return, a void."""
    ingest(factory, data_dir, "probation-cambs", [(W1.isoformat(), CAMBRIDGE, "releases_total", 8),
                                                  (W2.isoformat(), CAMBRIDGE, "releases_total", 21)],
           filename="probation-both.csv")
    ingest(factory, data_dir, "cambridge-housing", [(W1.isoformat(), CAMBRIDGE, "rough_sleepers", 11)],
           filename="cambridge-w1-late.csv", received_at=moment + dt.timedelta(hours=1))
    with transaction(factory) as session:
        first = session.scalar(sa.select(Return.id).where(Return.filename == "probation-w1.csv"))
        void_return(session, first, reason="double counted", actor="test")


def test_a_week_is_unchanged_by_changes_to_later_weeks(app, factory, data_dir):
    seed(factory, data_dir)
    views = [Filters(week_to=W1), Filters(week_from=W1, week_to=W1, scope=NEIGHBOURS),
             Filters(week_to=W1, area=CAMBRIDGE), Filters(week_from=W1, week_to=W1, area=PETERBOROUGH)]
    before = {v: answers(app, v, kept=False) for v in views}
    grids_before = {v: completeness_grid(app, v) for v in views}
    newest_before = answers(app, Filters(week_to=W2), ("releases", "shortfall"), kept=False)
    with factory() as session:
        blind_before = picture.completeness(session, Filters(week_to=W1).query("Europe/London"))
    later_weeks_only(factory, data_dir)
    changed = {v: answers(app, v, kept=False) for v in views}
    for view in views:
        for name, text in before[view].items():
            if name.endswith("completeness"):
                continue  # its "last received" reads every week's returns (WEEK_BLIND), checked below
            assert changed[view][name] == text, (name, view)
        # Completeness but its last received: the grid, the counts, "missing", as the panel shows them.
        assert completeness_grid(app, view) == grids_before[view], view
    # The premise's exception: completeness's "last received" reads returns of any week.
    with factory() as session:
        blind_after = picture.completeness(session, Filters(week_to=W1).query("Europe/London"))
    assert [a.last_received for a in blind_after.agencies] != [a.last_received for a in blind_before.agencies]
    assert changed[views[0]]["completeness"] != before[views[0]]["completeness"]
    assert {"last-received"} == overview.WEEK_BLIND
    # And W2's own view did change (the changes are real).
    assert answers(app, Filters(week_to=W2), ("releases", "shortfall"), kept=False) != newest_before


def test_completeness_as_at_a_time_is_unchanged_by_changes_written_after_it_the_rest_are_not(app, factory, data_dir):
    """Completeness as at T is keyed by the newest change written by T. The other panels are not: as at a past
    time they mark figures revised since, which a later change of their weeks alters."""
    seed(factory, data_dir)
    moment = dt.datetime(2024, 9, 20, 11)  # after every seeded return
    views = [Filters(week_to=W2, **as_at(moment)), Filters(week_to=W1, scope=NEIGHBOURS, **as_at(moment)),
             Filters(week_from=W1, week_to=W2, area=CAMBRIDGE, **as_at(moment)), Filters(**as_at(moment))]
    before = {v: answers(app, v, kept=False) for v in views}
    after_time(factory, data_dir, moment)
    for view in views:
        after = answers(app, view, kept=False)
        for name in ("completeness", "export completeness"):
            assert after[name] == before[view][name], view
    after = answers(app, views[0], kept=False)
    assert after["headlines"] != before[views[0]]["headlines"]  # "revised since" now marked
    assert {"last-received"} == overview.WEEK_BLIND
    assert {"last-received", "completeness-grid"} == overview.AS_AT_BOUND


# --- the keys, over generated histories --------------------------------------------------------------------

BACKDATED = [dt.datetime(2024, 10, 16, 9), dt.datetime(2024, 10, 23, 9), dt.datetime(2024, 10, 30, 9)]
FIXED_AS_AT = dt.datetime(2024, 10, 24, 12)
MORE_ACTIONS = st.one_of(
    ACTIONS,
    st.tuples(st.just("backdated"), st.tuples(st.sampled_from(BACKDATED), ACTIONS.filter(
        lambda a: a[0] == "ingest").map(lambda a: a[1]))),
    st.tuples(st.just("rule"), st.sampled_from([0.5, 0.8, 0.95])),
    st.tuples(st.just("agency"), st.booleans()),
)


def run(h: History, action) -> None:
    kind, arg = action
    if kind == "backdated":  # a return dated in the past: refused where it would rewrite newer history
        received_at, (agency, rows) = arg
        submission = Submission(data=csv_bytes(rows), filename=f"backdated-{received_at:%d}.csv",
                                agency_slug=agency, actor="test", received_at=received_at)
        with suppress(MaicError):
            ingest_return(h.factory, submission, h.settings)
    elif kind == "rule":
        with transaction(h.factory) as session:
            admin.update_metric(session, "test", "households_in_ta", {"amber": arg})
    elif kind == "agency":
        with transaction(h.factory) as session:
            admin.set_agency_active(session, "test", "cpft", arg)
    else:
        h.run(action)


def views(checkpoint: dt.datetime) -> list[Filters]:
    return [Filters(), Filters(week_to=WEEKS[0]), Filters(week_to=WEEKS[1], scope=NEIGHBOURS),
            Filters(week_from=WEEKS[0], week_to=WEEKS[2], area=CAMBRIDGE), Filters(week_to=WEEKS[0], **as_at(FIXED_AS_AT)),
            Filters(week_to=WEEKS[1], **as_at(checkpoint)), Filters(scope=NEIGHBOURS, **as_at(checkpoint))]


def test_every_kept_answer_equals_the_answer_computed_afresh(app, factory, data_dir):
    # Not shrunk, as in test_current_values: each example is several real ingests on a real database.
    @settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(MORE_ACTIONS, min_size=2, max_size=6))
    def history(actions):
        reset(factory)
        with transaction(factory) as session:  # the reset deleted figures: a change to everything
            bump_data_version(session, utcnow(), first_week=None, written_at=None)
            admin.set_agency_active(session, "test", "cpft", True)
        h = History(factory, data_dir)
        checkpoint = utcnow()
        for step, action in enumerate(actions):
            run(h, action)
            if step == 0:
                checkpoint = utcnow() + dt.timedelta(minutes=1)  # the next minute: as-at is to the minute
            for view in views(checkpoint):
                kept = answers(app, view, kept=True)
                assert kept == answers(app, view, kept=False), (action, view)
                # Completeness's answer is assembled from two kept parts: it equals the panel built whole.
                assert kept["completeness"] == completeness_computed_whole(app, view), (action, view)

    history()


# --- reading the changes --------------------------------------------------------------------------------------

def test_the_affecting_change_is_the_newest_that_reaches_the_week_and_time(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        stamp = picture.data_stamp(session)
        changes = picture.data_changes(session)
        assert changes.affecting(session, stamp, W2, None) == stamp  # the last seeded return was for W2
        w1 = changes.affecting(session, stamp, W1, None)
        assert w1 < stamp
        first = session.scalar(sa.select(DataChange).where(DataChange.version == w1[0]))
        assert first.first_week <= W1 and first.written_at == dt.datetime(2024, 9, 9, 11)  # cambridge-w1
        reads = changes.reads
        for _ in range(3):
            changes.affecting(session, stamp, W1, None)
        assert changes.reads == reads  # read once per data stamp
    ingest(factory, data_dir, "probation-cambs", [(W2.isoformat(), FENLAND, "releases_total", 2)],
           filename="fenland.csv")
    with factory() as session:
        newer = picture.data_stamp(session)
        assert changes.affecting(session, newer, W1, None) == w1  # a W2 return leaves W1's key
        assert changes.affecting(session, newer, W2, None) == newer
        assert changes.affecting(session, newer, W2, dt.datetime(2024, 9, 20)) == stamp  # written after it
        assert changes.reads == reads + 1  # only the newer rows
        # A request that read the data stamp just before that return: answered as of its stamp, with no read.
        assert changes.affecting(session, stamp, W2, None) == stamp
        assert changes.affecting(session, newer, W2, None) == newer
        assert changes.reads == reads + 1
    with transaction(factory) as session:
        admin.update_metric(session, "test", "households_in_ta", {"amber": 0.5})
    with factory() as session:
        rule = picture.data_stamp(session)
        assert changes.affecting(session, rule, W1, dt.datetime(2024, 9, 1)) == rule  # a rule reaches every view


def test_a_version_written_without_its_change_counts_as_changing_everything(factory, data_dir):
    seed(factory, data_dir)
    with transaction(factory) as session:  # a raw loader (benchmarks/national.py) moves the version by hand
        session.execute(sa.update(DataVersion).where(DataVersion.id == 1)
                        .values(version=DataVersion.version + 5, changed_at=utcnow()))
    with factory() as session:
        stamp = picture.data_stamp(session)
        assert picture.affecting_stamp(session, stamp, W1, dt.datetime(2024, 9, 1)) == stamp
    with transaction(factory) as session:  # and a database put back to an older state
        session.execute(sa.update(DataVersion).where(DataVersion.id == 1)
                        .values(version=DataVersion.version - 6, changed_at=utcnow()))
    with factory() as session:
        stamp = picture.data_stamp(session)
        assert picture.affecting_stamp(session, stamp, W1, None) == stamp


def test_every_bump_says_what_it_changed(factory, data_dir):
    with transaction(factory) as session, pytest.raises(TypeError):
        bump_data_version(session, utcnow())  # type: ignore[call-arg]
    seed(factory, data_dir)
    with transaction(factory) as session:
        void_return(session, session.scalar(sa.select(Return.id).where(Return.filename == "probation-w1.csv")),
                    reason="double counted", actor="test")
    with factory() as session:
        version = session.scalar(sa.select(DataVersion.version))
        rows = session.scalars(sa.select(DataChange).order_by(DataChange.version)).all()
        assert [r.version for r in rows][-10:] == list(range(version - 9, version + 1))  # one a bump
        assert (rows[-1].first_week, rows[-1].written_at is not None) == (W1, True)  # the void
        corrected = session.scalar(sa.select(Return).where(Return.filename == "=probation-w2-corrected.csv"))
        row = next(r for r in rows if r.written_at == corrected.received_at)
        assert row.first_week == W2 and row.changed_at == corrected.received_at


# --- the live redraw through the Dash endpoint ------------------------------------------------------------

def test_a_return_for_the_newest_week_leaves_an_older_weeks_dashboard_kept(app, client, factory, data_dir):
    from tests.fixtures import login_as

    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    older, newest = {"to": W1.isoformat()}, {"to": W2.isoformat()}
    for filters in (older, newest):
        assert post(client, live_body(client, 1, filters)).status_code == 200
    cache = app.extensions["maic.picture_cache"]
    ingest(factory, data_dir, "probation-cambs", [(W2.isoformat(), FENLAND, "releases_total", 4)],
           filename="probation-fenland.csv")
    misses, kept = cache.misses, set(cache._items)
    first = post(client, live_body(client, 2, older))
    assert first.status_code == 200
    # Computed: what follows the current data (the week picker's weeks and the week statuses, the filters'
    # bounds), each agency's last return received (of any week) and completeness's answer assembled from it and
    # its grid, kept; no panel, and not completeness's grid.
    computed = {key[1] if key[0] == "rendered" else key[0] for key in set(cache._items) - kept}
    assert computed == {"week-options", "week-statuses", "bounds", "last-received", "completeness"}
    assert cache.misses - misses == len(computed)
    misses, kept = cache.misses, set(cache._items)
    assert post(client, live_body(client, 2, newest)).status_code == 200
    computed = {key[1] if key[0] == "rendered" else key[0] for key in set(cache._items) - kept}
    assert set(PANELS) | {"series"} <= computed  # the newest week's panels are computed again
    # And what was served kept is what would be computed afresh.
    with nothing_kept(app):
        again = post(client, live_body(client, 2, older))
    assert again.get_json()["response"] == first.get_json()["response"]


def test_a_kept_live_view_is_drawn_again_when_its_weeks_deadline_passes(app, factory, data_dir, monkeypatch):
    """A view is now kept across returns to other weeks, so the clock must move it too: W2's header says "not yet
    due" until its deadline, and not after it, with no return in between."""
    from maic.picture import core

    seed(factory, data_dir)
    clock = {"now": dt.datetime(2024, 9, 17, 10, 30)}  # W2's deadline: Tue 17 Sep 12:00 BST = 11:00 UTC
    for module in (overview, core):
        monkeypatch.setattr(module, "utcnow", lambda: clock["now"])
    view = Filters(week_to=W2)
    before = answers(app, view, ("headlines",), kept=True)
    assert b"not yet due" in before["headlines"]
    clock["now"] = dt.datetime(2024, 9, 17, 11, 30)
    after = answers(app, view, ("headlines",), kept=True)
    assert b"not yet due" not in after["headlines"]
    assert after == answers(app, view, ("headlines",), kept=False)
