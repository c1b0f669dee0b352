"""ISO weeks named by their Monday, and the return deadline for a week."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

DAYS = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{2})$", re.IGNORECASE)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def parse_week(text: str) -> dt.date:
    """'2024-09-09' (a Monday) or '2024-W37'. Raises ValueError with a message a person can act on."""
    text = text.strip()
    match = _ISO_WEEK.match(text)
    if match:
        return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a week: write the Monday as YYYY-MM-DD (e.g. 2024-09-09)") from None
    if day.weekday() != 0:
        raise ValueError(f"{day.isoformat()} is a {day:%A}: weeks are named by their Monday ({monday_of(day).isoformat()})")
    return day


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    out, week = [], monday_of(first)
    while week <= last:
        out.append(week)
        week += dt.timedelta(days=7)
    return out


def deadline_for(week: dt.date, rule: str = "TUE 12:00", tz: str = "Europe/London") -> dt.datetime:
    """When the return for `week` is due, as naive UTC: the given day and time of the following week."""
    day_name, _, clock = rule.strip().partition(" ")
    hour, minute = (int(p) for p in clock.split(":"))
    local_day = week + dt.timedelta(days=7 + DAYS[day_name.upper()[:3]])
    local = dt.datetime.combine(local_day, dt.time(hour, minute), tzinfo=ZoneInfo(tz))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def latest_week_due(now: dt.datetime, rule: str = "TUE 12:00", tz: str = "Europe/London") -> dt.date:
    """The newest week whose return was due by `now` (naive UTC): which returns count as missing changes only
    when this does."""
    week = monday_of(now.date())
    while deadline_for(week, rule, tz) > now:
        week -= dt.timedelta(days=7)
    return week
