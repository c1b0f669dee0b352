"""The sender: claims due rows of the outbox, sends them by email (SMTP) or webhook (signed JSON POST), and
records each outcome; a failure waits and is tried again, doubling the wait, until MAIC_NOTIFY_MAX_ATTEMPTS.

A row is claimed by a state change (pending -> sending, with a claim token), in a transaction that on
PostgreSQL locks the rows it picks with FOR UPDATE SKIP LOCKED, so two senders never take the same row. A
claim left by a sender that died is released after CLAIM_LEASE, and the message goes again: an email carries
a Message-ID and a webhook an X-MAIC-Delivery id, both fixed per row, so a receiver can drop that one repeat.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import requests
import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.db import transaction
from maic.errors import MaicError
from maic.fetch import FetchPolicy
from maic.models import Notification, NotifyState, User, utcnow
from maic.notify.kinds import AUDIENCES, EMAIL, WEBHOOK
from maic.notify.outbox import absolute, render_html, render_text, subject_line

log = logging.getLogger(__name__)

CLAIM_LEASE = dt.timedelta(minutes=10)
MAX_WAIT = dt.timedelta(hours=1)
BATCH = 200
SIGNATURE_HEADER = "X-MAIC-Signature"
TIMESTAMP_HEADER = "X-MAIC-Timestamp"
DELIVERY_HEADER = "X-MAIC-Delivery"
SKIPPED_NO_SMTP = "not sent: no SMTP server is configured (MAIC_SMTP_HOST); shown in the app only"
SKIPPED_NO_WEBHOOK = "not sent: no webhook is configured for this audience (MAIC_NOTIFY_WEBHOOKS)"


@dataclass(frozen=True)
class SendSettings:
    marking: str = "OFFICIAL-SENSITIVE"
    public_url: str = "http://127.0.0.1:8050"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "maic@localhost"
    smtp_timeout: float = 20.0
    webhooks: dict[str, str] = field(default_factory=dict)
    webhook_secret: str = ""
    retry_seconds: int = 60
    max_attempts: int = 20
    fetch: FetchPolicy = FetchPolicy()

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SendSettings:
        return cls(marking=str(config.get("MAIC_PROTECTIVE_MARKING", "OFFICIAL-SENSITIVE")),
                   public_url=str(config.get("MAIC_PUBLIC_URL", "http://127.0.0.1:8050")),
                   smtp_host=str(config.get("MAIC_SMTP_HOST") or ""), smtp_port=int(config.get("MAIC_SMTP_PORT", 25)),
                   smtp_user=str(config.get("MAIC_SMTP_USER") or ""),
                   smtp_password=str(config.get("MAIC_SMTP_PASSWORD") or ""),
                   smtp_starttls=bool(config.get("MAIC_SMTP_STARTTLS", False)),
                   smtp_from=str(config.get("MAIC_SMTP_FROM") or "maic@localhost"),
                   smtp_timeout=float(config.get("MAIC_SMTP_TIMEOUT_SECONDS", 20.0)),
                   webhooks=parse_webhooks(str(config.get("MAIC_NOTIFY_WEBHOOKS") or "")),
                   webhook_secret=str(config.get("MAIC_NOTIFY_WEBHOOK_SECRET") or ""),
                   retry_seconds=int(config.get("MAIC_NOTIFY_RETRY_SECONDS", 60)),
                   max_attempts=int(config.get("MAIC_NOTIFY_MAX_ATTEMPTS", 20)),
                   fetch=FetchPolicy.from_config(config))


def parse_webhooks(text: str) -> dict[str, str]:
    """'maic=https://a;scg=https://b' -> {audience: url}; an unknown audience or a non-HTTP URL is an error."""
    out = {}
    for part in filter(None, (p.strip() for p in text.replace("\n", ";").split(";"))):
        audience, _, url = part.partition("=")
        audience, url = audience.strip(), url.strip()
        if audience not in AUDIENCES or not url.startswith(("http://", "https://")):
            raise ValueError(f"MAIC_NOTIFY_WEBHOOKS: '{part}' is not audience=https://...; audiences: "
                             f"{', '.join(AUDIENCES)}")
        out[audience] = url
    return out


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of '<timestamp>.<body>': the receiver recomputes it with the shared secret (and may refuse
    an old timestamp, so a captured request cannot be replayed later)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass
class Delivery:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    released: int = 0

    def __str__(self) -> str:
        return (f"{self.sent} sent, {self.retrying} to retry, {self.failed} failed, {self.skipped} not sendable, "
                f"{self.released} stale claims released")


def backoff(settings: SendSettings, attempts: int) -> dt.timedelta:
    return min(dt.timedelta(seconds=settings.retry_seconds * 2 ** max(0, attempts - 1)), MAX_WAIT)


def claim(session: orm.Session, token: str, now: dt.datetime, limit: int = BATCH) -> list[int]:
    """Take due rows (pending, their time come) for this sender: a state change no other sender can also make."""
    pick = (sa.select(Notification.id)
            .where(Notification.state == NotifyState.PENDING, Notification.channel.in_([EMAIL, WEBHOOK]),
                   Notification.next_attempt_at <= now)
            .order_by(Notification.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(session.scalars(pick))
    if not ids:
        return []
    session.execute(sa.update(Notification)
                    .where(Notification.id.in_(ids), Notification.state == NotifyState.PENDING)
                    .values(state=NotifyState.SENDING, claimed_by=token, claimed_at=now)
                    .execution_options(synchronize_session=False))
    return list(session.scalars(sa.select(Notification.id).where(Notification.claimed_by == token,
                                                                 Notification.state == NotifyState.SENDING)))


def release_stale(session: orm.Session, now: dt.datetime) -> int:
    """A restart resumes: claims older than the lease go back to pending."""
    return session.execute(sa.update(Notification)
                           .where(Notification.state == NotifyState.SENDING,
                                  Notification.claimed_at < now - CLAIM_LEASE)
                           .values(state=NotifyState.PENDING, claimed_by=None)
                           .execution_options(synchronize_session=False)).rowcount or 0


def deliver_due(factory: orm.sessionmaker[orm.Session], settings: SendSettings, *, now: dt.datetime | None = None,
                http: requests.Session | None = None) -> Delivery:
    now = now or utcnow()
    report = Delivery()
    token = uuid.uuid4().hex
    with transaction(factory) as session:
        report.released = release_stale(session, now)
        ids = claim(session, token, now)
    if not ids:
        return report
    with factory() as session:
        rows = list(session.scalars(sa.select(Notification).where(Notification.id.in_(ids))
                                    .order_by(Notification.id)))
        emails = {u.id: u.email for u in session.scalars(sa.select(User).where(
            User.id.in_({r.user_id for r in rows if r.user_id is not None})))}
        session.expunge_all()
    mail = [r for r in rows if r.channel == EMAIL]
    hooks = [r for r in rows if r.channel == WEBHOOK]
    outcomes: list[tuple[Notification, str | None, bool]] = []  # (row, error or None, skipped)
    outcomes += _send_emails(mail, emails, settings, now)
    outcomes += _send_webhooks(hooks, settings, now, http)
    for row, error, skipped in outcomes:
        _record(factory, row, error, skipped, settings, now, token, report)
    return report


def _record(factory, row: Notification, error: str | None, skipped: bool, settings: SendSettings,
            now: dt.datetime, token: str, report: Delivery) -> None:
    attempts = row.attempts + (0 if skipped else 1)
    if error is None:
        values = {"state": NotifyState.SENT, "sent_at": utcnow(), "last_error": ""}
        action, report.sent = "notify.sent", report.sent + 1
    elif skipped:
        values = {"state": NotifyState.OFF, "last_error": error}
        action, report.skipped = "notify.skipped", report.skipped + 1
    elif attempts >= settings.max_attempts:
        values = {"state": NotifyState.FAILED, "last_error": error[:2000]}
        action, report.failed = "notify.failed", report.failed + 1
    else:
        values = {"state": NotifyState.PENDING, "last_error": error[:2000],
                  "next_attempt_at": now + backoff(settings, attempts)}
        action, report.retrying = "notify.retry_later", report.retrying + 1
    with transaction(factory) as session:
        done = session.execute(sa.update(Notification)
                               .where(Notification.id == row.id, Notification.claimed_by == token,
                                      Notification.state == NotifyState.SENDING)
                               .values(attempts=attempts, claimed_by=None, **values)).rowcount
        if done:
            audit.record(session, "notify", action, f"notification:{row.id}",
                         f"{row.channel} to {row.recipient} ({row.kind}) attempt {attempts}"
                         + (f": {error[:500]}" if error else ""))


def _email(row: Notification, address: str, settings: SendSettings) -> EmailMessage:
    link = absolute(row.link, settings.public_url)
    message = EmailMessage()
    message["Subject"] = subject_line(row.subject, settings.marking)
    message["From"] = settings.smtp_from
    message["To"] = address
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    # Fixed per row: a repeat after a crash is recognisably the same message.
    message["Message-ID"] = make_msgid(idstring=f"maic-notification-{row.id}", domain="maic.invalid")
    message["X-MAIC-Notification"] = str(row.id)
    message.set_content(render_text(row.subject, row.body, link, settings.marking))
    message.add_alternative(render_html(row.subject, row.body, link, settings.marking), subtype="html")
    return message


def _send_emails(rows: list[Notification], emails: dict[int, str | None], settings: SendSettings,
                 now: dt.datetime) -> list[tuple[Notification, str | None, bool]]:
    if not rows:
        return []
    if not settings.smtp_host:
        return [(r, SKIPPED_NO_SMTP, True) for r in rows]
    out: list[tuple[Notification, str | None, bool]] = []
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return [(r, f"SMTP server {settings.smtp_host}:{settings.smtp_port} unreachable: "
                    f"{exc.__class__.__name__}: {exc}", False) for r in rows]
    try:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        for row in rows:
            address = emails.get(row.user_id or 0)
            if not address:
                out.append((row, "the user no longer has an email address", True))
                continue
            try:
                smtp.send_message(_email(row, address, settings))
                out.append((row, None, False))
            except (OSError, smtplib.SMTPException) as exc:
                out.append((row, f"SMTP: {exc.__class__.__name__}: {exc}", False))
    except (OSError, smtplib.SMTPException) as exc:
        done = {r.id for r, _, _ in out}
        out += [(r, f"SMTP: {exc.__class__.__name__}: {exc}", False) for r in rows if r.id not in done]
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return out


def webhook_payload(row: Notification, settings: SendSettings) -> dict[str, Any]:
    return {"id": row.id, "event": row.event_key, "kind": row.kind, "audience": row.audience,
            "marking": settings.marking, "subject": subject_line(row.subject, settings.marking), "text": row.body,
            "link": absolute(row.link, settings.public_url),
            "created_at": row.created_at.replace(tzinfo=dt.UTC).isoformat()}


def _send_webhooks(rows: list[Notification], settings: SendSettings, now: dt.datetime,
                   http: requests.Session | None) -> list[tuple[Notification, str | None, bool]]:
    if not rows:
        return []
    out: list[tuple[Notification, str | None, bool]] = []
    session = settings.fetch.session(http)
    try:
        for row in rows:
            url = settings.webhooks.get(row.audience)
            if not url:
                out.append((row, SKIPPED_NO_WEBHOOK, True))
                continue
            if not settings.webhook_secret:
                out.append((row, "not sent: MAIC_NOTIFY_WEBHOOK_SECRET is empty (webhooks are always signed)", True))
                continue
            body = json.dumps(webhook_payload(row, settings), separators=(",", ":")).encode("utf-8")
            timestamp = str(int(dt.datetime.now(dt.UTC).timestamp()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                       SIGNATURE_HEADER: sign(settings.webhook_secret, timestamp, body),
                       DELIVERY_HEADER: str(row.id)}
            try:
                response = session.post(url, data=body, headers=headers, timeout=settings.smtp_timeout,
                                        allow_redirects=False)
                response.close()
            except (requests.RequestException, OSError, MaicError) as exc:
                out.append((row, f"webhook: {exc.__class__.__name__}: {str(exc)[:300]}", False))
                continue
            if 200 <= response.status_code < 300:
                out.append((row, None, False))
            else:
                out.append((row, f"webhook answered {response.status_code}", False))
    finally:
        if http is None:
            session.close()
    return out
