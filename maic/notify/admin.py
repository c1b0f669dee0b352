"""The admins' view of the outbox: what waits, what was sent, what failed and why; and a retry (audited)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.errors import NotFound
from maic.models import Notification, NotifyState, User, utcnow
from maic.notify.kinds import APP

NOT_SENT = "not-sent"


def counts(session: orm.Session) -> dict[str, int]:
    rows = session.execute(sa.select(Notification.state, sa.func.count()).where(Notification.channel != APP)
                           .group_by(Notification.state))
    return {state: int(n) for state, n in rows}


# Each row is a dozen components for the browser to draw: two hundred took the page tens of seconds.
SHOWN = 50


def outbox(session: orm.Session, state: str = NOT_SENT, limit: int = SHOWN) -> list[tuple[Notification, str]]:
    """(row, who it is for) newest first; state: one of NotifyState, NOT_SENT (pending, sending, failed) or 'all'."""
    stmt = (sa.select(Notification, User.username).outerjoin(User, User.id == Notification.user_id)
            .where(Notification.channel != APP))
    if state == NOT_SENT:
        stmt = stmt.where(Notification.state.in_([NotifyState.PENDING, NotifyState.SENDING, NotifyState.FAILED]))
    elif state != "all":
        stmt = stmt.where(Notification.state == state)
    rows = session.execute(stmt.order_by(Notification.id.desc()).limit(limit)).all()
    return [(row, username or row.recipient.replace("webhook:", "webhook for ")) for row, username in rows]


def retry(session: orm.Session, by: str, notification_id: int | None = None,
          now: dt.datetime | None = None) -> int:
    """Put a failed or unsent message (or every one, when no id is given) back in the queue, due now."""
    now = now or utcnow()
    stmt = sa.update(Notification).where(Notification.channel != APP,
                                         Notification.state.in_([NotifyState.FAILED, NotifyState.OFF]))
    if notification_id is not None:
        if session.get(Notification, notification_id) is None:
            raise NotFound(f"there is no message {notification_id} in the outbox")
        stmt = stmt.where(Notification.id == notification_id)
    done = session.execute(stmt.values(state=NotifyState.PENDING, attempts=0, next_attempt_at=now)
                           .execution_options(synchronize_session=False)).rowcount or 0
    audit.record(session, by, "notify.retry", f"notification:{notification_id}" if notification_id else "outbox",
                 f"{done} message(s) queued again")
    return done
