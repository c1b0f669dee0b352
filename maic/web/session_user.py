"""The user as the web layer holds it for one request: plain values, no live ORM object."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy import orm

from maic.models import LRF, Agency, DataVersion, User
from maic.picture.core import note_stamp


@dataclass(frozen=True)
class SessionUser(UserMixin):
    id: int
    username: str
    display_name: str
    role: str
    agency_id: int | None
    agency_name: str | None
    lrf_id: int | None
    lrf_name: str | None
    active: bool
    session_generation: int

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        """What the session cookie holds: the user and the generation signed in under (see session_id_parts)."""
        return f"{self.id}:{self.session_generation}"

    @classmethod
    def load(cls, session: orm.Session, user_id: int) -> SessionUser | None:
        """Read on every request, so the columns it needs as plain values, not an ORM object (no identity map
        entry, no password hash read), by a statement built once, and executed on the session's connection
        (no ORM step). The data stamp comes in the same row: the request's data_stamp and data_version (the live
        check, every panel's keys) then read no row of their own (picture.note_stamp)."""
        row = session.connection().execute(_LOAD, {"user_id": user_id}).first()
        if row is None:
            return None
        note_stamp(session, (int(row[10]), row[11]) if row[10] is not None else (0, None))
        return cls(*row[:10])


# The data_version row is joined on its constant key: one row, or NULLs where it is missing (as data_stamp).
_LOAD = (sa.select(User.id, User.username, User.display_name, User.role, User.agency_id, Agency.name, User.lrf_id,
                   LRF.name, User.active, User.session_generation, DataVersion.version, DataVersion.changed_at)
         .outerjoin(Agency, Agency.id == User.agency_id)
         .outerjoin(LRF, LRF.id == User.lrf_id)
         .outerjoin(DataVersion, DataVersion.id == 1)
         .where(User.id == sa.bindparam("user_id")))


def session_id_parts(session_id: str) -> tuple[int, int] | None:
    """'12:3' -> (12, 3); None for anything else (a cookie signed before generations existed, or garbage)."""
    user_id, _, generation = session_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    return int(user_id), int(generation)
