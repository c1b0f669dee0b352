"""Issue 17: the trends (red cells per week, shortfall per week, the releases series) keep each week's value under
the newest change that could alter it (maic.picture.weekly), and compute only the weeks whose change moved.

Over generated histories (real ingests, corrections, backfills, voids, failed and concurrent ingests), after every
step the trends from the kept weeks equal the trends computed afresh; and a return for the newest week computes
that week alone. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from maic import picture
from maic.db import transaction
from maic.models import DataVersion, bump_data_version, utcnow
from maic.picture import PictureQuery, changes, weekly
from maic.picture.core import WEEK, data_stamp
from tests.picture.test_current_values import ACTIONS, CAMBRIDGE, QUERIES, WEEKS, History, reset


def trends(factory, query: PictureQuery) -> tuple:
    with factory() as session:
        return (picture.pressure(session, query).red_trend, picture.shortfall(session, query).trend,
                picture.release_series(session, query).weeks)


def fresh(factory, query: PictureQuery) -> tuple:
    with weekly.afresh():
        return trends(factory, query)


def test_every_history_keeps_the_trends_equal_to_the_trends_computed_afresh(factory, data_dir):
    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(ACTIONS, min_size=1, max_size=6))
    def history(actions):
        reset(factory)
        h = History(factory, data_dir)
        queries = [*QUERIES, PictureQuery(week_to=WEEKS[1], include_neighbours=True)]
        for action in actions:
            queries.append(PictureQuery(as_at=utcnow()))  # as at a past time: computed as before, never kept
            for query in queries:  # kept before the step, then asked again after it
                trends(factory, query)
            h.run(action)
            for query in queries:
                assert trends(factory, query) == fresh(factory, query), (action, query)

    history()


def test_a_return_for_the_newest_week_computes_that_week_alone(factory, data_dir):
    reset(factory)
    h = History(factory, data_dir)
    h.submit("cambridge-housing", [(w.isoformat(), CAMBRIDGE, m, 30 + i) for i, w in enumerate(WEEKS)
                                   for m in ("ta_capacity", "households_in_ta", "referrals_awaiting_placement")])
    h.submit("cpft", [(w.isoformat(), CAMBRIDGE, m, 10 + i) for i, w in enumerate(WEEKS)
                      for m in ("mh_referrals", "mh_capacity")])
    query = PictureQuery(include_neighbours=True)
    before = trends(factory, query)
    assert len(before[0]) > 3 and len(before[1]) > 3  # trends of several weeks
    assert any(n for _w, n in before[0]) and any(total for _w, total, _n in before[1])  # with something in them
    weekly.computed_weeks = 0
    assert trends(factory, query) == before
    assert weekly.computed_weeks == 0  # nothing changed: nothing computed

    h.submit("cambridge-housing", [(WEEKS[-1].isoformat(), CAMBRIDGE, "households_in_ta", 0)])
    h.submit("cpft", [(WEEKS[-1].isoformat(), CAMBRIDGE, "mh_referrals", 0)])
    weekly.computed_weeks = 0
    after = trends(factory, query)
    assert weekly.computed_weeks == 3  # the newest week, once for each trend
    assert after == fresh(factory, query) and after != before

    # A return for an older week computes that week and every later one: what it could have changed.
    h.submit("cambridge-housing", [(WEEKS[-2].isoformat(), CAMBRIDGE, "households_in_ta", 1)])
    weekly.computed_weeks = 0
    again = trends(factory, query)
    assert weekly.computed_weeks == 2 * 3  # two weeks for each trend
    assert again == fresh(factory, query)


def test_a_change_to_every_week_computes_every_week(factory, data_dir):
    reset(factory)
    h = History(factory, data_dir)
    h.submit("cambridge-housing", [(w.isoformat(), CAMBRIDGE, m, 30) for w in WEEKS
                                   for m in ("ta_capacity", "households_in_ta")])
    query = PictureQuery()
    before = trends(factory, query)
    with transaction(factory) as session:  # a reference or rules change: every week
        bump_data_version(session, utcnow(), first_week=None, written_at=None)
    weekly.computed_weeks = 0
    assert trends(factory, query) == before
    assert weekly.computed_weeks == sum(len(trend) for trend in before)


def test_the_affecting_changes_of_many_weeks_are_each_weeks_own(factory, data_dir):
    """changes.affecting_stamps (one walk back for every week of a trend) answers as affecting_stamp week by week,
    over generated histories, including gaps in the versions (a bump written without its change)."""
    @settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
              phases=[Phase.explicit, Phase.reuse, Phase.generate])
    @given(st.lists(st.one_of(st.just(("raw bump", None)), ACTIONS), min_size=1, max_size=6))
    def history(actions):
        reset(factory)
        h = History(factory, data_dir)
        weeks = [WEEKS[0] - i * WEEK for i in range(1, 4)] + WEEKS + [WEEKS[-1] + WEEK]
        for action in actions:
            if action[0] == "raw bump":
                with transaction(factory) as session:
                    session.execute(sa.update(DataVersion).values(version=DataVersion.version + 1))
            else:
                h.run(action)
            with factory() as session:
                stamp = data_stamp(session)
                many = changes.affecting_stamps(session, stamp, weeks)
                assert many == {w: changes.affecting_stamp(session, stamp, w, None) for w in weeks}, action
                # And as a new process reads them, all at once: a raw bump is then a gap in the versions.
                held = changes.DataChanges()
                many = held.affecting_weeks(session, stamp, weeks)
                assert many == {w: held.affecting(session, stamp, w, None) for w in weeks}, action

    history()
