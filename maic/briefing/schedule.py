"""The weekly SCG pack, made by the scheduler once per week: after the week's return deadline
(MAIC_RETURN_DEADLINE) plus MAIC_BRIEFING_OFFSET_HOURS, the pack for that week, as at that moment, as PDF
(HTML when Chromium is missing, and the run's message says so)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from maic import picture
from maic.briefing.document import SCG
from maic.briefing.render import chromium_problem
from maic.briefing.request import HTML, PDF, BriefingSettings, PackRequest
from maic.briefing.store import issue_pack
from maic.models import BriefingPack, utcnow
from maic.weeks import latest_week_due

SCHEDULER = "scheduler"


def scheduled_week(now: dt.datetime, config: dict[str, Any]) -> dt.date:
    """The newest week whose deadline plus the offset has passed by `now` (naive UTC)."""
    offset = dt.timedelta(hours=float(config.get("MAIC_BRIEFING_OFFSET_HOURS", 2)))
    return latest_week_due(now - offset, str(config["MAIC_RETURN_DEADLINE"]), str(config["MAIC_TIMEZONE"]))


def scheduled_pack(factory: orm.sessionmaker[orm.Session], config: dict[str, Any],
                   now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    week = scheduled_week(now, config)
    settings = BriefingSettings.from_config(config)
    with factory() as session, session.begin():
        done = session.scalar(sa.select(BriefingPack.id).where(
            BriefingPack.audience == SCG, BriefingPack.made_by == SCHEDULER, BriefingPack.week == week).limit(1))
        if done is not None:
            return f"the pack for the week beginning {week} was made already (pack {done})"
        if week not in picture.weeks_with_data(session, picture.PictureQuery(as_at=now)):
            return f"no figures for the week beginning {week}: no pack"
        problem = chromium_problem(settings.chromium)
        fmt = HTML if problem else PDF
        pack = issue_pack(session, PackRequest(audience=SCG, week=week, as_at=now.replace(microsecond=0), format=fmt),
                          SCHEDULER, settings=settings, now=now)
    return f"pack {pack.id} for the week beginning {week} ({fmt})" + (f"; PDF not made: {problem}" if problem else "")


def revision_notices(factory: orm.sessionmaker[orm.Session], now: dt.datetime | None = None) -> str:
    """The scheduler's check for issued packs a correction changed: a notice to the MAIC for each new revision."""
    from maic.briefing.store import notify_revised

    with factory() as session, session.begin():
        sent = notify_revised(session, now)
    return f"{sent} packs revised since issue announced" if sent else "no new revision of an issued pack"
