"""Releases by area and the weekly series, against hand-computed figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from maic.picture import PictureQuery, release_series, releases_by_area, releases_table, series_table
from tests.picture.world import CAMBRIDGE, CORRECTED_AT, NORWICH, PETERBOROUGH, W1, W2, clear_population, seed

RANGE = PictureQuery(week_from=W1, week_to=W2)


def by_code(result):
    return {a.code: a for a in result.areas}


def test_releases_by_area_counts_and_rates(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = releases_by_area(session, RANGE)
    areas = by_code(result)
    assert len(areas) == 6 and NORWICH not in areas  # home only
    assert (areas[CAMBRIDGE].count, areas[CAMBRIDGE].rate) == (25, 1.71)  # 5 + 20; 25 / 146,000 x 10,000
    assert (areas[PETERBOROUGH].count, areas[PETERBOROUGH].rate) == (34, 1.55)  # 7 + 27 after the correction
    fenland = areas["E07000010"]
    assert fenland.count is None and fenland.rate is None and fenland.note == "no release figures for these weeks"
    assert result.weeks == 2


def test_a_partial_range_and_a_missing_population_are_said_plainly(factory, data_dir):
    seed(factory, data_dir)
    clear_population(factory, PETERBOROUGH)
    with factory() as session:
        result = releases_by_area(session, PictureQuery(week_from=dt.date(2024, 8, 26), week_to=W2))
    peterborough = by_code(result)[PETERBOROUGH]
    assert peterborough.count == 34 and peterborough.rate is None
    assert peterborough.note == "figures for 2 of 3 weeks; no population figure: rate not computed"
    table = releases_table(result)
    assert table.loc[table["Code"] == PETERBOROUGH, "Per 10,000"].isna().all()


def test_neighbours_are_included_on_request(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = releases_by_area(session, PictureQuery(week_from=W1, week_to=W2, include_neighbours=True))
    norwich = by_code(result)[NORWICH]
    assert (norwich.count, norwich.rate, norwich.is_home, norwich.lrf) == (9, 0.62, False, "norfolk")


def test_releases_as_at_before_the_correction_and_revised_marks(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        then = releases_by_area(session, PictureQuery(week_from=W1, week_to=W2,
                                                      as_at=CORRECTED_AT - dt.timedelta(hours=1)))
        early = releases_by_area(session, PictureQuery(week_from=W1, as_at=dt.datetime(2024, 9, 9, 12)))
    assert by_code(then)[PETERBOROUGH].count == 37 and by_code(then)[PETERBOROUGH].revised
    assert by_code(then)[CAMBRIDGE].count == 25 and not by_code(then)[CAMBRIDGE].revised
    assert early.week_to == W1 and by_code(early)[CAMBRIDGE].count == 5


def test_weekly_series_split_by_tranche_and_accommodation(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        now = release_series(session, RANGE)
        then = release_series(session, PictureQuery(week_from=W1, week_to=W2, as_at=CORRECTED_AT - dt.timedelta(1)))
    w1, w2 = now.weeks
    assert (w1.week, w1.total, w1.tranche1, w1.tranche2, w1.other, w1.nfa, w1.housed) == (W1, 12, 0, 0, 12, 1, 11)
    # 20 + 27 released; tranche one 12 + 17; NFA 4 + 6
    assert (w2.total, w2.tranche1, w2.tranche2, w2.other, w2.nfa, w2.housed, w2.areas_reported) == (47, 29, 0, 18, 10,
                                                                                                    37, 2)
    assert [m[1] for m in now.markers] == ["Tranche one", "Tranche two"]
    assert now.markers[0][0] == dt.date(2024, 9, 10)
    assert (then.weeks[1].total, then.weeks[1].tranche1, then.weeks[1].revised) == (50, 32, True)
    assert not then.weeks[0].revised
    assert series_table(now)["Released"].tolist() == [12, 47]


def test_a_week_with_no_release_return_is_not_zero(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = release_series(session, PictureQuery(week_from=dt.date(2024, 8, 26), week_to=W2))
    assert result.weeks[0].total is None
    assert series_table(result)["Released"].isna().tolist() == [True, False, False]


def test_empty_deployment(factory):
    with factory() as session:
        assert releases_by_area(session, PictureQuery()).areas == []
        assert release_series(session, PictureQuery()).weeks == []
