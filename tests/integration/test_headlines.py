"""Headline figures against hand-computed fixtures, including supersession, as-at and missing returns."""

from __future__ import annotations

import datetime as dt

from maic.picture import PictureQuery, headlines, latest_week, weeks_with_data
from tests.fixtures import ingest

W1, W2 = "2024-09-02", "2024-09-09"
T = dt.datetime(2024, 9, 17, 9, 0)


def seed(factory, data_dir):
    ingest(factory, data_dir, "probation-cambs", [
        (W1, "E07000008", "releases_total", 5), (W1, "E07000008", "releases_nfa", 1),
        (W1, "E06000031", "releases_total", 7), (W1, "E06000031", "releases_nfa", 0),
    ], received_at=dt.datetime(2024, 9, 9, 10))
    ingest(factory, data_dir, "probation-cambs", [
        (W2, "E07000008", "releases_total", 20), (W2, "E07000008", "releases_nfa", 4),
        (W2, "E06000031", "releases_total", 30), (W2, "E06000031", "releases_nfa", 6),
    ], received_at=T)
    # Cambridge: 100 in TA of 104 places (spare 4); demand = NFA 4 + awaiting 3 = 7: shortfall 3.
    ingest(factory, data_dir, "cambridge-housing", [
        (W1, "E07000008", "households_in_ta", 98), (W1, "E07000008", "ta_capacity", 104),
        (W1, "E07000008", "referrals_awaiting_placement", 2),
    ], received_at=dt.datetime(2024, 9, 9, 11))
    ingest(factory, data_dir, "cambridge-housing", [
        (W2, "E07000008", "households_in_ta", 100), (W2, "E07000008", "ta_capacity", 104),
        (W2, "E07000008", "referrals_awaiting_placement", 3),
    ], received_at=T)
    # Peterborough: 50 in TA of 60 (spare 10); demand = 6 + 1 = 7: no shortfall.
    ingest(factory, data_dir, "peterborough-housing", [
        (W2, "E06000031", "households_in_ta", 50), (W2, "E06000031", "ta_capacity", 60),
        (W2, "E06000031", "referrals_awaiting_placement", 1),
    ], received_at=T)


def tiles(result) -> dict[str, tuple]:
    return {t.key: (t.value, t.change) for t in result.tiles}


def test_headlines_hand_computed(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = headlines(session, PictureQuery())
    assert result.week == dt.date(2024, 9, 9)
    assert tiles(result) == {
        "released_week": (50, 38),
        "released_to_date": (62, 50),
        "released_nfa": (10, 9),
        # Last week only Cambridge had reported: the change compares Cambridge with Cambridge, 100 - 98.
        "households_in_ta": (150, 2),
        "shortfall": (3, 3),  # last week: Cambridge spare 6, demand 1 + 2 = 3: no shortfall
        "services_red": (0, 0),  # TA 100/104 and 98/104 are amber (red from 100%), 50/60 green
    }
    by_key = {t.key: t for t in result.tiles}
    assert by_key["released_nfa"].note == "20% of this week's releases"
    assert by_key["households_in_ta"].change_note == "change over the 1 area reporting both weeks"
    assert by_key["households_in_ta"].coverage == "2 of 6 areas" and by_key["released_week"].coverage == "2 of 6 areas"
    assert by_key["released_to_date"].coverage == "4 of 36 area-weeks"  # 6 areas x 6 weeks from 5 Aug
    assert (result.returns_in, result.returns_due) == (3, 14)


def test_headlines_as_at_a_past_time_and_after_a_correction(factory, data_dir):
    seed(factory, data_dir)
    ingest(factory, data_dir, "probation-cambs", [(W2, "E06000031", "releases_total", 27)],
           received_at=T + dt.timedelta(days=1))
    with factory() as session:
        now = tiles(headlines(session, PictureQuery()))
        then = tiles(headlines(session, PictureQuery(as_at=T + dt.timedelta(hours=1))))
        before = headlines(session, PictureQuery(as_at=dt.datetime(2024, 9, 9, 10, 30)))
    assert now["released_week"] == (47, 35)
    assert then["released_week"] == (50, 38)
    assert before.week == dt.date(2024, 9, 2)
    assert tiles(before)["released_week"] == (12, None)
    assert tiles(before)["households_in_ta"] == (None, None)  # no housing return yet: not zero


def test_an_empty_deployment_has_no_week_and_no_tiles(factory):
    with factory() as session:
        result = headlines(session, PictureQuery())
        assert latest_week(session, PictureQuery()) is None
        assert weeks_with_data(session, PictureQuery()) == []
    assert result.week is None and result.tiles == []


def test_area_filter(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = headlines(session, PictureQuery(area_codes=("E06000031",)))
    assert tiles(result)["released_week"] == (30, 23)
    assert tiles(result)["shortfall"] == (0, None)
