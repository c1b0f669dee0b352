"""Accommodation shortfall and the service pressure RAG matrix against hand-computed figures."""

from __future__ import annotations

import datetime as dt

from maic.picture import PictureQuery, pressure, pressure_table, services_at_red, shortfall, shortfall_table
from tests.picture.world import CAMBRIDGE, PETERBOROUGH, W1, W2, T, clear_population, seed

RANGE = PictureQuery(week_from=W1, week_to=W2)


def test_shortfall_per_area_sorted_with_change_and_trend(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = shortfall(session, RANGE)
    cambridge, peterborough = result.rows
    # Cambridge: demand NFA 4 + awaiting 3 = 7; spare 104 - 100 = 4; shortfall 3. Last week: 3 against 6: 0.
    assert (cambridge.area_code, cambridge.demand, cambridge.spare, cambridge.shortfall, cambridge.change) == (
        CAMBRIDGE, 7, 4, 3, 3)
    # Peterborough: demand 6 + 1 = 7 against spare 10: none; no capacity figure last week, so no change.
    assert (peterborough.area_code, peterborough.demand, peterborough.spare, peterborough.shortfall,
            peterborough.change) == (PETERBOROUGH, 7, 10, 0, None)
    assert result.missing == ["East Cambridgeshire", "Fenland", "Huntingdonshire", "South Cambridgeshire"]
    assert result.trend == [(W1, 0, 1), (W2, 3, 2)]
    assert result.total == 3
    table = shortfall_table(result)
    assert table["Shortfall"].tolist()[:2] == [3, 0] and table["Note"].tolist()[2] == "no capacity or TA figure for this week"


def test_shortfall_as_at_before_the_housing_returns(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = shortfall(session, PictureQuery(week_from=W1, week_to=W2, as_at=T - dt.timedelta(hours=1)))
    assert result.rows == [] and len(result.missing) == 6 and result.total is None
    assert result.trend == [(W1, 0, 1), (W2, None, 0)]


def cells(result):
    return {(c.metric, c.area_code): c for c in result.cells}


def test_pressure_rag_from_configured_thresholds(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = pressure(session, RANGE)
    got = cells(result)
    # households in TA / TA capacity: 100/104 = 0.96 (amber from 0.9); 50/60 = 0.83 green
    assert got[("households_in_ta", CAMBRIDGE)].rag == "A"
    assert got[("households_in_ta", CAMBRIDGE)].previous_rag == "A"  # 98/104 = 0.94
    assert got[("households_in_ta", PETERBOROUGH)].rag == "G"
    # rough sleepers per 10,000: 30/146,000 = 2.05 (red from 2); 10/219,000 = 0.46
    assert got[("rough_sleepers", CAMBRIDGE)].rag == "R"
    assert round(got[("rough_sleepers", CAMBRIDGE)].measure, 2) == 2.05
    assert got[("rough_sleepers", PETERBOROUGH)].rag == "G"
    # mental health referrals / capacity: 9/10 amber (from 0.85); 12/10 red (from 1.0)
    assert (got[("mh_referrals", CAMBRIDGE)].rag, got[("mh_referrals", PETERBOROUGH)].rag) == ("A", "R")
    # no return: no RAG, said so, never green
    assert got[("police_incidents", CAMBRIDGE)].rag is None and got[("police_incidents", CAMBRIDGE)].note == "no return"
    assert {(c.metric, c.area_code) for c in result.red} == {("rough_sleepers", CAMBRIDGE),
                                                             ("mh_referrals", PETERBOROUGH)}
    assert result.red_trend == [(W1, 0), (W2, 2)]
    assert len(result.cells) == len(result.metrics) * 6
    table = pressure_table(result)
    row = table[(table["Metric"] == "mh_referrals") & (table["Code"] == PETERBOROUGH)].iloc[0]
    assert (row["RAG"], row["Measure"], row["Thresholds"]) == ("red", "120% of mh capacity",
                                                               "amber from 85%, red from 100% of mh capacity")


def test_pressure_without_population_or_basis_has_no_rag(factory, data_dir):
    seed(factory, data_dir)
    clear_population(factory, CAMBRIDGE)
    with factory() as session:
        got = cells(pressure(session, RANGE))
        red_now, red_before = services_at_red(session, RANGE, W2)
    assert got[("rough_sleepers", CAMBRIDGE)].rag is None
    assert got[("rough_sleepers", CAMBRIDGE)].note == "no population figure"
    assert (red_now, red_before) == (1, 0)


def test_pressure_as_at_and_empty(factory, data_dir):
    with factory() as session:
        assert pressure(session, PictureQuery()).cells == []
    seed(factory, data_dir)
    with factory() as session:
        then = pressure(session, PictureQuery(week_from=W1, week_to=W2, as_at=T - dt.timedelta(minutes=1)))
    assert then.red == [] and then.red_trend == [(W1, 0), (W2, None)]
