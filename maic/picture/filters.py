"""The overview's filters as plain data: read from and written to the URL's query string, turned into a
PictureQuery, and described in words for headers and exports.

Local times (the as-at control) are in the configured time zone; PictureQuery works in naive UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from maic.picture.core import PictureQuery

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

    def describe(self, area_names: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """The filters in words, for the CSV header and the screen."""
        names = area_names or {}
        return [
            ("Weeks from", self.week_from.isoformat() if self.week_from else "start of the incident"),
            ("Weeks to", self.week_to.isoformat() if self.week_to else "latest week with returns"),
            ("Area", names.get(self.area, self.area) if self.area else "all areas"),
            ("LRF scope", "home LRF and neighbours" if self.scope == NEIGHBOURS else "home LRF only"),
        ]


def local_time(moment: dt.datetime, tz: str) -> str:
    local = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    return f"{local:%d %b %Y %H:%M} ({local:%Z})"
