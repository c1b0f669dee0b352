"""The overview's filters as plain data: read from and written to the URL's query string, turned into a
PictureQuery, and described in words for headers and exports.

Local times (the as-at control) are in the configured time zone; PictureQuery works in naive UTC. People
type an as-at the UK way (dd/mm/yyyy, HH:MM); the URL keeps ISO dates. An as-at in the future or before the
incident is refused (checked_as_at), so the picture stays live and says why.
What a question may ask for is bounded (Filters.within): weeks of the incident up to the latest week with
returns, areas from the reference data, so no request can ask for centuries of weeks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import orm

from maic import dates
from maic.picture.core import PictureQuery, areas_in_scope, incident_start, latest_week
from maic.weeks import monday_of

HOME, NEIGHBOURS = "home", "neighbours"
COUNT, RATE = "count", "rate"


UK_DATE, UK_TIME = "%d/%m/%Y", "%H:%M"


def _as_at_date(text: str | None) -> dt.date | None:
    """An as-at date as typed (dd/mm/yyyy) or as kept in the URL (yyyy-mm-dd); None when unreadable."""
    text = (text or "").strip()
    for reading in (dt.date.fromisoformat, lambda t: dt.datetime.strptime(t, UK_DATE).date()):
        try:
            return reading(text) if text else None
        except ValueError:
            continue
    return None


def _as_at_time(text: str | None) -> str | None:
    """'HH:MM' (24-hour; '9:05', '09.05' and '0905' read too) or None when unreadable."""
    text = (text or "").strip().replace(".", ":")
    if len(text) == 4 and text.isdigit():  # 1400, as typed on a phone's number pad
        text = f"{text[:2]}:{text[2:]}"
    for reading in (lambda t: dt.datetime.strptime(t, UK_TIME).time(), dt.time.fromisoformat):
        try:
            return reading(text).strftime(UK_TIME) if text else None
        except ValueError:
            continue
    return None


def as_at_text_problem(date_text: str | None, time_text: str | None) -> str | None:
    """What is wrong with an as-at as typed, in words; None when it reads (or is empty, meaning now)."""
    date_text, time_text = (date_text or "").strip(), (time_text or "").strip()
    if date_text and _as_at_date(date_text) is None:
        return f"“{date_text[:20]}” is not a date: write it as dd/mm/yyyy, for example 17/09/2024."
    if time_text and _as_at_time(time_text) is None:
        return f"“{time_text[:20]}” is not a time: write it as HH:MM on the 24-hour clock, for example 14:00."
    if time_text and not date_text:
        return "Give the date as well as the time (dd/mm/yyyy)."
    return None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Filters:
    week_from: dt.date | None = None
    week_to: dt.date | None = None
    area: str | None = None
    scope: str = HOME
    as_at_date: dt.date | None = None
    as_at_time: str | None = None  # "HH:MM", local
    measure: str = COUNT

    @classmethod
    def from_search(cls, search: str | None) -> Filters:
        """Anything unreadable in the URL falls back to the default, so a mangled link still opens."""
        raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
        return cls(week_from=_date(raw.get("from")), week_to=_date(raw.get("to")), area=raw.get("area") or None,
                   scope=NEIGHBOURS if raw.get("scope") == NEIGHBOURS else HOME,
                   as_at_date=_as_at_date(raw.get("asat")), as_at_time=_as_at_time(raw.get("time")),
                   measure=RATE if raw.get("measure") == RATE else COUNT)

    @classmethod
    def from_data(cls, data: dict | None) -> Filters:
        return cls.from_search(urlencode({k: v for k, v in (data or {}).items() if v}))

    def to_data(self) -> dict[str, str]:
        return {k: v for k, v in {
            "from": self.week_from.isoformat() if self.week_from else "",
            "to": self.week_to.isoformat() if self.week_to else "",
            "area": self.area or "",
            "scope": self.scope if self.scope != HOME else "",
            "asat": self.as_at_date.isoformat() if self.as_at_date else "",
            "time": (self.as_at_time or "") if self.as_at_date else "",
            "measure": self.measure if self.measure != COUNT else "",
        }.items() if v}

    def to_search(self) -> str:
        data = self.to_data()
        return "?" + urlencode(data) if data else ""

    def as_at(self, tz: str) -> dt.datetime | None:
        """The as-at time in naive UTC; a date without a time means the end of that day."""
        if self.as_at_date is None:
            return None
        clock = dt.time.fromisoformat(self.as_at_time) if self.as_at_time else dt.time(23, 59, 59)
        local = dt.datetime.combine(self.as_at_date, clock, tzinfo=ZoneInfo(tz))
        return local.astimezone(dt.UTC).replace(tzinfo=None)

    def query(self, tz: str) -> PictureQuery:
        week_from, week_to = self.week_from, self.week_to
        if week_from and week_to and week_from > week_to:
            week_from, week_to = week_to, week_from
        return PictureQuery(week_to=week_to, week_from=week_from, area_codes=(self.area,) if self.area else (),
                            include_neighbours=self.scope == NEIGHBOURS, as_at=self.as_at(tz))

    def within(self, bounds: FilterBounds) -> tuple[Filters, list[str]]:
        """These filters inside what may be asked for, and a sentence for each thing that had to change: weeks
        move to the nearest week of the incident up to the latest week with returns (a day names its week's
        Monday), and an area not in the reference data becomes all areas."""
        notes: list[str] = []
        week_from, week_to = (_bounded_week(label, week, bounds, notes) for label, week in
                              (("From week", self.week_from), ("Week", self.week_to)))
        if week_from is not None and week_from == bounds.first_week:
            week_from = None  # the same weeks as "start of the incident", and one view rather than two
        area = self.area
        if area is not None and area not in bounds.area_codes:
            notes.append(f"Area {_quoted(area)} is not an area of this picture: showing all areas.")
            area = None
        return replace(self, week_from=week_from, week_to=week_to, area=area), notes

    def is_default_view(self) -> bool:
        """The view a dashboard opens on (either scope, either measure): always worth rendering ahead."""
        return self.week_from is None and self.week_to is None and self.area is None and self.as_at_date is None

    def describe(self, area_names: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """The filters in words, for the CSV header and the screen."""
        names = area_names or {}
        return [
            ("Weeks from", self.week_from.isoformat() if self.week_from else "start of the incident"),
            ("Weeks to", self.week_to.isoformat() if self.week_to else "latest week whose returns are due and mostly in"),
            ("Area", names.get(self.area, self.area) if self.area else "all areas"),
            ("LRF scope", "home LRF and neighbours" if self.scope == NEIGHBOURS else "home LRF only"),
        ]


def _uk(moment: dt.datetime, tz: str) -> str:
    local = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    return f"{local:%d/%m/%Y %H:%M} ({local:%Z})"


def as_at_words(filters: Filters, tz: str) -> str:
    """The as-at being shown, for the control: 'now, live' or the local time in the UK way."""
    as_at = filters.as_at(tz)
    if as_at is None:
        return "now, live"
    return _uk(as_at, tz) + ("" if filters.as_at_time else ", the end of that day")


def checked_as_at(filters: Filters, tz: str, *, now: dt.datetime,
                  incident_start: dt.date | None) -> tuple[Filters, str | None]:
    """The filters with an as-at that may be shown, and why the one asked for was refused (None if it was not).

    An as-at after now, or before the incident began, is refused: the picture is shown live. A date without a
    time means the end of that day, so today's date alone means now. `now` is naive UTC.
    """
    if filters.as_at_date is None:
        return replace(filters, as_at_time=None), None
    live = replace(filters, as_at_date=None, as_at_time=None)
    local_today = now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz)).date()
    try:
        future = filters.as_at(tz) > now
    except (OverflowError, ValueError):  # a year the clock cannot convert (0001, 9999)
        future = filters.as_at_date > local_today
    if future and filters.as_at_time is None and filters.as_at_date == local_today:
        return live, None
    if future:
        asked = f"{filters.as_at_date:{UK_DATE}}" + (f" {filters.as_at_time}" if filters.as_at_time else "")
        return live, (f"{asked} is in the future: the picture shows now, live. "
                      f"Choose a time up to now ({_uk(now, tz)}).")
    if (incident_start is not None and filters.as_at_date < incident_start) or filters.as_at_date.year < 1900:
        began = f"The incident began on {incident_start:{UK_DATE}}" if incident_start else "That is too early"
        return live, f"{began}: choose an as-at on or after that day. The picture shows now, live."
    return filters, None


@dataclass(frozen=True)
class FilterBounds:
    """What a question may ask for: weeks from the incident's first week to the latest week with returns
    (both None before anything is reported), and the areas in the reference data."""

    first_week: dt.date | None
    last_week: dt.date | None
    area_codes: frozenset[str]


def filter_bounds(session: orm.Session) -> FilterBounds:
    start = incident_start(session)
    first = monday_of(start) if start else None
    last = latest_week(session, PictureQuery())
    if first is None or last is None:
        first = last = None
    areas = areas_in_scope(session, PictureQuery(include_neighbours=True))
    return FilterBounds(first, max(first, last) if first and last else None, frozenset(areas["code"]))


def _quoted(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _bounded_week(label: str, week: dt.date | None, bounds: FilterBounds, notes: list[str]) -> dt.date | None:
    if week is None:
        return None
    week = monday_of(week)
    first, last = bounds.first_week, bounds.last_week
    if first is None or last is None:
        notes.append(f"{label} {week.isoformat()}: there are no weeks with returns yet.")
        return None
    if week < first:
        notes.append(f"{label} {week.isoformat()} is before the incident's first week: showing {first:%d %b %Y}.")
        return first
    if week > last:
        notes.append(f"{label} {week.isoformat()} is after the latest week with returns: showing {last:%d %b %Y}.")
        return last
    return week


def local_time(moment: dt.datetime, tz: str) -> str:
    return dates.moment(moment, tz)
