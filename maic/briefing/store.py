"""Packs made, kept as issued, audited, listed; a Warn and Inform brief approved; figures revised since.

The caller owns the transaction: issue_pack and approve_brief add rows (the pack and its audit event) and
flush, so that a notification written in the same transaction (issue 14) stands or falls with the pack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit, dates, picture
from maic.briefing.comms import comms_document
from maic.briefing.content import scg_document
from maic.briefing.document import AUDIENCE_NAMES, COMMS, NEIGHBOUR, Document
from maic.briefing.neighbour import neighbour_document
from maic.briefing.render import html_page, pdf_bytes
from maic.briefing.request import PDF, BriefingSettings, PackRequest
from maic.briefing.revisions import RevisedFigure, revised_figures
from maic.errors import MaicError, NotFound
from maic.models import BriefingPack, Observation, PackStatus, utcnow

CONTENT_TYPES = {PDF: "application/pdf", "html": "text/html; charset=utf-8"}


@dataclass(frozen=True)
class IssuedPack:
    id: int
    audience: str
    status: str
    title: str
    week: dt.date | None
    as_at: dt.datetime
    made_at: dt.datetime
    made_by: str
    filename: str
    content_type: str
    sha256: str
    content: bytes = field(repr=False)

    @classmethod
    def of(cls, row: BriefingPack) -> IssuedPack:
        return cls(row.id, row.audience, row.status, row.title, row.week, row.as_at, row.made_at, row.made_by,
                   row.filename, row.content_type, row.sha256, row.file)


@dataclass(frozen=True)
class RevisedPack:
    id: int
    audience: str
    title: str
    as_at: dt.datetime
    figures: list[RevisedFigure]


def build_document(session: orm.Session, request: PackRequest, settings: BriefingSettings,
                   as_at: dt.datetime, now: dt.datetime) -> Document:
    if request.audience == NEIGHBOUR:
        return neighbour_document(session, request, settings, as_at, now)
    if request.audience == COMMS:
        return comms_document(session, request, settings, as_at)
    return scg_document(session, request, settings, as_at)


def render_file(doc: Document, fmt: str, settings: BriefingSettings) -> bytes:
    """The document as a file: PDF (Chromium; RendererMissing when it is not there) or HTML."""
    if fmt == PDF:
        return pdf_bytes(doc, chromium=settings.chromium)
    return html_page(doc).encode("utf-8")


def make_document(session: orm.Session, request: PackRequest, settings: BriefingSettings, *,
                  now: dt.datetime | None = None) -> Document:
    """The pack's document for the request, as at its time (now when none is given), not kept."""
    now = now or utcnow()
    as_at = request.as_at or now.replace(microsecond=0)
    if as_at > now:
        raise MaicError(f"as at {dates.moment(as_at, settings.tz)} is in the future: choose a time up to now")
    doc = build_document(session, request, settings, as_at, now)
    doc.made_at_text = dates.moment(now, settings.tz)
    return doc


def _filename(doc: Document, fmt: str, as_at: dt.datetime) -> str:
    week = doc.week or "no-week"
    return f"maic-{doc.audience}-{'brief' if doc.audience == COMMS else 'pack'}-{week}-asat-{as_at:%Y%m%d-%H%M}.{fmt}"


def issue_pack(session: orm.Session, request: PackRequest, made_by: str, *, settings: BriefingSettings,
               now: dt.datetime | None = None, remote_addr: str = "") -> IssuedPack:
    """Make the pack, keep it as issued (a Warn and Inform brief as a draft) and audit it (who, audience, as at,
    sha256). Flushes; the caller commits. Raises RendererMissing for a PDF when Chromium is not installed."""
    now = now or utcnow()
    doc = make_document(session, request, settings, now=now)
    content = render_file(doc, request.format, settings)
    as_at = dt.datetime.fromisoformat(doc.as_at)
    digest = hashlib.sha256(content).hexdigest()
    row = BriefingPack(audience=request.audience, status=PackStatus.DRAFT if doc.draft else PackStatus.ISSUED,
                       format=request.format, title=doc.title[:300],
                       week=dt.date.fromisoformat(doc.week) if doc.week else None, scope=request.scope,
                       area=request.area, as_at=as_at, made_at=now, made_by=made_by[:120],
                       data_version=picture.data_version(session), filename=_filename(doc, request.format, as_at),
                       content_type=CONTENT_TYPES[request.format], sha256=digest, size_bytes=len(content),
                       file=content, document=doc.to_json())
    session.add(row)
    session.flush()
    audit.record(session, made_by, "briefing.issue", f"pack:{row.id}",
                 f"audience={request.audience}; status={row.status}; as_at={as_at.isoformat()}; week={doc.week}; "
                 f"scope={request.scope}; area={request.area or 'all'}; format={request.format}; sha256={digest}",
                 remote_addr)
    session.flush()
    if row.status == PackStatus.ISSUED:
        from maic import notify  # the notifications import the picture; imported when a pack is issued

        # "A new pack is ready", in this transaction: it goes out only if the pack is kept.
        notify.pack_issued(session, row.id, f"{row.title}, {doc.week_text}, as at {doc.as_at_text}", PACKS_PAGE,
                           audience=row.audience, issued_by=made_by, now=now)
    return IssuedPack.of(row)


PACKS_PAGE = "/dash/briefings"


def notify_revised(session: orm.Session, now: dt.datetime | None = None) -> int:
    """A "revised since" notice to the MAIC for each issued pack a correction changed, once per distinct set of
    revised figures (the cause is their digest, so the same revision is never announced twice). Returns how many
    packs had a new notice."""
    from maic import notify

    sent = 0
    for pack in revised_packs(session):
        cause = hashlib.sha256(repr([(f.metric, f.area, f.week.isoformat(), f.in_pack, f.now)
                                     for f in pack.figures]).encode()).hexdigest()[:16]
        changed = [f"{f.metric.replace('_', ' ')}, {f.area}, week beginning {dates.day(f.week)}: "
                   f"{'no figure' if f.in_pack is None else f.in_pack} in the pack, "
                   f"{'no figure' if f.now is None else f.now} now" for f in pack.figures[:5]]
        if len(pack.figures) > 5:
            changed.append(f"and {len(pack.figures) - 5} more")
        sent += bool(notify.pack_revised(session, pack.id, pack.title, PACKS_PAGE, cause=cause, changed=changed,
                                         now=now))
    return sent


def get_pack(session: orm.Session, pack_id: int) -> BriefingPack:
    row = session.get(BriefingPack, pack_id)
    if row is None:
        raise NotFound(f"there is no pack {pack_id}")
    return row


def approve_brief(session: orm.Session, pack_id: int, approved_by: str, *, settings: BriefingSettings,
                  now: dt.datetime | None = None, remote_addr: str = "") -> IssuedPack:
    """An analyst approves a Warn and Inform draft: its file becomes the approved text (the draft's lines, the
    draft notice replaced by who approved it and when). Audited; flushes, the caller commits."""
    now = now or utcnow()
    row = get_pack(session, pack_id)
    if row.audience != COMMS or row.status != PackStatus.DRAFT:
        raise MaicError("only a Warn and Inform brief still in draft can be approved")
    doc = Document.from_json(row.document)
    doc.draft = False
    doc.version = "Approved"
    doc.approved = f"Approved for use by {approved_by} on {dates.moment(now, settings.tz)}."
    content = render_file(doc, row.format, settings)
    digest = hashlib.sha256(content).hexdigest()
    row.document, row.file, row.sha256, row.size_bytes = doc.to_json(), content, digest, len(content)
    row.status, row.approved_by, row.approved_at = PackStatus.APPROVED, approved_by[:120], now
    audit.record(session, approved_by, "briefing.approve", f"pack:{row.id}",
                 f"audience={row.audience}; as_at={row.as_at.isoformat()}; sha256={digest}", remote_addr)
    session.flush()
    return IssuedPack.of(row)


def list_packs(session: orm.Session, limit: int = 100) -> list[BriefingPack]:
    return list(session.scalars(sa.select(BriefingPack).order_by(BriefingPack.made_at.desc(), BriefingPack.id.desc())
                                .limit(limit)))


def packs_issued_since(session: orm.Session, since: dt.datetime) -> list[IssuedPack]:
    """Packs (and approved briefs) made after `since`, oldest first: what a "new pack is ready" notice announces.
    Drafts are left out; a brief is announced by approved_at once approved."""
    rows = session.scalars(sa.select(BriefingPack).where(sa.or_(
        sa.and_(BriefingPack.status == PackStatus.ISSUED, BriefingPack.made_at > since),
        sa.and_(BriefingPack.status == PackStatus.APPROVED, BriefingPack.approved_at > since)))
        .order_by(BriefingPack.made_at, BriefingPack.id))
    return [IssuedPack.of(r) for r in rows]


def revised_packs(session: orm.Session, since: dt.datetime | None = None) -> list[RevisedPack]:
    """Issued packs with a figure revised since they were issued, by a correction recorded after `since` (None:
    at any time). Nothing recorded or superseded after `since` means nothing to look at: one indexed query."""
    if since is not None:
        changed = session.scalar(sa.select(sa.func.count()).select_from(Observation).where(
            sa.or_(Observation.recorded_at > since, Observation.superseded_at > since)))
        if not changed:
            return []
    out = []
    for row in session.scalars(sa.select(BriefingPack).where(BriefingPack.status != PackStatus.DRAFT)
                               .order_by(BriefingPack.id)):
        found = revised_figures(session, row, since=since)
        if found:
            out.append(RevisedPack(row.id, row.audience, row.title, row.as_at, found))
    return out


def audience_name(audience: str) -> str:
    return AUDIENCE_NAMES.get(audience, audience)
