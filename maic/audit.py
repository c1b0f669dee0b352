"""Audit events: who did what to what, when, from where. Written only by adding rows; never edited."""

from __future__ import annotations

from sqlalchemy import orm

from maic.models import AuditEvent


def record(session: orm.Session, actor: str, action: str, target: str = "", detail: str = "",
           remote_addr: str = "") -> AuditEvent:
    event = AuditEvent(actor=actor or "anonymous", action=action, target=target[:255], detail=detail,
                       remote_addr=remote_addr or "")
    session.add(event)
    return event
