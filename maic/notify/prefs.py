"""Each user's choice of notifications: every kind open to their role is on unless they switched it off;
a lead's reminders and late notices cannot be switched off by the lead."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.errors import MaicError
from maic.models import NotificationOptOut, User
from maic.notify.kinds import CHANNELS, KINDS, kinds_for, mandatory


@dataclass(frozen=True)
class Preference:
    kind: str
    label: str
    on: dict[str, bool]  # channel -> on
    mandatory: bool


def preferences(session: orm.Session, user: User) -> list[Preference]:
    off = {(k, c) for k, c in session.execute(sa.select(NotificationOptOut.kind, NotificationOptOut.channel)
                                               .where(NotificationOptOut.user_id == user.id))}
    out = []
    for kind in kinds_for(user.role):
        forced = mandatory(kind.key, user.role)
        out.append(Preference(kind.key, kind.label, {c: forced or (kind.key, c) not in off for c in CHANNELS}, forced))
    return out


def set_preferences(session: orm.Session, user: User, wanted: set[tuple[str, str]]) -> None:
    """wanted: every (kind, channel) the user wants on; the rest of their role's kinds go off."""
    for kind, channel in wanted:
        if kind not in KINDS or channel not in CHANNELS:
            raise MaicError(f"there is no notification '{kind}' by '{channel}'")
    for kind in kinds_for(user.role):
        for channel in CHANNELS:
            if (kind.key, channel) in wanted:
                session.execute(sa.delete(NotificationOptOut).where(
                    NotificationOptOut.user_id == user.id, NotificationOptOut.kind == kind.key,
                    NotificationOptOut.channel == channel))
                continue
            if mandatory(kind.key, user.role):
                raise MaicError(f"'{kind.label}' cannot be switched off: an agency lead always gets it")
            if session.get(NotificationOptOut, (user.id, kind.key, channel)) is None:
                session.add(NotificationOptOut(user_id=user.id, kind=kind.key, channel=channel))
    audit.record(session, user.username, "notify.preferences", f"user:{user.username}",
                 " ".join(sorted(f"{k}:{c}" for k, c in wanted)))
