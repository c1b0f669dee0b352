"""Users and passwords: argon2 hashes, creation, and checking a login without telling who exists.

Knows nothing of Flask; the web layer turns a successful check into a session.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import orm

from maic import audit
from maic.errors import MaicError
from maic.models import LRF, Agency, AuditEvent, Role, User, utcnow
from maic.plaintext import require_plain

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that both paths cost one argon2 verify.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12
# Sign-in throttling, counted from the audit log over a sliding window (so every worker sees the same counts):
# one address that gets a name wrong this often within the window is refused for that name until the window
# has passed; a name that gets this many wrong tries from all addresses together is slowed, never refused.
THROTTLE_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_ADDRESS = 5
FAILURES_BEFORE_SLOWDOWN = 20
MAX_NAME_LENGTH = 120


def normalise_username(username: str) -> str:
    return username.strip().lower()[:MAX_NAME_LENGTH]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise MaicError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: orm.Session, username: str, password: str, role: str, *, display_name: str = "",
                agency_slug: str | None = None, lrf_code: str | None = None) -> User:
    username = require_plain(username, "user name").strip().lower()
    display_name = require_plain(display_name, "display name").strip()
    if role not in {r.value for r in Role}:
        raise MaicError(f"'{role}' is not a role; choose one of {', '.join(r.value for r in Role)}")
    _check_password_length(password)
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


def end_sessions(user: User) -> None:
    """Every session of the user ends at once, in every worker: each request checks the generation it was
    signed in under against this one, in the database (maic/web/auth_views.py)."""
    user.session_generation = User.session_generation + 1  # in SQL, so two changes at once both count


def set_password(session: orm.Session, user: User, password: str) -> None:
    """A new password ends every session signed in with the old one."""
    _check_password_length(password)
    user.password_hash = hash_password(password)
    end_sessions(user)


@dataclass(frozen=True)
class SignIn:
    """What one sign-in attempt came to. Whatever the reason for a refusal, the person is told the same."""

    user: User | None
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class _Tries:
    from_address: int  # wrong tries for the name from this address, since its last success there
    in_all: int  # wrong tries for the name from every address


def _recent_tries(session: orm.Session, name: str, address: str, now: dt.datetime) -> _Tries:
    since = now - THROTTLE_WINDOW
    # An admin's password reset starts the counts afresh: it is how someone throttled everywhere gets back in.
    reset_at = session.scalar(sa.select(sa.func.max(AuditEvent.at)).where(
        AuditEvent.action == "admin.password_reset", AuditEvent.target == f"user:{name}", AuditEvent.at >= since))
    if reset_at is not None:
        since = max(since, reset_at)
    rows = session.execute(sa.select(AuditEvent.action, AuditEvent.remote_addr).where(
        AuditEvent.actor == name, AuditEvent.at >= since,
        AuditEvent.action.in_(("login.failure", "login.success"))).order_by(AuditEvent.at, AuditEvent.id)).all()
    from_address = in_all = 0
    for action, remote_addr in rows:
        if action == "login.failure":
            in_all += 1
            from_address += remote_addr == address
        elif remote_addr == address:
            from_address = 0
    return _Tries(from_address, in_all)


def recent_wrong_tries(session: orm.Session, now: dt.datetime) -> dict[str, int]:
    """Wrong sign-in tries per name within the throttle window, from every address (for the admin's user list)."""
    rows = session.execute(sa.select(AuditEvent.actor, sa.func.count()).where(
        AuditEvent.action.in_(("login.failure", "login.throttled")), AuditEvent.at >= now - THROTTLE_WINDOW)
        .group_by(AuditEvent.actor)).all()
    return {name: count for name, count in rows}


def sign_in(session: orm.Session, username: str, password: str, address: str, *, slowdown_seconds: float,
            now: dt.datetime | None = None) -> SignIn:
    """Check one attempt from one address and audit it. Nobody can lock another person out: too many wrong
    tries refuse only the address they came from (for that name), and a name tried from many addresses is
    slowed by slowdown_seconds, never refused. An unknown name is counted and answered exactly like a known one.
    """
    now = now or utcnow()
    name = normalise_username(username)
    tries = _recent_tries(session, name, address, now)
    delay = slowdown_seconds if tries.in_all >= FAILURES_BEFORE_SLOWDOWN else 0.0
    slowed = f"; held {delay:g} s: {tries.in_all} wrong tries for this name in 15 minutes" if delay else ""
    if tries.from_address >= FAILURES_PER_ADDRESS:
        verify_password(_DUMMY_HASH, password)  # the same work as a real check, so timing tells nothing
        audit.record(session, name, "login.throttled", remote_addr=address,
                     detail=f"{tries.from_address} wrong tries from this address in 15 minutes; not checked{slowed}")
        return SignIn(None, delay)
    user = authenticate(session, name, password, now=now)
    if user is None:
        known = session.scalar(sa.select(User.active).where(User.username == name))
        why = "unknown name" if known is None else "wrong password" if known else "account disabled"
        audit.record(session, name, "login.failure", detail=why + slowed, remote_addr=address)
        return SignIn(None, delay)
    audit.record(session, user.username, "login.success", detail=slowed.lstrip("; "), remote_addr=address)
    return SignIn(user, delay)


def authenticate(session: orm.Session, username: str, password: str, *, now: dt.datetime | None = None) -> User | None:
    """The user when the password is right and the account active; None otherwise, whatever the reason."""
    now = now or utcnow()
    user = session.scalar(sa.select(User).where(User.username == normalise_username(username)))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
