"""Returns completeness (on time, late, missing, corrected) and the forward look, by hand."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

from maic.picture import PictureQuery, completeness, completeness_table, forward_look, forward_table
from tests.picture.world import CAMBRIDGE, CORRECTED_AT, PETERBOROUGH, W1, W2, T, seed

RANGE = PictureQuery(week_from=W1, week_to=W2)


def grid(result):
    return {(row.slug, c.week): c for row in result.agencies for c in row.cells}


def test_on_time_late_missing_and_corrected(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = completeness(session, RANGE, deadline_rule="TUE 12:00", tz="Europe/London")
    cells = grid(result)
    assert result.weeks == [W1, W2] and len(result.agencies) == 14  # the home LRF's agencies, not neighbours
    assert cells[("probation-cambs", W1)].text == "On time"
    assert cells[("probation-cambs", W2)].text == "On time, corrected"
    assert cells[("probation-cambs", W2)].last_received == CORRECTED_AT
    assert cells[("cambridge-housing", W1)].status == "on_time"  # 11:00 UTC on Monday
    assert cells[("cambridge-housing", W2)].text == "Late"  # Wednesday, after Tuesday 12:00 BST
    assert cells[("peterborough-housing", W1)].text == "Missing"
    assert cells[("dwp-cambs", W2)].text == "Missing" and cells[("dwp-cambs", W2)].returns == 0
    assert result.counts() == {"on_time": 6, "late": 1, "missing": 21, "not_due": 0, "corrected": 1}
    probation = next(a for a in result.agencies if a.slug == "probation-cambs")
    assert probation.last_received == CORRECTED_AT
    table = completeness_table(result)
    assert table.columns.tolist() == ["Agency", "Last received (UTC)", "2024-09-02", "2024-09-09"]
    assert "never" in table["Last received (UTC)"].tolist()


def test_as_at_before_the_deadline_says_not_yet_due(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = completeness(session, PictureQuery(week_from=W1, week_to=W2, as_at=T + dt.timedelta(hours=1)))
    cells = grid(result)
    assert cells[("probation-cambs", W2)].text == "On time"  # the correction had not arrived
    assert cells[("cambridge-housing", W2)].text == "Not yet due"
    assert cells[("peterborough-housing", W1)].text == "Missing"


def test_a_later_deadline_setting_changes_late_to_on_time(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = completeness(session, RANGE, deadline_rule="WED 12:00")
    assert grid(result)[("cambridge-housing", W2)].text == "On time"


def test_neighbours_scope_adds_their_cells(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = completeness(session, PictureQuery(week_from=W1, week_to=W2, include_neighbours=True))
    cells = grid(result)
    assert len(result.agencies) == 21 and cells[("norfolk-maic", W2)].text == "On time"


def test_forward_look_against_spare_places(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        result = forward_look(session, RANGE)
    assert result.ahead == [dt.date(2024, 9, 16), dt.date(2024, 9, 23), dt.date(2024, 9, 30), dt.date(2024, 10, 7)]
    # NFA share over the last four weeks: (1 + 10) / (12 + 47)
    assert result.nfa_share == Fraction(11, 59) and result.share_text == "19%"  # 18.64%
    rows = {r.area_code: r for r in result.rows}
    cambridge, peterborough = rows[CAMBRIDGE], rows[PETERBOROUGH]
    # Cambridge: 40 notified x 11/59 = 7.46 -> 7 expected NFA against 4 spare places: 3 short
    assert (cambridge.notified, cambridge.total, cambridge.spare, cambridge.expected_nfa, cambridge.short) == (
        (20, 10, 5, 5), 40, 4, 7, 3)
    assert (peterborough.total, peterborough.spare, peterborough.expected_nfa, peterborough.short) == (6, 10, 1, 0)
    fenland = rows["E07000010"]
    assert fenland.notified == (None, None, None, None) and fenland.total is None and fenland.short is None
    assert result.totals() == [26, 10, 5, 5]
    # The total is rounded once: 46 x 11/59 = 8.58 -> 9, where the areas' rounded figures add up to 7 + 1 = 8.
    assert result.expected_total == 9 and (result.areas_notified, result.areas_expected) == (2, 6)
    assert result.coverage == "2 of 6 areas"
    table = forward_table(result)
    assert table.columns.tolist()[2:6] == ["Week of 16 Sep", "Week of 23 Sep", "Week of 30 Sep", "Week of 07 Oct"]


def test_forward_look_empty(factory):
    with factory() as session:
        result = forward_look(session, PictureQuery())
    assert result.week is None and result.rows == []
