"""What a pack is asked for (PackRequest) and the settings it is made with (BriefingSettings): plain data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from maic.briefing.document import AUDIENCES, SCG
from maic.errors import MaicError

HOME, NEIGHBOURS = "home", "neighbours"
PDF, HTML = "pdf", "html"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")


@dataclass(frozen=True)
class PackRequest:
    """A pack for exactly one view: the week (None: the week the picture opens on), the weeks from (None: the
    incident's start), one area or all, home or home + neighbours, as at (naive UTC; None: now, fixed when the
    pack is made), for an audience, as PDF or HTML."""

    audience: str = SCG
    week: dt.date | None = None
    week_from: dt.date | None = None
    area: str | None = None
    scope: str = HOME
    as_at: dt.datetime | None = None
    format: str = PDF

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise MaicError(f"audience: {self.audience!r} is not one of {', '.join(AUDIENCES)}")
        if self.scope not in (HOME, NEIGHBOURS):
            raise MaicError(f"scope: {self.scope!r} is not home or neighbours")
        if self.format not in (PDF, HTML):
            raise MaicError(f"format: {self.format!r} is not pdf or html")


@dataclass(frozen=True)
class BriefingSettings:
    marking: str = "OFFICIAL-SENSITIVE"
    tz: str = "Europe/London"
    deadline_rule: str = "TUE 12:00"
    threshold: int = 5
    incident_start: dt.date = dt.date(2024, 8, 5)
    history_days: int = 14
    chromium: str = "/usr/bin/chromium"
    demo: bool = False

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BriefingSettings:
        return cls(marking=str(config["MAIC_PROTECTIVE_MARKING"]), tz=str(config["MAIC_TIMEZONE"]),
                   deadline_rule=str(config["MAIC_RETURN_DEADLINE"]),
                   threshold=int(config["MAIC_SUPPRESSION_THRESHOLD"]),
                   incident_start=dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"])),
                   history_days=int(config["MAIC_SHARED_HISTORY_DAYS"]),
                   chromium=str(config.get("MAIC_CHROMIUM") or "/usr/bin/chromium"),
                   demo=bool(config.get("MAIC_DEMO_BANNER")))
