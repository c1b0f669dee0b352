"""Dates and times as people read them, one format on every screen: "Mon 23 Nov 2026", "Mon 23 Nov 2026
10:36 (GMT)" in UK time. CSV columns and the API keep ISO 8601 (2026-11-23) for machines."""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo


def day(date: dt.date) -> str:
    return f"{date:%a} {date.day} {date:%b %Y}"


def week_beginning(week: dt.date) -> str:
    return f"Week beginning {day(week)}"


def day_month(date: dt.date) -> str:
    """A short form for crowded headers and axes, where the full day() is given alongside (a title, a caption)."""
    return f"{date.day} {date:%b}"


@functools.lru_cache(maxsize=16_384)
def moment(when: dt.datetime, tz: str) -> str:
    """A naive-UTC time in the given zone (the app's is Europe/London), with the zone's abbreviation.

    Kept per (time, zone), which it depends on alone: the completeness grid writes every return's time in its
    cells (about a thousand with neighbours), the same times on every data version, and converting each cost
    the panel more than reading them."""
    local = when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    return f"{day(local.date())} {local:%H:%M} ({local:%Z})"


def clock(when: dt.datetime, tz: str) -> str:
    local = when.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz))
    return f"{local:%H:%M}"
