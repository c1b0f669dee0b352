"""API tokens: made with a secret shown once, kept only as a sha256 hash, with expiry, last use and revocation.

Tokens are 256-bit random strings, so a plain sha256 is enough to store them (no password stretching needed):
checking one costs a hash and an indexed lookup, not an argon2 verify.

A token's use is written (last_used_at and a token.use audit event) at most once a minute per token and
address in each process, not on every request: a neighbour polling every few seconds would otherwise make a
database write per pull. A new address is always recorded at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.errors import MaicError, NotFound
from maic.models import LRF, ApiToken, utcnow
from maic.permissions import API_TOKEN_ROLE

TOKEN_PREFIX = "maic_"


@dataclass(frozen=True)
class TokenActor:
    """Who is asking when a request carries a valid token: acts with the api_token role."""

    token_id: int
    name: str
    lrf_code: str | None
    role: str = API_TOKEN_ROLE
    agency_id: int | None = None

    @property
    def username(self) -> str:
        return f"token:{self.token_id}:{self.name}"


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    lrf_code: str | None
    created_by: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


MAX_TOKEN_DAYS = 730  # two years: a token that never needs renewing is a token nobody remembers to revoke


def token_days(raw: object, default: int = 90) -> int:
    """Days a token lasts, from what a form sent (blank: the default), or a MaicError saying what is allowed."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    try:
        number = float(str(raw).strip())
    except ValueError:
        number = float("nan")
    if not number.is_integer() or not 1 <= number <= MAX_TOKEN_DAYS:
        raise MaicError(f"days valid: give a whole number of days from 1 to {MAX_TOKEN_DAYS} "
                        f"(not {str(raw)[:20]!r})")
    return int(number)


def create_token(session: orm.Session, name: str, *, created_by: str, lrf_code: str | None = None,
                 days: int | None = 90, now: dt.datetime | None = None) -> tuple[TokenInfo, str]:
    """A new token and its secret. The secret is returned this once and never stored."""
    now = now or utcnow()
    name = name.strip()
    if not name:
        raise MaicError("a token needs a name saying who holds it (e.g. 'Norfolk LRF federation')")
    lrf_id = None
    if lrf_code:
        lrf_id = session.scalar(sa.select(LRF.id).where(LRF.code == lrf_code))
        if lrf_id is None:
            raise MaicError(f"there is no LRF '{lrf_code}'")
    if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
        raise MaicError(f"a token lasts from 1 to {MAX_TOKEN_DAYS} days")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name[:120], token_hash=hash_token(secret), prefix=secret[:12], lrf_id=lrf_id,
                     created_by=created_by, created_at=now,
                     expires_at=now + dt.timedelta(days=days) if days else None)
    session.add(token)
    session.flush()
    audit.record(session, created_by, "token.create", f"token:{token.id}",
                 f"{token.name} ({lrf_code or 'no LRF'}), expires {token.expires_at or 'never'}")
    return _info(token, lrf_code), secret


def list_tokens(session: orm.Session) -> list[TokenInfo]:
    rows = session.execute(sa.select(ApiToken, LRF.code).outerjoin(LRF, LRF.id == ApiToken.lrf_id)
                           .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())).all()
    return [_info(token, code) for token, code in rows]


def revoke_token(session: orm.Session, token_id: int, *, by: str, now: dt.datetime | None = None) -> TokenInfo:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"there is no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(session, by, "token.revoke", f"token:{token.id}", token.name)
    code = token.lrf.code if token.lrf else None
    return _info(token, code)


USE_RECORDED_EVERY = dt.timedelta(minutes=1)
# (token's hash, address) -> last written; the hash, not the id, so that two databases in one process never mix
_recorded: OrderedDict[tuple[str, str], dt.datetime] = OrderedDict()
_recorded_lock = threading.Lock()


def _record_use(token_hash: str, remote_addr: str, now: dt.datetime) -> bool:
    """Whether this use is to be written: the first from this token and address in USE_RECORDED_EVERY."""
    pair = (token_hash, remote_addr)
    with _recorded_lock:
        last = _recorded.get(pair)
        if last is not None and dt.timedelta(0) <= now - last < USE_RECORDED_EVERY:
            return False
        _recorded[pair] = now
        _recorded.move_to_end(pair)
        while len(_recorded) > 4096:
            _recorded.popitem(last=False)
    return True


def authenticate_token(session: orm.Session, secret: str, *, remote_addr: str = "", path: str = "",
                       now: dt.datetime | None = None) -> TokenActor | None:
    """The actor for a valid, unexpired, unrevoked token (its use recorded, at most once a minute per address:
    _record_use); None otherwise."""
    now = now or utcnow()
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if token is None or token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    actor = TokenActor(token.id, token.name, token.lrf.code if token.lrf else None)
    if _record_use(token.token_hash, remote_addr, now):
        # In a short transaction of its own that starts with the write: on SQLite, a transaction that has read
        # cannot take the write lock once another pull has written since (it fails at once, whatever the busy
        # timeout), so twelve neighbours' first pulls at the same moment would give errors.
        with orm.Session(bind=session.get_bind()) as writer, writer.begin():
            writer.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
            audit.record(writer, actor.username, "token.use", path[:255], remote_addr=remote_addr)
    return actor


def _info(token: ApiToken, lrf_code: str | None) -> TokenInfo:
    return TokenInfo(token.id, token.name, token.prefix, lrf_code, token.created_by, token.created_at,
                     token.expires_at, token.last_used_at, token.revoked_at)
