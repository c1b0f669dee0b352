"""Writing to the outbox (in the caller's transaction), rendering a message, and reading it back per user.

A message is plain text lines; every line that came from a person or a file was made one line and is
escaped when HTML is made from it. Links are paths in the app, made absolute with MAIC_PUBLIC_URL when sent.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite

from maic import dates
from maic.models import Notification, NotificationOptOut, NotifyState, User, utcnow
from maic.notify.kinds import APP, AUDIENCE_ROLES, AUDIENCES, EMAIL, KINDS, WEBHOOK, mandatory
from maic.plaintext import one_line


@dataclass(frozen=True)
class Message:
    kind: str
    subject: str
    lines: list[str] = field(default_factory=list)
    link: str = ""  # a path in the app ("/dash/returns") or an absolute URL given by the caller

    def text(self) -> str:
        return "\n".join(self.lines)


def week_words(week: dt.date) -> str:
    """'week beginning Mon 18 Nov 2024', for the middle of a sentence."""
    return f"week beginning {dates.day(week)}"


def absolute(link: str, public_url: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return public_url.rstrip("/") + "/" + link.lstrip("/")


def subject_line(subject: str, marking: str) -> str:
    """Every subject starts with the protective marking, as every page and export does."""
    return f"{marking}: {subject}" if marking else subject


def render_text(subject: str, body: str, link: str, marking: str) -> str:
    parts = [marking, "", subject, "", body]
    if link:
        parts += ["", f"Open it in the MAIC common picture: {link}"]
    parts += ["", marking]
    return "\n".join(parts).strip() + "\n"


def render_html(subject: str, body: str, link: str, marking: str) -> str:
    """The HTML alternative: every piece of text escaped; '- ' lines become a list."""
    out = [f"<p><strong>{html.escape(marking)}</strong></p>", f"<h1>{html.escape(subject)}</h1>"]
    items: list[str] = []

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in body.splitlines():
        if line.startswith("- "):
            items.append(html.escape(line[2:]))
            continue
        flush()
        if line.strip():
            out.append(f"<p>{html.escape(line)}</p>")
    flush()
    if link:
        out.append(f'<p><a href="{html.escape(link, quote=True)}">Open it in the MAIC common picture</a></p>')
    out.append(f"<p><strong>{html.escape(marking)}</strong></p>")
    return "<!doctype html><html><body>" + "\n".join(out) + "</body></html>"


def audience_users(session: orm.Session, audience: str, *, agency_id: int | None = None) -> list[User]:
    stmt = sa.select(User).where(User.active.is_(True), User.role.in_(sorted(AUDIENCE_ROLES[audience])))
    if agency_id is not None:
        stmt = stmt.where(User.agency_id == agency_id)
    return list(session.scalars(stmt.order_by(User.id)))


def _opted_out(session: orm.Session, user_ids: list[int], kind: str) -> set[tuple[int, str]]:
    if not user_ids:
        return set()
    rows = session.execute(sa.select(NotificationOptOut.user_id, NotificationOptOut.channel)
                           .where(NotificationOptOut.kind == kind, NotificationOptOut.user_id.in_(user_ids)))
    return {(u, c) for u, c in rows}


def _insert_ignoring_duplicates(session: orm.Session, rows: list[dict]) -> int:
    """Insert rows; one whose (event, recipient, channel) is already there is skipped, not an error."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(Notification).on_conflict_do_nothing(index_elements=["event_key", "recipient", "channel"])
            .returning(Notification.id))
    connection = session.connection()
    # One row at a time (a few per event), counted by what RETURNING gives back: rowcount is -1 on some drivers.
    return sum(len(connection.execute(stmt, row).all()) for row in rows)


def enqueue(session: orm.Session, event_key: str, message: Message, users: Iterable[User], *,
            audience: str, now: dt.datetime | None = None) -> int:
    """Write one row per user and channel (in-app always, email when the user has an address) and one for the
    audience's webhook, in the caller's transaction. Returns how many rows are new (0: the event was known)."""
    assert message.kind in KINDS and audience in AUDIENCES, (message.kind, audience)
    now = now or utcnow()
    users = [u for u in users if u.active and u.role in KINDS[message.kind].roles]
    blocked = _opted_out(session, [u.id for u in users], message.kind)
    key = event_key[:200]
    common = {"event_key": key, "kind": message.kind, "audience": audience, "subject": one_line(message.subject)[:300],
              "body": message.text(), "link": message.link[:500], "created_at": now, "next_attempt_at": now,
              "attempts": 0, "last_error": ""}
    rows = []
    for user in users:
        forced = mandatory(message.kind, user.role)
        if forced or (user.id, APP) not in blocked:
            rows.append({**common, "recipient": f"user:{user.id}", "user_id": user.id, "channel": APP,
                         "state": NotifyState.SENT, "sent_at": now})
        if user.email and (forced or (user.id, EMAIL) not in blocked):
            rows.append({**common, "recipient": f"user:{user.id}", "user_id": user.id, "channel": EMAIL,
                         "state": NotifyState.PENDING, "sent_at": None})
    rows.append({**common, "recipient": f"webhook:{audience}", "user_id": None, "channel": WEBHOOK,
                 "state": NotifyState.PENDING, "sent_at": None})
    return _insert_ignoring_duplicates(session, rows)


# --- in the app: a user's own list -------------------------------------------------------------------


def unread_count(session: orm.Session, user_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.channel == APP, Notification.read_at.is_(None))) or 0


def inbox(session: orm.Session, user_id: int, limit: int = 50) -> list[Notification]:
    return list(session.scalars(sa.select(Notification).where(Notification.user_id == user_id,
                                                              Notification.channel == APP)
                                .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def mark_read(session: orm.Session, user_id: int, notification_ids: Iterable[int] | None = None,
              now: dt.datetime | None = None) -> int:
    """Mark the user's own in-app notifications read (all of them when no ids are given); others' are untouched."""
    stmt = sa.update(Notification).where(Notification.user_id == user_id, Notification.channel == APP,
                                         Notification.read_at.is_(None))
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_([int(i) for i in notification_ids]))
    return session.execute(stmt.values(read_at=now or utcnow())).rowcount or 0
