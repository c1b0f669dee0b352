import datetime as dt

import pytest

from maic.weeks import deadline_for, monday_of, parse_week, weeks_between


def test_parse_week_accepts_mondays_and_iso_weeks():
    assert parse_week("2024-09-09") == dt.date(2024, 9, 9)
    assert parse_week(" 2024-W37 ") == dt.date(2024, 9, 9)


@pytest.mark.parametrize("text, message", [
    ("2024-09-10", "is a Tuesday: weeks are named by their Monday (2024-09-09)"),
    ("09/09/2024", "is not a week"),
    ("", "is not a week"),
])
def test_parse_week_explains_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_week(text)


def test_weeks_between_and_monday_of():
    assert monday_of(dt.date(2024, 9, 15)) == dt.date(2024, 9, 9)
    assert weeks_between(dt.date(2024, 9, 2), dt.date(2024, 9, 16)) == [
        dt.date(2024, 9, 2), dt.date(2024, 9, 9), dt.date(2024, 9, 16)]


def test_deadline_is_tuesday_noon_london_in_utc():
    # Summer time: 12:00 BST is 11:00 UTC; winter: 12:00 GMT is 12:00 UTC.
    assert deadline_for(dt.date(2024, 9, 9)) == dt.datetime(2024, 9, 17, 11, 0)
    assert deadline_for(dt.date(2024, 11, 11)) == dt.datetime(2024, 11, 19, 12, 0)


def test_latest_week_due_moves_when_a_deadline_passes():
    from maic.weeks import latest_week_due

    # Week of Mon 11 Nov 2024 is due Tue 19 Nov 12:00 London (GMT, so 12:00 UTC).
    assert latest_week_due(dt.datetime(2024, 11, 19, 11, 59)) == dt.date(2024, 11, 4)
    assert latest_week_due(dt.datetime(2024, 11, 19, 12, 0)) == dt.date(2024, 11, 11)
    assert latest_week_due(dt.datetime(2024, 11, 25, 23, 0)) == dt.date(2024, 11, 11)
    # Summer time: Tue 17 Sep 12:00 BST is 11:00 UTC.
    assert latest_week_due(dt.datetime(2024, 9, 17, 11, 0)) == dt.date(2024, 9, 9)
    assert latest_week_due(dt.datetime(2024, 9, 17, 10, 59), "TUE 12:00") == dt.date(2024, 9, 2)
