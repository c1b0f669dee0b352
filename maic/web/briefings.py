"""Briefing packs served by Flask: the pack for what the common picture shows (its filters in the query string),
the neighbours' pack for the shared view, and a kept pack's file. Each pack made is kept and audited by
maic.briefing.issue_pack; each download of a kept pack is audited too.

When Chromium is missing the pack is made and served as HTML, and the response says why (X-Briefing-Note).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from maic import audit, permissions, picture
from maic.briefing import (
    COMMS,
    HTML,
    NEIGHBOUR,
    NEIGHBOURS,
    PDF,
    SCG,
    BriefingSettings,
    IssuedPack,
    PackRequest,
    RendererMissing,
    get_pack,
    issue_pack,
)
from maic.db import session_for
from maic.errors import Forbidden, MaicError
from maic.models import PackStatus, utcnow
from maic.weeks import parse_week

bp = Blueprint("briefings", __name__, url_prefix="/briefings")


def _settings() -> BriefingSettings:
    return BriefingSettings.from_config(current_app.config)


def _file_response(content: bytes, content_type: str, filename: str, sha256: str, note: str = "") -> Response:
    headers = {"Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
               "X-Protective-Marking": current_app.config["MAIC_PROTECTIVE_MARKING"], "X-Content-SHA256": sha256,
               "Cache-Control": "no-store"}
    if note:
        headers["X-Briefing-Note"] = note
    return Response(content, content_type=content_type, headers=headers)


def _issue(pack_request: PackRequest) -> Response:
    """Make, keep and audit the pack; as HTML, saying why, when Chromium is missing."""
    db = session_for(current_app)
    who, addr = current_user.username, request.remote_addr or ""
    note = ""
    try:
        pack = issue_pack(db, pack_request, who, settings=_settings(), remote_addr=addr)
    except RendererMissing as exc:
        db.rollback()
        note = exc.message
        pack = issue_pack(db, PackRequest(**{**pack_request.__dict__, "format": HTML}), who, settings=_settings(),
                          remote_addr=addr)
    db.commit()
    return _response(pack, note)


def _response(pack: IssuedPack, note: str = "") -> Response:
    return _file_response(pack.content, pack.content_type, pack.filename, pack.sha256, note.replace("\n", " ")[:500])


def _format() -> str:
    return HTML if request.args.get("format") == HTML else PDF


@bp.get("/pack")
def picture_pack():
    """The SCG pack (or, for roles that may approve, a Warn and Inform draft) for exactly the view on screen:
    the common picture's filters as its URL carries them (weeks, area, scope, as at)."""
    permissions.require(current_user, permissions.EXPORT)
    audience = request.args.get("audience", SCG)
    if audience not in (SCG, COMMS):
        raise MaicError("audience: scg or comms (the neighbours' pack is made from the shared view)")
    if audience == COMMS:
        permissions.require(current_user, permissions.APPROVE_BRIEF)
    tz = current_app.config["MAIC_TIMEZONE"]
    db = session_for(current_app)
    wanted = picture.Filters.from_search(request.query_string.decode("utf-8", "replace"))
    filters, problem = picture.checked_as_at(wanted, tz, now=utcnow(), incident_start=picture.incident_start(db))
    if problem:
        raise MaicError(problem)
    filters, _notes = filters.within(picture.filter_bounds(db))
    return _issue(PackRequest(audience=audience, week=filters.week_to, week_from=filters.week_from,
                              area=filters.area, scope=NEIGHBOURS if filters.scope == picture.filters.NEIGHBOURS
                              else "home", as_at=filters.as_at(tz), format=_format()))


@bp.get("/neighbour")
def neighbour_pack():
    """The neighbours' pack: the shared view's figures for its weeks (week_from, week_to) as at now."""
    permissions.require(current_user, permissions.VIEW_SHARED)

    def week(name: str) -> dt.date | None:
        try:
            return parse_week(request.args[name]) if request.args.get(name) else None
        except ValueError as exc:
            raise MaicError(f"{name}: {exc}") from None

    first, last = week("week_from"), week("week_to")
    if first and last and first > last:
        first, last = last, first
    return _issue(PackRequest(audience=NEIGHBOUR, week=last, week_from=first, format=_format()))


@bp.get("/<int:pack_id>/file")
def pack_file(pack_id: int):
    """A kept pack exactly as issued. A Warn and Inform draft only to those who may approve it; once approved,
    the approved text."""
    permissions.require(current_user, permissions.VIEW_BRIEFINGS)
    db = session_for(current_app)
    row = get_pack(db, pack_id)
    if row.status == PackStatus.DRAFT and not permissions.allowed(current_user, permissions.APPROVE_BRIEF):
        raise Forbidden("this brief is a draft until an analyst approves it")
    audit.record(db, current_user.username, "briefing.download", f"pack:{row.id}",
                 f"audience={row.audience}; status={row.status}; sha256={row.sha256}", request.remote_addr or "")
    db.commit()
    return _file_response(row.file, row.content_type, row.filename, row.sha256)


def init_app(app) -> None:
    app.register_blueprint(bp)
