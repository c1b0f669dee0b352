"""What the admin pages do: users, agencies, metric settings, federation sources and the audit log.

Every change is audited with who made it. The audit log itself is only ever read here (the database also
refuses to update or delete it). Callers check permissions.ADMIN first; these functions take plain values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.auth import create_user, end_sessions, recent_wrong_tries, set_password
from maic.errors import MaicError, NotFound
from maic.models import (
    LRF,
    Agency,
    AuditEvent,
    FederationSource,
    Metric,
    Role,
    User,
    bump_data_version,
    utcnow,
)


@dataclass(frozen=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    agency: str
    lrf: str
    active: bool
    wrong_tries: int  # in the last 15 minutes, from every address
    last_login_at: dt.datetime | None


def list_users(session: orm.Session, now: dt.datetime) -> list[UserRow]:
    rows = session.execute(sa.select(User, Agency.slug, LRF.code).outerjoin(Agency, Agency.id == User.agency_id)
                           .outerjoin(LRF, LRF.id == User.lrf_id).order_by(User.username)).all()
    wrong = recent_wrong_tries(session, now)
    return [UserRow(u.id, u.username, u.display_name, u.role, agency or "", lrf or "", u.active,
                    wrong.get(u.username, 0), u.last_login_at) for u, agency, lrf in rows]


def add_user(session: orm.Session, by: str, username: str, role: str, *, display_name: str = "",
             agency_slug: str | None = None, lrf_code: str | None = None) -> tuple[User, str]:
    """A new user with a generated password, returned once for the admin to pass on."""
    password = secrets.token_urlsafe(12)
    user = create_user(session, username, password, role, display_name=display_name,
                       agency_slug=agency_slug or None, lrf_code=lrf_code or None)
    audit.record(session, by, "admin.user_create", f"user:{user.username}", f"role={role} agency={agency_slug or ''} "
                 f"lrf={lrf_code or ''}")
    return user, password


def _user(session: orm.Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"there is no user {user_id}")
    return user


def set_user_active(session: orm.Session, by: str, user_id: int, active: bool) -> User:
    user = _user(session, user_id)
    if user.username == by and not active:
        raise MaicError("you cannot disable your own account")
    user.active = active
    end_sessions(user)
    audit.record(session, by, "admin.user_enable" if active else "admin.user_disable", f"user:{user.username}")
    return user


def set_user_role(session: orm.Session, by: str, user_id: int, role: str, *, agency_slug: str | None = None,
                  lrf_code: str | None = None) -> User:
    user = _user(session, user_id)
    if role not in {r.value for r in Role}:
        raise MaicError(f"'{role}' is not a role")
    if user.username == by and role != Role.ADMIN:
        raise MaicError("you cannot take away your own admin role")
    agency = session.scalar(sa.select(Agency).where(Agency.slug == agency_slug)) if agency_slug else None
    if agency_slug and agency is None:
        raise MaicError(f"there is no agency '{agency_slug}'")
    lrf = session.scalar(sa.select(LRF).where(LRF.code == lrf_code)) if lrf_code else None
    if lrf_code and lrf is None:
        raise MaicError(f"there is no LRF '{lrf_code}'")
    if role == Role.AGENCY_LEAD and agency is None:
        raise MaicError("an agency lead needs an agency")
    if role == Role.NEIGHBOUR and lrf is None:
        raise MaicError("a neighbour needs the LRF they belong to")
    user.role = role
    user.agency_id = agency.id if agency else None
    user.lrf_id = lrf.id if lrf else None
    end_sessions(user)  # signed in again, the person gets the pages and menus of the new role
    audit.record(session, by, "admin.user_role", f"user:{user.username}",
                 f"role={role} agency={agency_slug or ''} lrf={lrf_code or ''}")
    return user


EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")


def set_user_email(session: orm.Session, by: str, user_id: int, email: str) -> User:
    """Where the user's notifications are emailed (issue 14); empty: in the app only. Only an admin sets it, so
    nobody can have another person's messages sent to an address of their choosing."""
    user = _user(session, user_id)
    email = (email or "").strip()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise MaicError("that is not an email address: write it as name@example.org, on its own")
    user.email = email or None
    audit.record(session, by, "admin.user_email", f"user:{user.username}", "set" if email else "removed")
    return user


def reset_password(session: orm.Session, by: str, user_id: int) -> str:
    """A new generated password (shown once). Ends the user's sessions, and lifts any sign-in throttle on the
    name (maic.auth counts wrong tries only since the last reset)."""
    user = _user(session, user_id)
    password = secrets.token_urlsafe(12)
    set_password(session, user, password)
    audit.record(session, by, "admin.password_reset", f"user:{user.username}")
    return password


def list_agencies(session: orm.Session) -> list[tuple[str, str, str, str, bool]]:
    rows = session.execute(sa.select(Agency.slug, Agency.name, Agency.kind, LRF.code, Agency.active)
                           .join(LRF).order_by(LRF.is_home.desc(), Agency.slug)).all()
    return [tuple(r) for r in rows]


def set_agency_active(session: orm.Session, by: str, slug: str, active: bool) -> None:
    agency = session.scalar(sa.select(Agency).where(Agency.slug == slug))
    if agency is None:
        raise NotFound(f"there is no agency '{slug}'")
    if agency.active != active:
        agency.active = active
        # Which agencies are counted is a rule of every week (returns due, completeness, the default week, the
        # expected areas of every total): kept pictures and kept reference reads must not outlive it.
        bump_data_version(session, utcnow(), first_week=None, written_at=None)
    audit.record(session, by, "admin.agency_enable" if active else "admin.agency_disable", f"agency:{slug}")


def list_metrics(session: orm.Session) -> list[Metric]:
    return list(session.scalars(sa.select(Metric).order_by(Metric.sort_order, Metric.key)))


@dataclass(frozen=True)
class MetricSettings:
    """What an admin may change about a metric; thresholds are in the metric's RAG unit (threshold_unit)."""

    shareable: bool
    amber: float | None
    red: float | None

    def text(self) -> str:
        def fmt(x: float | None) -> str:
            return "none" if x is None else f"{x:g}"

        return f"shared: {'yes' if self.shareable else 'no'}, amber at {fmt(self.amber)}, red at {fmt(self.red)}"


def metric_settings(session: orm.Session, key: str) -> MetricSettings:
    metric = _metric(session, key)
    return MetricSettings(metric.shareable, metric.rag_amber, metric.rag_red)


def metric_label(session: orm.Session, key: str) -> str:
    return _metric(session, key).label


def threshold_unit(session: orm.Session, key: str) -> str:
    """What the amber and red numbers of a metric are measured in, in words."""
    metric = _metric(session, key)
    basis = metric.rag_basis
    if basis == "per_10k":
        return f"{metric.unit} per 10,000 people living in the area (e.g. 1.5)"
    if basis and basis != "value":
        other = session.scalar(sa.select(Metric.label).where(Metric.key == basis)) or basis
        return f"a share of {other}: 0.9 means 90% of it, 1 means all of it"
    return f"a plain number of {metric.unit} in one area"


def settings_losses(before: MetricSettings, after: MetricSettings) -> list[str]:
    """What a change takes away (stops sharing, removes a threshold): these are saved only once confirmed."""
    losses = []
    if before.shareable and not after.shareable:
        losses.append("neighbouring LRFs will no longer see this metric")
    for word, old, new in (("amber", before.amber, after.amber), ("red", before.red, after.red)):
        if old is not None and new is None:
            losses.append(f"the {word} threshold is removed: no area can be rated {word} on this metric")
    return losses


def _metric(session: orm.Session, key: str) -> Metric:
    metric = session.scalar(sa.select(Metric).where(Metric.key == key))
    if metric is None:
        raise NotFound(f"there is no metric '{key}'")
    return metric


SETTINGS = ("shareable", "amber", "red")


def proposed_settings(before: MetricSettings, changes: dict) -> MetricSettings:
    """The settings after `changes` (a subset of SETTINGS); what is not named keeps its value."""
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise MaicError(f"{', '.join(sorted(unknown))} cannot be set on a metric")
    return dataclasses.replace(before, **changes)


def update_metric(session: orm.Session, by: str, key: str, changes: dict) -> tuple[MetricSettings, MetricSettings]:
    """Change only the settings named in `changes` (others keep their value); returns (before, after), audited.

    A change moves the data version: every open picture then redraws under the new rule at its next poll,
    and no kept answer computed under the old rule is served again.
    """
    metric = _metric(session, key)
    before = MetricSettings(metric.shareable, metric.rag_amber, metric.rag_red)
    after = proposed_settings(before, changes)
    if after.amber is not None and after.red is not None and after.amber > after.red:
        raise MaicError(f"{metric.label}: the amber threshold ({after.amber:g}) must not be above the red one "
                        f"({after.red:g})")
    if any(v is not None and v < 0 for v in (after.amber, after.red)):
        raise MaicError(f"{metric.label}: thresholds cannot be negative")
    if after == before:
        return before, after
    metric.shareable, metric.rag_amber, metric.rag_red = after.shareable, after.amber, after.red
    # A rule: every week's rating changes, as at any time.
    bump_data_version(session, utcnow(), first_week=None, written_at=None)
    audit.record(session, by, "admin.metric_update", f"metric:{key}",
                 f"shareable={before.shareable} amber={before.amber} red={before.red} -> "
                 f"shareable={after.shareable} amber={after.amber} red={after.red}")
    return before, after


def list_federation(session: orm.Session) -> list[tuple[FederationSource, str]]:
    return [(s, code) for s, code in session.execute(sa.select(FederationSource, LRF.code).join(LRF).order_by(LRF.code))]


def save_federation_source(session: orm.Session, by: str, lrf_code: str, base_url: str, token: str | None,
                           active: bool = True) -> FederationSource:
    """Add or change the neighbour instance we pull for an LRF (a blank token keeps the current one)."""
    lrf = session.scalar(sa.select(LRF).where(LRF.code == lrf_code))
    if lrf is None:
        raise MaicError(f"there is no LRF '{lrf_code}'")
    if lrf.is_home:
        raise MaicError("the home LRF is not pulled from anywhere: it is this instance")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MaicError(f"'{base_url}' is not an http(s) address of a MAIC instance")
    source = session.scalar(sa.select(FederationSource).where(FederationSource.lrf_id == lrf.id))
    if source is None:
        if not token:
            raise MaicError("a new federation source needs the token the neighbour gave us")
        source = FederationSource(lrf_id=lrf.id, base_url="", token="", last_status="never pulled")
        session.add(source)
    source.base_url = base_url.strip().rstrip("/")
    if token:
        source.token = token.strip()
    source.active = active
    session.flush()
    audit.record(session, by, "admin.federation_save", f"lrf:{lrf_code}", f"{source.base_url} active={active}")
    return source


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    since: dt.date | None = None
    until: dt.date | None = None

    @classmethod
    def from_args(cls, args) -> AuditFilter:
        def day(name: str) -> dt.date | None:
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            try:
                return dt.date.fromisoformat(raw[:10])
            except ValueError:
                raise MaicError(f"{name}: write a date as YYYY-MM-DD") from None

        return cls((args.get("actor") or "").strip(), (args.get("action") or "").strip(), day("since"), day("until"))

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in vars(self).items() if v)


def audit_events(session: orm.Session, wanted: AuditFilter, limit: int | None = 500) -> list[AuditEvent]:
    stmt = sa.select(AuditEvent)
    if wanted.actor:
        stmt = stmt.where(AuditEvent.actor.contains(wanted.actor, autoescape=True))
    if wanted.action:
        stmt = stmt.where(AuditEvent.action.startswith(wanted.action, autoescape=True))
    if wanted.since:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(wanted.since, dt.time()))
    if wanted.until:
        stmt = stmt.where(AuditEvent.at < dt.datetime.combine(wanted.until + dt.timedelta(days=1), dt.time()))
    stmt = stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def audit_actions(session: orm.Session) -> list[str]:
    return list(session.scalars(sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
