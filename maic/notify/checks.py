"""The check the scheduler runs every MAIC_NOTIFY_CHECK_SECONDS: reminders before a return's deadline, late
notices after it, services turning red, shortfalls appearing or growing, files landing in quarantine, pulls
failing in a row, and new shared figures for neighbours.

State alerts compare what this check sees with what the previous check saw (stored in notify_check), never
the moments in between: a state that flips and flips back between two checks sends nothing. Everything is
written in one transaction with the check's own record, so a crash sends nothing and the next check redoes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates
from maic.db import transaction
from maic.models import LRF, Agency, DataVersion, FederationSource, Feed, NotifyCheck, PullStreak, utcnow
from maic.notify.kinds import LEADS, MAIC, NEIGHBOURS
from maic.notify.outbox import Message, audience_users, enqueue, week_words
from maic.picture.completeness import agencies_counted, received_by_agency_week
from maic.picture.core import PictureQuery
from maic.picture.pressure import pressure
from maic.picture.shared import ALL_AREAS, WEEK, SharedQuery, shared_picture
from maic.picture.shortfall import shortfall
from maic.plaintext import one_line
from maic.reference import first_week
from maic.weeks import deadline_for, monday_of

KEEP_CHECKS = 50
RETURNS_PAGE, PICTURE_PAGE, SHARED_PAGE, FEEDS_PAGE = "/dash/returns", "/dash/", "/dash/shared", "/dash/admin/scheduler"


@dataclass(frozen=True)
class CheckSettings:
    deadline_rule: str = "TUE 12:00"
    tz: str = "Europe/London"
    reminder_hours: int = 24
    pull_failures: int = 3
    incident_start: dt.date = dt.date(2024, 8, 5)
    threshold: int = 5
    history_days: int = 14
    data_dir: Path | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CheckSettings:
        return cls(deadline_rule=str(config["MAIC_RETURN_DEADLINE"]), tz=str(config["MAIC_TIMEZONE"]),
                   reminder_hours=int(config.get("MAIC_REMINDER_HOURS", 24)),
                   pull_failures=int(config.get("MAIC_NOTIFY_PULL_FAILURES", 3)),
                   incident_start=dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"])),
                   threshold=int(config["MAIC_SUPPRESSION_THRESHOLD"]),
                   history_days=int(config["MAIC_SHARED_HISTORY_DAYS"]), data_dir=Path(config["MAIC_DATA_DIR"]))


def run_checks(factory: orm.sessionmaker[orm.Session], settings: CheckSettings, *,
               now: dt.datetime | None = None) -> dict[str, int]:
    """One check; returns how many new outbox rows each kind made."""
    now = now or utcnow()
    made: dict[str, int] = {}
    with transaction(factory) as session:
        if session.get_bind().dialect.name == "sqlite":
            # Take the write lock first (as ingest does): reading, then writing after another writer committed,
            # would fail at once with "database is locked".
            session.execute(sa.update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version))
        previous = session.scalar(sa.select(NotifyCheck).order_by(NotifyCheck.id.desc()).limit(1))
        before: dict[str, Any] = previous.state if previous else {}
        state: dict[str, Any] = {}
        made["reminder"] = _reminders(session, settings, now)
        made["late"] = _late(session, settings, previous.checked_at if previous else None, now)
        made["red"] = _red(session, settings, before, state, previous, now)
        made["shortfall"] = _shortfall(session, before, state, previous, now)
        made["quarantine"] = _quarantine(session, settings, before, state, previous, now)
        made["pull_failing"] = _pulls(session, settings, now)
        made["shared_update"] = _shared(session, settings, before, state, previous, now)
        check = NotifyCheck(checked_at=now, state=state)
        session.add(check)
        session.flush()
        session.execute(sa.delete(NotifyCheck).where(NotifyCheck.id <= check.id - KEEP_CHECKS))
    return made


def _missing(session: orm.Session, agencies: list, week: dt.date, now: dt.datetime) -> list:
    received = received_by_agency_week(session, [a.id for a in agencies], week, week, now)
    return [a for a in agencies if (a.id, week) not in received]


def _weeks_near(session: orm.Session, settings: CheckSettings, now: dt.datetime) -> list[dt.date]:
    start = first_week(session, settings.incident_start)
    this = monday_of(now.date())
    return [w for w in (this - dt.timedelta(days=21 - 7 * i) for i in range(5)) if w >= start]


def _reminders(session: orm.Session, settings: CheckSettings, now: dt.datetime) -> int:
    """Before the deadline (within MAIC_REMINDER_HOURS), to the leads of each agency whose return is not in."""
    lead = dt.timedelta(hours=settings.reminder_hours)
    made = 0
    agencies = agencies_counted(session, PictureQuery())
    for week in _weeks_near(session, settings, now):
        deadline = deadline_for(week, settings.deadline_rule, settings.tz)
        if not (deadline - lead <= now < deadline):
            continue
        for agency in _missing(session, agencies, week, now):
            lines = [f"{agency.name}'s return for the {week_words(week)} is not in yet.",
                     f"It is due by {dates.moment(deadline, settings.tz)}.",
                     "Send it from the Returns page (download the template there), the drop folder or your feed."]
            message = Message("reminder", f"Return due {dates.moment(deadline, settings.tz)}: {agency.name}, "
                              f"{week_words(week)}", lines, RETURNS_PAGE)
            made += enqueue(session, f"reminder:{agency.slug}:{week.isoformat()}", message,
                            audience_users(session, LEADS, agency_id=agency.id), audience=LEADS, now=now)
    return made


def _late(session: orm.Session, settings: CheckSettings, previous: dt.datetime | None, now: dt.datetime) -> int:
    """After the deadline: the week was not yet due at the previous check and its return is missing now."""
    if previous is None:
        return 0
    made = 0
    agencies = agencies_counted(session, PictureQuery())
    for week in _weeks_near(session, settings, now):
        deadline = deadline_for(week, settings.deadline_rule, settings.tz)
        if not (previous < deadline <= now):
            continue
        for agency in _missing(session, agencies, week, now):
            lines = [f"{agency.name}'s return for the {week_words(week)} was due by "
                     f"{dates.moment(deadline, settings.tz)} and has not been received.",
                     "The picture shows the agency's figures as missing until it arrives. Send it as soon as you "
                     "can from the Returns page, the drop folder or your feed."]
            message = Message("late", f"Return late: {agency.name}, {week_words(week)}", lines,
                              RETURNS_PAGE)
            made += enqueue(session, f"late:{agency.slug}:{week.isoformat()}", message,
                            audience_users(session, LEADS, agency_id=agency.id), audience=LEADS, now=now)
    return made


def _red(session: orm.Session, settings: CheckSettings, before: dict, state: dict, previous, now) -> int:
    result = pressure(session, PictureQuery())
    if result.week is None:
        return 0
    rags = {f"{c.metric}|{c.area_code}": c.rag for c in result.cells if c.rag}
    state["red"] = {"week": result.week.isoformat(), "rag": rags}
    if previous is None:
        return 0  # the first check only learns what is red: it is not news
    old = before.get("red") or {}
    same_week = old.get("week") == result.week.isoformat()
    turned = []
    by_metric = {m.key: m for m in result.metrics}
    for cell in result.red:
        was = (old.get("rag") or {}).get(f"{cell.metric}|{cell.area_code}") if same_week else cell.previous_rag
        if was != "R":
            turned.append(f"- {cell.label} in {cell.area_name}: {cell.value:,} "
                          f"({by_metric[cell.metric].threshold_text()})")
    if not turned:
        return 0
    lines = [f"{len(turned)} service figure{'s' if len(turned) != 1 else ''} turned red in the "
             f"{week_words(result.week)}:", *turned]
    message = Message("red", f"Service pressure: {len(turned)} turned red, {week_words(result.week)}",
                      lines, PICTURE_PAGE)
    return enqueue(session, f"red:check:{now.isoformat()}", message, audience_users(session, MAIC), audience=MAIC,
                   now=now)


def _shortfall(session: orm.Session, before: dict, state: dict, previous, now) -> int:
    result = shortfall(session, PictureQuery())
    if result.week is None:
        return 0
    values = {r.area_code: r.shortfall for r in result.rows}
    state["shortfall"] = {"week": result.week.isoformat(), "areas": values}
    if previous is None:
        return 0
    old = before.get("shortfall") or {}
    same_week = old.get("week") == result.week.isoformat()
    news = []
    for row in result.rows:
        if same_week:
            was = (old.get("areas") or {}).get(row.area_code, 0)
        else:
            was = row.shortfall - row.change if row.change is not None else 0
        if row.shortfall > 0 and row.shortfall > was:
            verb = "appeared" if was == 0 else f"grew from {was:,}"
            news.append(f"- {row.area_name}: shortfall {row.shortfall:,} ({verb}; demand {row.demand:,}, "
                        f"spare places {row.spare:,})")
    if not news:
        return 0
    lines = [f"Accommodation shortfall, {week_words(result.week)}:", *news]
    message = Message("shortfall", f"Accommodation shortfall grew in {len(news)} area{'s' if len(news) != 1 else ''}",
                      lines, PICTURE_PAGE)
    return enqueue(session, f"shortfall:check:{now.isoformat()}", message, audience_users(session, MAIC),
                   audience=MAIC, now=now)


def quarantined(data_dir: Path) -> list[str]:
    """Files in quarantine (not their reports), as paths inside it."""
    root = data_dir / "quarantine"
    if not root.is_dir():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and not p.name.endswith(".errors.txt") and not p.name.startswith(".incoming-"))


def _quarantine(session: orm.Session, settings: CheckSettings, before: dict, state: dict, previous, now) -> int:
    if settings.data_dir is None:
        return 0
    files = quarantined(settings.data_dir)
    state["quarantine"] = files
    if previous is None:
        return 0
    new = sorted(set(files) - set(before.get("quarantine") or []))
    if not new:
        return 0
    folders: dict[str, int] = {}
    for path in new:
        folder = path.split("/")[0] if "/" in path else "(top)"
        if folder == "feeds" and path.count("/") >= 2:
            folder = "feed of " + path.split("/")[1]
        folders[folder] = folders.get(folder, 0) + 1
    # File names are the sender's and may say anything: the message names folders and counts only.
    lines = [f"{len(new)} file{'s' if len(new) != 1 else ''} landed in quarantine, each with a report of its "
             "problems beside it (the senders also got a receipt where their agency is known):",
             *(f"- {one_line(folder)}: {n}" for folder, n in sorted(folders.items())),
             f"They are in {settings.data_dir / 'quarantine'} on the server."]
    message = Message("quarantine", f"{len(new)} file{'s' if len(new) != 1 else ''} quarantined", lines, RETURNS_PAGE)
    return enqueue(session, f"quarantine:check:{now.isoformat()}", message, audience_users(session, MAIC),
                   audience=MAIC, now=now)


def _pull_label(session: orm.Session, source: str) -> str:
    kind, _, ident = source.partition(":")
    if kind == "feed" and ident.isdigit():
        feed = session.get(Feed, int(ident))
        if feed is not None:
            agency = session.get(Agency, feed.agency_id)
            return f"feed {feed.id} of {agency.name if agency else 'an agency'}"
    if kind == "federation":
        lrf = session.scalar(sa.select(LRF).where(LRF.code == ident))
        return f"pull of {lrf.name if lrf else ident}'s shared figures"
    return source


def _last_message(session: orm.Session, source: str) -> str:
    kind, _, ident = source.partition(":")
    if kind == "feed" and ident.isdigit():
        feed = session.get(Feed, int(ident))
        return feed.last_message if feed else ""
    if kind == "federation":
        return session.scalar(sa.select(FederationSource.last_status).join(LRF).where(LRF.code == ident)) or ""
    return ""


def _pulls(session: orm.Session, settings: CheckSettings, now: dt.datetime) -> int:
    made = 0
    for streak in session.scalars(sa.select(PullStreak).where(PullStreak.failures >= settings.pull_failures)):
        label = _pull_label(session, streak.source)
        lines = [f"The {label} has failed {streak.failures} times in a row, since "
                 f"{dates.moment(streak.since or now, settings.tz)}.",
                 f"Last outcome: {one_line(_last_message(session, streak.source))[:300]}",
                 "Until it works again its figures are not updated. The scheduler page lists every run."]
        message = Message("pull_failing", f"Failing {streak.failures} times in a row: {label}", lines, FEEDS_PAGE)
        made += enqueue(session, f"pull_failing:{streak.source}:{(streak.since or now).isoformat()}", message,
                        audience_users(session, MAIC), audience=MAIC, now=now)
    return made


def _shared(session: orm.Session, settings: CheckSettings, before: dict, state: dict, previous, now) -> int:
    """A new week in the shared view: neighbours are told, with exactly the figures their view shows (shareable
    metrics only, small counts suppressed), never a drill-down or a figure their role may not see."""
    picture = shared_picture(session, SharedQuery(), threshold=settings.threshold,
                             history_from=first_week(session, settings.incident_start),
                             history_days=settings.history_days, now=now)
    week = picture.latest_week
    state["shared_week"] = week.isoformat() if week else None
    if previous is None or week is None or (before.get("shared_week") or "") >= week.isoformat():
        return 0
    names = {a.code: a.name for a in picture.areas}
    lines = [f"{picture.lrf_name} has shared its figures for the {week_words(week)}. "
             f"Counts from 1 to {settings.threshold - 1} are shown as <{settings.threshold}, and figures that would "
             "reveal them are withheld."]
    for metric in picture.metrics:
        cells = [c for c in picture.cells if c.metric == metric.key and c.week == week and c.measure == WEEK]
        cells.sort(key=lambda c: (c.area_code != ALL_AREAS, names.get(c.area_code, c.area_code)))
        for cell in cells:
            where = "all areas" if cell.area_code == ALL_AREAS else names.get(cell.area_code, cell.area_code)
            lines.append(f"- {metric.label}, {where}: {cell.shown}" + (f" ({cell.covers})" if cell.covers else ""))
    message = Message("shared_update", f"New shared figures from {picture.lrf_name}: "
                      f"{week_words(week)}", lines, SHARED_PAGE)
    return enqueue(session, f"shared_update:{week.isoformat()}", message, audience_users(session, NEIGHBOURS),
                   audience=NEIGHBOURS, now=now)
