"""The events other modules call, in their own transaction: receipts from the one ingest pipeline, briefing
packs issued and revised, and the outcome of each feed or federation pull (failures in a row)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates
from maic.errors import Issue
from maic.models import Agency, Metric, PullStreak, Return, User, utcnow
from maic.notify.kinds import LEADS, MAIC, NEIGHBOURS, SCG
from maic.notify.outbox import Message, audience_users, enqueue, week_words
from maic.plaintext import one_line
from maic.reference import NEIGHBOUR_KIND

RETURNS_PAGE = "/dash/returns"
DOORS = {"upload": "the upload page", "drop_folder": "the drop folder", "feed": "a feed", "cli": "the command line",
         "federation": "a federation pull"}
MOST_ISSUES = 50  # a receipt lists this many problems; the rest are counted (the preview lists them all)


def _receipt_users(session: orm.Session, agency_id: int, submitted_by: int | None) -> list[User]:
    users = audience_users(session, LEADS, agency_id=agency_id)
    if submitted_by is not None and submitted_by not in {u.id for u in users}:
        submitter = session.get(User, submitted_by)
        if submitter is not None:
            users.append(submitter)
    return users


def _weeks_text(weeks: list[dt.date]) -> str:
    if len(weeks) == 1:
        return week_words(weeks[0])
    return f"weeks beginning {dates.day(weeks[0])} to {dates.day(weeks[-1])}"


def return_accepted(session: orm.Session, ret: Return, *, warnings: Iterable[Issue] = (), superseded: int = 0,
                    now: dt.datetime | None = None) -> int:
    """The receipt for a committed return: to the agency's leads and whoever sent it, in the commit's transaction."""
    agency = session.get(Agency, ret.agency_id)
    if agency is None or agency.kind == NEIGHBOUR_KIND or ret.source == "federation":
        return 0  # a neighbour's figures pulled by federation have no lead here to thank
    weeks = [ret.first_week] if ret.first_week == ret.week else [ret.first_week, ret.week]
    lines = [f"The return '{one_line(ret.filename)}' for {agency.name} was accepted through "
             f"{DOORS.get(ret.source, ret.source)} at {dates.moment(ret.received_at, 'UTC')}: "
             f"{ret.row_count:,} figures for the {_weeks_text(weeks)}."]
    if superseded:
        lines.append(f"It replaces the figures of {superseded} earlier return{'s' if superseded != 1 else ''} "
                     "(their history is kept).")
    shown = _withheld(session, list(warnings))
    if shown:
        lines += ["", "Please check these figures (warnings; the return was accepted):", *shown]
    lines += ["", f"Return number {ret.id}. Your history of returns is on the Returns page."]
    message = Message("receipt", f"Return accepted: {agency.name}, {_weeks_text(weeks)}", lines, RETURNS_PAGE)
    return enqueue(session, f"receipt:return:{ret.id}", message, _receipt_users(session, agency.id, ret.submitted_by_id),
                   audience=LEADS, now=now)


def return_refused(session: orm.Session, *, agency_slug: str, filename: str, sha256: str, source: str,
                   issues: list[Issue], user_id: int | None = None, now: dt.datetime | None = None) -> int:
    """The receipt for a refused file: each problem by row, column and what is wrong (never what the file
    holds), and what to do. The same bytes refused through the same door are one receipt."""
    agency = session.scalar(sa.select(Agency).where(Agency.slug == agency_slug))
    if agency is None or source == "federation":
        return 0
    now = now or utcnow()
    errors = [i for i in issues if i.severity == "error"]
    shown = _withheld(session, errors[:MOST_ISSUES])
    lines = [f"The file '{one_line(filename)}' for {agency.name}, sent through {DOORS.get(source, source)} at "
             f"{dates.moment(now, 'UTC')}, was refused whole: nothing from it was written.",
             "", f"{len(errors)} problem{'s' if len(errors) != 1 else ''} to fix:", *shown]
    if len(errors) > MOST_ISSUES:
        lines.append(f"- and {len(errors) - MOST_ISSUES} more: preview the file on the Returns page to see them all")
    lines += ["", "What to do: correct each problem above in your file (or start from this week's template on the "
              "Returns page) and send the whole file again. Preview it on the Returns page first to check it."]
    message = Message("receipt", f"Return refused: {agency.name}, {one_line(filename)[:80]}", lines, RETURNS_PAGE)
    return enqueue(session, f"receipt:refused:{agency.slug}:{source}:{sha256}", message,
                   _receipt_users(session, agency.id, user_id), audience=LEADS, now=now)


def _withheld(session: orm.Session, issues: list[Issue]) -> list[str]:
    """Problems as the drop folder's report words them: where and what kind, never a value from the file (a
    refused file may hold personal data, and a message leaves the building)."""
    if not issues:
        return []
    from maic.inbox import RETURN_COLUMNS, withheld  # the inbox imports the ingest pipeline, which imports us

    known = RETURN_COLUMNS | frozenset(session.scalars(sa.select(Metric.key)))
    return [f"- {one_line(withheld(issue, known))}" for issue in issues]


def pack_issued(session: orm.Session, pack_id: int | str, title: str, url: str, *, audience: str = SCG,
                issued_by: str = "", now: dt.datetime | None = None) -> int:
    """A briefing pack is ready: to the SCG (viewers, and the MAIC), or to neighbours for a neighbours' pack.
    Only the title and the link go out: the pack itself is read in the app, under the reader's role."""
    audience = NEIGHBOURS if audience in ("neighbour", NEIGHBOURS) else (MAIC if audience == MAIC else SCG)
    lines = [f"A new briefing pack is ready: {one_line(title)}."]
    if issued_by:
        lines.append(f"Issued by {one_line(issued_by)}.")
    lines.append("Open it with the link below; it is kept exactly as issued, and later corrections are marked "
                 "'revised since'.")
    message = Message("pack_issued", f"New briefing pack: {one_line(title)}", lines, url)
    return enqueue(session, f"pack_issued:{pack_id}", message, audience_users(session, audience),
                   audience=audience, now=now)


def pack_revised(session: orm.Session, pack_id: int | str, title: str, url: str, *, cause: str,
                 changed: Iterable[str] = (), now: dt.datetime | None = None) -> int:
    """A correction changed figures in a pack already issued: to the MAIC, once per pack and cause (say, the
    correcting return's id)."""
    lines = [f"A correction changed figures in the briefing pack '{one_line(title)}', which was already issued.",
             *(f"- {one_line(c)}" for c in changed),
             "", "The pack is kept as issued; its figures are marked 'revised since'. Decide whether the SCG needs "
             "a revised pack."]
    message = Message("pack_revised", f"Issued pack revised since: {one_line(title)}", lines, url)
    return enqueue(session, f"pack_revised:{pack_id}:{cause}", message, audience_users(session, MAIC),
                   audience=MAIC, now=now)


def pull_outcome(session: orm.Session, source: str, ok: bool, now: dt.datetime | None = None) -> int:
    """Count a feed's or a federation source's failures in a row (in the pull's transaction); the check alerts
    the MAIC once a streak reaches MAIC_NOTIFY_PULL_FAILURES. Returns the failures in a row."""
    now = now or utcnow()
    streak = session.get(PullStreak, source)
    if streak is None:
        streak = PullStreak(source=source, failures=0, since=None)
        session.add(streak)
    if ok:
        streak.failures, streak.since = 0, None
    else:
        streak.failures += 1
        streak.since = streak.since or now
    session.flush()
    return streak.failures
