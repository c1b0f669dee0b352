"""Users and passwords: argon2 hashes, creation, and checking a login without telling who exists.

Knows nothing of Flask; the web layer turns a successful check into a session.
"""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import orm

from maic.errors import MaicError
from maic.models import LRF, Agency, Role, User, utcnow
from maic.plaintext import require_plain

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that both paths cost one argon2 verify.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12
LOCKOUT_AFTER = 5
LOCKOUT_MINUTES = 15


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def create_user(session: orm.Session, username: str, password: str, role: str, *, display_name: str = "",
                agency_slug: str | None = None, lrf_code: str | None = None) -> User:
    username = require_plain(username, "user name").strip().lower()
    display_name = require_plain(display_name, "display name").strip()
    if role not in {r.value for r in Role}:
        raise MaicError(f"'{role}' is not a role; choose one of {', '.join(r.value for r in Role)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise MaicError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise MaicError(f"there is already a user '{username}'")
    agency = lrf = None
    if role == Role.AGENCY_LEAD and not agency_slug:
        raise MaicError("an agency lead needs an agency (--agency SLUG)")
    if agency_slug:
        agency = session.scalar(sa.select(Agency).where(Agency.slug == agency_slug))
        if agency is None:
            raise MaicError(f"there is no agency '{agency_slug}'")
    if lrf_code:
        lrf = session.scalar(sa.select(LRF).where(LRF.code == lrf_code))
        if lrf is None:
            raise MaicError(f"there is no LRF '{lrf_code}'")
    if role == Role.NEIGHBOUR and lrf is None:
        raise MaicError("a neighbour user needs the LRF they belong to (--lrf CODE)")
    user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                role=role, agency_id=agency.id if agency else None, lrf_id=lrf.id if lrf else None)
    session.add(user)
    session.flush()
    return user


def authenticate(session: orm.Session, username: str, password: str, *, now: dt.datetime | None = None) -> User | None:
    """The user when the password is right and the account usable; None otherwise, whatever the reason."""
    now = now or utcnow()
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    ok = verify_password(user.password_hash, password)
    if user.locked_until is not None and user.locked_until > now:
        return None
    if not ok or not user.active:
        user.failed_logins += 1
        if user.failed_logins >= LOCKOUT_AFTER:
            user.locked_until = now + dt.timedelta(minutes=LOCKOUT_MINUTES)
            user.failed_logins = 0
        return None
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
