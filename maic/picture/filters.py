"""The overview's filters as plain data: read from and written to the URL's query string, turned into a
PictureQuery, and described in words for headers and exports.

Local times (the as-at control) are in the configured time zone; PictureQuery works in naive UTC.
What a question may ask for is bounded (Filters.within): weeks of the incident up to the latest week with
returns, areas from the reference data, so no request can ask for centuries of weeks.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import orm

from maic.picture.core import PictureQuery, areas_in_scope, incident_start, latest_week
from maic.weeks import monday_of

HOME, NEIGHBOURS = "home", "neighbours"
COUNT, RATE = "count", "rate"


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
        time = raw.get("time")
        if time:
            try:
                time = dt.time.fromisoformat(time).strftime("%H:%M")
            except ValueError:
                time = None
        return cls(week_from=_date(raw.get("from")), week_to=_date(raw.get("to")), area=raw.get("area") or None,
                   scope=NEIGHBOURS if raw.get("scope") == NEIGHBOURS else HOME,
                   as_at_date=_date(raw.get("asat")), as_at_time=time,
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
            ("Weeks to", self.week_to.isoformat() if self.week_to else "latest week with returns"),
            ("Area", names.get(self.area, self.area) if self.area else "all areas"),
            ("LRF scope", "home LRF and neighbours" if self.scope == NEIGHBOURS else "home LRF only"),
        ]


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
    local = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    return f"{local:%d %b %Y %H:%M} ({local:%Z})"
