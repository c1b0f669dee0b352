"""The data model in SQLAlchemy 2 typed ORM: reference data, users, returns, bitemporal observations, audit.

Nothing here is updated in place once written, except users and reference settings; observations are
superseded, never edited.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm import Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Role(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    VIEWER = "viewer"
    AGENCY_LEAD = "agency_lead"
    NEIGHBOUR = "neighbour"


class ReturnStatus(StrEnum):
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    VOIDED = "voided"


class ReturnSource(StrEnum):
    UPLOAD = "upload"
    DROP_FOLDER = "drop_folder"
    FEED = "feed"
    CLI = "cli"
    FEDERATION = "federation"


class Aggregation(StrEnum):
    SUM = "sum"
    LATEST = "latest"


class LRF(Base):
    __tablename__ = "lrf"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    region: Mapped[str] = mapped_column(sa.String(100), default="")
    is_home: Mapped[bool] = mapped_column(default=False)
    areas: Mapped[list[Area]] = relationship(back_populates="lrf", order_by="Area.name")


agency_area = sa.Table(
    "agency_area",
    Base.metadata,
    sa.Column("agency_id", sa.ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("area_id", sa.ForeignKey("area.id", ondelete="CASCADE"), primary_key=True),
)


class Area(Base):
    __tablename__ = "area"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    lrf_id: Mapped[int] = mapped_column(sa.ForeignKey("lrf.id"), index=True)
    population: Mapped[int | None]
    lrf: Mapped[LRF] = relationship(back_populates="areas")


class Agency(Base):
    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    lrf_id: Mapped[int] = mapped_column(sa.ForeignKey("lrf.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    lrf: Mapped[LRF] = relationship()
    areas: Mapped[list[Area]] = relationship(secondary=agency_area, order_by="Area.name")


class Metric(Base):
    __tablename__ = "metric"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    unit: Mapped[str] = mapped_column(sa.String(32))
    agency_kind: Mapped[str] = mapped_column(sa.String(64), index=True)
    panel: Mapped[str] = mapped_column(sa.String(32))
    aggregation: Mapped[str] = mapped_column(sa.String(16))
    # RAG: value (or value / the basis metric, or per 10,000 population) at or above amber/red.
    rag_basis: Mapped[str | None] = mapped_column(sa.String(64))
    rag_amber: Mapped[float | None]
    rag_red: Mapped[float | None]
    shareable: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)


class MetricRelation(Base):
    """A total that is its parts plus a rest nobody publishes (releases = tranche one + tranche two + others).

    Disclosure control protects the linked figures together: published parts and totals must not give away
    a small rest, nor pin a suppressed part.
    """

    __tablename__ = "metric_relation"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    total_key: Mapped[str] = mapped_column(sa.ForeignKey("metric.key", ondelete="CASCADE"))
    # The parts' metric keys, in order; at least one.
    part_keys: Mapped[list[str]] = mapped_column(sa.JSON)
    rest_label: Mapped[str] = mapped_column(sa.String(200))


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(120), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(32))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"))
    lrf_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lrf.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # A session cookie names the generation it was signed in under; bumping it ends every session at once.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    # Where notifications are emailed (issue 14); set by an admin. None: in-app only.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    agency: Mapped[Agency | None] = relationship()
    lrf: Mapped[LRF | None] = relationship()


class Return(Base):
    __tablename__ = "return"
    __table_args__ = (sa.UniqueConstraint("agency_id", "sha256", name="uq_return_agency_sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    # The weeks the return covers: usually one; a backfill may carry several.
    first_week: Mapped[dt.date]
    week: Mapped[dt.date] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(sa.String(32))
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    filename: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    archive_path: Mapped[str] = mapped_column(sa.String(500))
    size_bytes: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(16), default=ReturnStatus.ACCEPTED)
    row_count: Mapped[int]
    report: Mapped[str] = mapped_column(sa.Text, default="")
    voided_at: Mapped[dt.datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    void_reason: Mapped[str | None] = mapped_column(sa.Text)
    agency: Mapped[Agency] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])


class Observation(Base):
    """One value as recorded by one return. The picture as at T: recorded_at <= T < superseded_at (or null)."""

    __tablename__ = "observation"
    __table_args__ = (
        sa.CheckConstraint("value >= 0", name="value_not_negative"),
        # At most one current value per (metric, area, week): the database enforces supersession.
        sa.Index(
            "uq_observation_current",
            "metric_id",
            "area_id",
            "week",
            unique=True,
            sqlite_where=sa.text("superseded_at IS NULL"),
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
        sa.Index("ix_observation_week_metric", "week", "metric_id", "area_id"),
        # The picture as at a past time, which the current-row index above cannot answer.
        sa.Index("ix_observation_metric_area_week", "metric_id", "area_id", "week"),
        # "Revised since T" looks only at what was recorded or superseded after T: usually a few recent rows.
        sa.Index("ix_observation_recorded_at", "recorded_at"),
        # Partial: an index over every current row's NULL misled planners when asking for current rows.
        sa.Index("ix_observation_superseded_at", "superseded_at", sqlite_where=sa.text("superseded_at IS NOT NULL"),
                 postgresql_where=sa.text("superseded_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    metric_id: Mapped[int] = mapped_column(sa.ForeignKey("metric.id"))
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    week: Mapped[dt.date]
    value: Mapped[int] = mapped_column(sa.BigInteger)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("return.id"), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[dt.datetime | None]
    superseded_by_return_id: Mapped[int | None] = mapped_column(sa.ForeignKey("return.id"))


class CurrentValue(Base):
    """The current value of each (metric, area, week): exactly the observations not superseded, kept by the
    database itself. Triggers on the observation table (migration 0009) insert, delete and replace these rows
    inside the statement that changes an observation, so every writer (ingest, correction, void, backfill,
    federation pull, demo seed, a hand-written INSERT) keeps it in step in its own transaction: a rollback
    undoes both, and no code path can forget it. The live picture reads this narrow table, a past picture
    the bitemporal rows. No foreign keys: it is derived, and each check would slow every ingest."""

    __tablename__ = "current_value"
    # The primary key is the table (SQLite: WITHOUT ROWID), and its only index: a second index by week drew
    # SQLite's planner into a lookup per row for every range of weeks. Which weeks have figures is asked of the
    # observation table's week index, as before.
    __table_args__ = ({"sqlite_with_rowid": False},)
    # Key order (metric, week, area): a panel asks for a few metrics over a run of weeks in many areas, which is
    # then one contiguous read per metric.
    metric_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    week: Mapped[dt.date] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(sa.BigInteger)
    return_id: Mapped[int]
    observation_id: Mapped[int]


class CurrentCoverage(Base):
    """How many current values each agency's returns give each area for each week: one row per (agency, week,
    area) with any, kept from current_value by triggers on it (migration 0013), in the writing statement's
    transaction as current_value itself is. Which agencies have a return in for a week is read here, a few rows
    a week, rather than by joining every current value of the week to its return."""

    __tablename__ = "current_coverage"
    __table_args__ = ({"sqlite_with_rowid": False},)
    # Key order (agency, week, area): the week statuses ask for the home agencies over a run of weeks.
    agency_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    week: Mapped[dt.date] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int]


class AuditEvent(Base):
    __tablename__ = "audit_event"
    # Counting one name's recent sign-in attempts (maic/auth.py) reads by actor and time.
    __table_args__ = (sa.Index("ix_audit_event_actor_at", "actor", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    target: Mapped[str] = mapped_column(sa.String(255), default="")
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    remote_addr: Mapped[str] = mapped_column(sa.String(64), default="")


class DataVersion(Base):
    """One row, bumped in the same transaction as every change to observations: a cheap 'anything new?' check."""

    __tablename__ = "data_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DataChange(Base):
    """What each data version could have changed, written with the bump (same transaction): the earliest week
    it wrote or superseded (None: any week, e.g. reference data or a rating threshold) and the time its rows
    were recorded at (None: pictures as at any time, e.g. a rule). A kept picture answer for week W as at T is
    then keyed by the newest change that could reach it, not by the newest change of all (callbacks/overview.py),
    so a return for the newest week leaves every older week's answers kept."""

    __tablename__ = "data_change"
    version: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    changed_at: Mapped[dt.datetime]
    first_week: Mapped[dt.date | None]
    written_at: Mapped[dt.datetime | None]


def bump_data_version(session: orm.Session, now: dt.datetime, *, first_week: dt.date | None,
                      written_at: dt.datetime | None) -> None:
    """Every change that alters a figure or its rating (returns, voids, settings, reference) calls this, saying
    what it could have changed (DataChange): `first_week` the earliest week whose rows it wrote or superseded,
    `written_at` the recorded/superseded time of those rows; None for either when unsure (it then counts as
    changing every week, or every as-at). Keyword-only and without defaults, so no writer can leave them out."""
    session.execute(sa.update(DataVersion).where(DataVersion.id == 1)
                    .values(version=DataVersion.version + 1, changed_at=now))
    # Read back in the same statement as the insert: the row lock the update took makes it this bump's version.
    session.execute(sa.insert(DataChange).from_select(
        ["version", "changed_at", "first_week", "written_at"],
        sa.select(DataVersion.version, DataVersion.changed_at, sa.literal(first_week, sa.Date),
                  sa.literal(written_at, sa.DateTime)).where(DataVersion.id == 1)))


class Incident(Base):
    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    start: Mapped[dt.date]
    markers: Mapped[list[IncidentMarker]] = relationship(order_by="IncidentMarker.date")


class IncidentMarker(Base):
    """A dated event drawn on every time series (for SDS40: the two tranche release dates)."""

    __tablename__ = "incident_marker"
    __table_args__ = (sa.UniqueConstraint("incident_id", "name", name="uq_incident_marker_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    date: Mapped[dt.date]
    name: Mapped[str] = mapped_column(sa.String(100))
    note: Mapped[str] = mapped_column(sa.String(300), default="")


# --- issue 6: API tokens and federation ---------------------------------------------------------------


class ApiToken(Base):
    """A bearer token for the shared API: shown once, only its sha256 kept; expires; revocable."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters of the token, so that a holder can tell which of theirs it is; not a secret.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    lrf_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lrf.id"))
    created_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    lrf: Mapped[LRF | None] = relationship()


class FederationSource(Base):
    """A neighbouring LRF's instance whose shared API we pull into our store through the ingest pipeline."""

    __tablename__ = "federation_source"
    id: Mapped[int] = mapped_column(primary_key=True)
    lrf_id: Mapped[int] = mapped_column(sa.ForeignKey("lrf.id"), unique=True)
    base_url: Mapped[str] = mapped_column(sa.String(500))
    # Their token for us: we must send it, so it cannot be hashed; only admins and the scheduler read it.
    token: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    last_pulled_at: Mapped[dt.datetime | None]
    last_version: Mapped[int | None] = mapped_column(sa.BigInteger)
    last_as_at: Mapped[dt.datetime | None]
    last_status: Mapped[str] = mapped_column(sa.Text, default="")
    lrf: Mapped[LRF] = relationship()


# --- issue 4: scheduled jobs and feeds ---------------------------------------------------------------


class JobOutcome(StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    # Not run: the scheduler found it no longer held the lock between recording the start and starting.
    SKIPPED = "skipped"
    # Left 'running' by a scheduler that died; marked so by the scheduler that took over.
    INTERRUPTED = "interrupted"


class SchedulerRun(Base):
    """One run of one scheduled job: written when it starts, completed when it ends (a crash leaves 'running')."""

    __tablename__ = "scheduler_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64), index=True)
    runner: Mapped[str] = mapped_column(sa.String(120), default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(sa.String(16), default=JobOutcome.RUNNING)
    message: Mapped[str] = mapped_column(sa.Text, default="")


class SchedulerHeartbeat(Base):
    """One scheduler process (the leader or a standby), beaten every few seconds while it runs."""

    __tablename__ = "scheduler_heartbeat"
    runner: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255), default="", server_default="")
    pid: Mapped[int]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    beat_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    holds_lock: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    leading_at: Mapped[dt.datetime | None]  # its last beat while it held the lock and ran jobs
    state: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")


class Feed(Base):
    """An HTTP(S) source of one agency's returns, pulled on schedule with conditional requests."""

    __tablename__ = "feed"
    __table_args__ = (sa.UniqueConstraint("agency_id", "url", name="uq_feed_agency_url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(1000))
    # Sent as "Authorization: Bearer <token>"; never shown back by the CLI or the pages.
    token: Mapped[str | None] = mapped_column(sa.String(500))
    interval_seconds: Mapped[int] = mapped_column(default=3600)
    active: Mapped[bool] = mapped_column(default=True)
    etag: Mapped[str | None] = mapped_column(sa.String(500))
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    last_checked_at: Mapped[dt.datetime | None]
    last_outcome: Mapped[str | None] = mapped_column(sa.String(32))
    last_message: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    agency: Mapped[Agency] = relationship()


# --- issue 14: notifications ---------------------------------------------------------------------------


class NotifyState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    # Not sendable as configured (no SMTP server, no webhook for the audience): kept, and an admin may retry it.
    OFF = "off"


class Notification(Base):
    """The outbox and the in-app list at once: one message for one recipient on one channel.

    Written in the same transaction as the event that causes it; (event_key, recipient, channel) is unique, so
    the same event never makes a second message. In-app rows are delivered when written (state 'sent');
    email and webhook rows wait as 'pending' for the scheduler, which claims them ('sending') before it sends.
    """

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("event_key", "recipient", "channel", name="uq_notification_event_recipient_channel"),
        sa.Index("ix_notification_state_due", "state", "next_attempt_at"),
        sa.Index("ix_notification_user_channel_read", "user_id", "channel", "read_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(sa.String(200))
    # "user:<id>" or "webhook:<audience>": a webhook has no user, and the unique key needs a value.
    recipient: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(sa.String(16))
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    audience: Mapped[str] = mapped_column(sa.String(32))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    link: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    state: Mapped[str] = mapped_column(sa.String(16), default=NotifyState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    read_at: Mapped[dt.datetime | None]
    user: Mapped[User | None] = relationship()


class NotificationOptOut(Base):
    """A kind of notification a user chose not to get on a channel; everything else is on by default."""

    __tablename__ = "notification_opt_out"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)


class NotifyCheck(Base):
    """What one check saw (red cells, shortfall per area, quarantined files, the shared week): the next check
    alerts on the difference only, so a state that flips and flips back between two checks sends nothing."""

    __tablename__ = "notify_check"
    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[dt.datetime] = mapped_column(index=True)
    state: Mapped[dict] = mapped_column(sa.JSON)


class PullStreak(Base):
    """Failures in a row of one feed or federation source, written with the pull's outcome."""

    __tablename__ = "notify_pull_streak"
    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    since: Mapped[dt.datetime | None]


# --- issue 13: briefing packs ------------------------------------------------------------------------


class PackStatus(StrEnum):
    ISSUED = "issued"      # an SCG or neighbours' pack: kept exactly as issued
    DRAFT = "draft"        # a Warn and Inform brief an analyst has not yet approved
    APPROVED = "approved"  # a Warn and Inform brief an analyst approved: the file is the approved text


class BriefingPack(Base):
    """A pack as issued: the file (bytes, sha256), what it was made for and as at when, by whom, and every figure
    it quoted (metric|area|week -> value), so a later correction that touches one can be found. Never changed
    once issued; a draft brief gains its approved file once, when an analyst approves it."""

    __tablename__ = "briefing_pack"
    __table_args__ = (sa.Index("ix_briefing_pack_audience_as_at", "audience", "as_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    audience: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default=PackStatus.ISSUED)
    format: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(300))
    week: Mapped[dt.date | None]
    scope: Mapped[str] = mapped_column(sa.String(16), default="home")
    area: Mapped[str | None] = mapped_column(sa.String(32))
    as_at: Mapped[dt.datetime]
    made_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    made_by: Mapped[str] = mapped_column(sa.String(120))
    data_version: Mapped[int] = mapped_column(sa.BigInteger)
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int]
    file: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    # The document as made (maic.briefing.document.Document.to_json), figures included.
    document: Mapped[dict] = mapped_column(sa.JSON, deferred=True)
    approved_by: Mapped[str | None] = mapped_column(sa.String(120))
    approved_at: Mapped[dt.datetime | None]
