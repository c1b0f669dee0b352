"""The as-at in the overview's filters: read the UK way or from a link, refused in the future or before the
incident with words, never an exception."""

from __future__ import annotations

import datetime as dt

import pytest

from maic.picture.filters import Filters, as_at_text_problem, as_at_words, checked_as_at

TZ = "Europe/London"
NOW = dt.datetime(2024, 11, 26, 10, 30)  # naive UTC: 10:30 GMT on Tuesday 26 November 2024
START = dt.date(2024, 8, 5)


def check(search: str) -> tuple[Filters, str | None]:
    return checked_as_at(Filters.from_search(search), TZ, now=NOW, incident_start=START)


@pytest.mark.parametrize(("date", "time"), [("17/09/2024", "14:00"), ("2024-09-17", "14:00"),
                                            ("17/09/2024", "14.00"), ("17/09/2024", "1400"),
                                            (" 17/09/2024 ", "14:00:00")])
def test_an_as_at_reads_the_uk_way_and_the_iso_way(date, time):
    filters = Filters.from_data({"asat": date, "time": time})
    assert (filters.as_at_date, filters.as_at_time) == (dt.date(2024, 9, 17), "14:00")
    assert filters.as_at(TZ) == dt.datetime(2024, 9, 17, 13, 0)  # BST
    assert filters.to_data() == {"asat": "2024-09-17", "time": "14:00"}
    assert as_at_text_problem(date, time) is None


@pytest.mark.parametrize(("date", "time", "words"), [
    ("31/02/2024", "", "“31/02/2024” is not a date: write it as dd/mm/yyyy"),
    ("17-09-24", "", "“17-09-24” is not a date"),
    ("17/09/2024", "25:00", "“25:00” is not a time: write it as HH:MM on the 24-hour clock"),
    ("17/09/2024", "noon", "“noon” is not a time"),
    ("", "14:00", "Give the date as well as the time"),
])
def test_an_as_at_that_does_not_read_is_named_with_the_format_to_use(date, time, words):
    assert words in as_at_text_problem(date, time)


def test_an_as_at_in_the_past_during_the_incident_is_kept():
    filters, problem = check("asat=2024-09-17&time=14%3A00")
    assert problem is None and filters.as_at(TZ) == dt.datetime(2024, 9, 17, 13, 0)
    assert as_at_words(filters, TZ) == "17/09/2024 14:00 (BST)"
    assert as_at_words(Filters(as_at_date=dt.date(2024, 11, 1)), TZ) == "01/11/2024 23:59 (GMT), the end of that day"
    assert as_at_words(Filters(), TZ) == "now, live"


@pytest.mark.parametrize("search", ["asat=2024-11-26&time=10%3A31", "asat=2024-11-27", "asat=2030-01-01&time=09%3A00",
                                    "asat=9999-12-31&time=23%3A59"])
def test_an_as_at_in_the_future_is_refused_and_the_picture_is_live(search):
    filters, problem = check(search + "&area=E07000008")
    assert filters.as_at_date is None and filters.as_at(TZ) is None and filters.area == "E07000008"
    assert "is in the future: the picture shows now, live" in problem
    assert "26/11/2024 10:30 (GMT)" in problem
    assert filters.query(TZ).as_at is None


def test_now_to_the_minute_and_today_without_a_time_are_live_without_a_complaint():
    assert check("asat=2024-11-26&time=10%3A30") == (Filters(as_at_date=dt.date(2024, 11, 26), as_at_time="10:30"),
                                                      None)
    filters, problem = check("asat=2024-11-26")
    assert problem is None and filters.as_at_date is None


@pytest.mark.parametrize("search", ["asat=2024-08-04&time=23%3A59", "asat=2000-01-01", "asat=0001-01-01&time=00%3A00"])
def test_an_as_at_before_the_incident_is_refused(search):
    filters, problem = check(search)
    assert filters.as_at_date is None
    assert problem == "The incident began on 05/08/2024: choose an as-at on or after that day. The picture shows now, live."


def test_the_first_day_of_the_incident_is_allowed_and_no_incident_means_no_lower_bound():
    assert check("asat=2024-08-05&time=00%3A00")[1] is None
    filters, problem = checked_as_at(Filters.from_search("asat=2001-01-01"), TZ, now=NOW, incident_start=None)
    assert problem is None and filters.as_at_date == dt.date(2001, 1, 1)


@pytest.mark.parametrize("zone", ["Europe/London", "Pacific/Kiritimati", "America/Adak"])
@pytest.mark.parametrize("search", ["asat=0001-01-01&time=00%3A00", "asat=9999-12-31&time=23%3A59", "asat=garbage",
                                    "asat=2024-09-17&time=99%3A99", "time=14%3A00", "asat=%00"])
def test_no_as_at_in_a_link_raises_whatever_the_time_zone(zone, search):
    filters, _problem = checked_as_at(Filters.from_search(search), zone, now=NOW, incident_start=START)
    filters.query(zone)  # must not raise
