"""maic.dates.moment is kept per (time, zone): the same answer as converting afresh, across the clock changes, and
a time seen before is not converted again (the completeness grid writes about a thousand of them per answer)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from maic import dates

# Either side of the UK's clock changes in 2026 (29 March 01:00 UTC, 25 October 01:00 UTC), and an ordinary time.
TIMES = [dt.datetime(2026, 3, 29, 0, 59), dt.datetime(2026, 3, 29, 1, 0), dt.datetime(2026, 10, 25, 0, 59),
         dt.datetime(2026, 10, 25, 1, 0), dt.datetime(2026, 12, 7, 23, 5)]


def fresh(when: dt.datetime, tz: str) -> str:
    local = when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %Y} {local:%H:%M} ({local:%Z})"


def test_moment_is_the_conversion_afresh_in_each_zone():
    for tz in ("Europe/London", "UTC", "America/New_York"):
        for when in TIMES:
            assert dates.moment(when, tz) == fresh(when, tz)
            assert dates.moment(when, tz) == fresh(when, tz)  # and again, from what was kept
    assert dates.moment(TIMES[0], "Europe/London").endswith("00:59 (GMT)")
    assert dates.moment(TIMES[1], "Europe/London").endswith("02:00 (BST)")


def test_a_time_seen_before_is_not_converted_again():
    when = dt.datetime(2026, 12, 7, 9, 41, 17)
    dates.moment(when, "Europe/London")
    hits = dates.moment.cache_info().hits
    dates.moment(when, "Europe/London")
    assert dates.moment.cache_info().hits == hits + 1
