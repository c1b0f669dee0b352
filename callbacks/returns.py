"""The returns page: preview, commit or cancel an upload; templates; the agency's history and due weeks.

Every body checks permissions (VIEW_RETURNS, then may_submit_for the chosen agency) on the server: the
agency a browser sends is never trusted. The bytes of an upload stay in the browser's dcc.Upload until
Commit sends them again; commit re-checks them from scratch.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import uuid
from pathlib import Path

import sqlalchemy as sa
from dash import ALL, Input, Output, State, ctx, dcc, no_update
from flask import current_app, request

from callbacks import _guard
from callbacks._common import connection_lost, db, setting, user
from layouts import ids
from layouts import returns as view
from maic import dates, permissions
from maic.db import factory_for
from maic.errors import Forbidden, MaicError, ValidationFailed
from maic.models import Agency, ReturnSource, utcnow
from maic.plaintext import one_line
from maic.reference import first_week
from maic.returns import history
from maic.returns.ingest import IngestSettings, Submission, check_submission, ingest_return
from maic.returns.preview import build_preview
from maic.returns.report import problems_csv
from maic.returns.template import render, template_spec

log = logging.getLogger(__name__)


def _settings() -> IngestSettings:
    return IngestSettings.from_config(current_app.config)


def _incident_start() -> dt.date:
    return first_week(db(), _settings().incident_start)


def _agency_for(slug: str | None) -> Agency:
    """The agency the signed-in user may submit for, or Forbidden (whatever the browser sent)."""
    permissions.require(user(), permissions.VIEW_RETURNS)
    agency = db().scalar(sa.select(Agency).where(Agency.slug == (slug or "")))
    if agency is None or not permissions.may_submit_for(user(), agency.id):
        raise Forbidden("you cannot send returns for this agency")
    return agency


def render_page():
    permissions.require(user(), permissions.VIEW_RETURNS)
    current = user()
    own = None if permissions.allowed(current, permissions.UPLOAD_ANY) else current.agency_id
    if own is None and not permissions.allowed(current, permissions.UPLOAD_ANY):
        raise Forbidden("your account is not linked to an agency")
    agencies = history.agencies_for(db(), own)
    weeks = history.template_weeks(utcnow().date(), _incident_start())
    return view.layout(agencies, agencies[0][0] if agencies else None, weeks, _settings().max_bytes)


def _decode(contents: str, max_bytes: int) -> bytes:
    _header, _, payload = (contents or "").partition(",")
    if len(payload) > (max_bytes + 2) * 4 // 3 + 4:
        raise MaicError(f"the file is larger than the limit of {max_bytes:,} bytes")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise MaicError("the upload could not be read; choose the file again") from None


def _submission(agency: Agency, contents: str, filename: str | None) -> Submission:
    current = user()
    data = _decode(contents, _settings().max_bytes)
    return Submission(data=data, filename=one_line(filename or "upload.csv")[:255] or "upload.csv", agency_slug=agency.slug,
                      source=ReturnSource.UPLOAD, user_id=current.id, actor=current.username,
                      remote_addr=request.remote_addr or "")


# The preview shows this many errors (and warnings) in full; the rest are counted, and every one is in the report.
SHOWN_ISSUES = 100


def _issues(issues) -> list[tuple[str, str, str]]:
    return [("" if i.row is None else str(i.row), i.column or "", i.message) for i in issues[:SHOWN_ISSUES]]


def preview_data(agency_slug: str | None, contents: str, filename: str | None) -> dict:
    agency = _agency_for(agency_slug)
    try:
        submission = _submission(agency, contents, filename)
    except MaicError as exc:
        return {"filename": filename or "", "message": exc.message}
    preview = build_preview(db(), submission, _settings())
    return {
        "filename": preview.filename, "sha256": preview.sha256, "size": preview.size_bytes, "rows": preview.rows,
        "weeks": [dates.day(w) for w in preview.weeks], "errors": _issues(preview.errors),
        "errors_total": len(preview.errors), "warnings": _issues(preview.warnings),
        "warnings_total": len(preview.warnings), "duplicate_of": preview.duplicate_of,
        "totals": [(dates.day(t.week), t.label, "no figure" if t.current is None else f"{t.current:,}",
                    f"{t.after:,}", "" if t.change is None else f"{t.change:+,}") for t in preview.totals],
    }


def commit_data(agency_slug: str | None, contents: str, filename: str | None) -> dict:
    agency = _agency_for(agency_slug)
    receipt = ingest_return(factory_for(current_app), _submission(agency, contents, filename), _settings())
    return {"return_id": receipt.return_id, "sha256": receipt.sha256, "rows": receipt.rows,
            "weeks": [dates.day(w) for w in receipt.weeks], "duplicate": receipt.duplicate,
            "warnings": len(receipt.warnings),
            "received": view.format_local(utcnow(), setting("MAIC_TIMEZONE"))}


NOT_SAVED = ("the database could not be reached while saving this return, so it may not have been saved. Press "
             "Commit again in a minute: if it was saved after all you get its receipt, never a second copy.")
REFUSED = ("the database refused to save this return just now (the same file being saved by another request at "
           "the same moment can do this), so nothing of it was saved. Press Commit again: if it was saved by the "
           "other request you get its receipt, never a second copy. If it happens again, tell the MAIC team, "
           "quoting reference {reference}.")


def committed(agency_slug, contents, filename) -> dict:
    """commit_data, with a database failure said for what it was. The transaction is all or nothing, and the same
    bytes sent again are one return, so sending again is always safe."""
    try:
        return commit_data(agency_slug, contents, filename)
    except sa.exc.DBAPIError as exc:
        if connection_lost(exc):
            raise MaicError(NOT_SAVED, status=503, title="Not saved") from exc
        reference = uuid.uuid4().hex[:8]
        log.error("a return's commit was refused by the database (reference %s)", reference, exc_info=exc)
        raise MaicError(REFUSED.format(reference=reference), status=409, title="Not saved") from exc


def act(contents, _commit, _cancel, filename, agency_slug):
    """Upload -> preview; Commit -> receipt; Cancel -> nothing written. Outputs: preview, commit disabled,
    receipt, committed store, upload contents."""
    permissions.require(user(), permissions.VIEW_RETURNS)
    trigger = ctx.triggered_id
    if trigger == ids.RETURNS_CANCEL:
        return [], True, view.receipt_children({"cancelled": True}), no_update, None
    if not contents:
        return [], True, no_update, no_update, no_update
    if trigger == ids.RETURNS_COMMIT:
        try:
            receipt = committed(agency_slug, contents, filename)
        except ValidationFailed as exc:
            data = preview_data(agency_slug, contents, filename)
            if not data.get("message") and not data["errors"]:
                data["errors"], data["errors_total"] = _issues(exc.issues), len(exc.issues)
            return view.preview_children(data), True, [], no_update, no_update
        return [], True, view.receipt_children(receipt), receipt["return_id"], None
    data = preview_data(agency_slug, contents, filename)
    can_commit = not data.get("message") and not data["errors"]
    return view.preview_children(data), not can_commit, [], no_update, no_update


def problems_report(n_clicks, contents, filename, agency_slug):
    """Every error and warning of the uploaded file as a CSV (the preview shows the first SHOWN_ISSUES)."""
    agency = _agency_for(agency_slug)
    if not any(n_clicks or []) or not contents:
        return no_update
    submission = _submission(agency, contents, filename)
    checked = check_submission(db(), submission, _settings())
    stem = Path(submission.filename.replace("\\", "/")).stem
    name = "problems-" + ("".join(c if c.isalnum() or c in "-_." else "_" for c in stem)[:80] or "upload") + ".csv"
    return dcc.send_string(problems_csv(checked.issues), name)


def history_panel(agency_slug, _committed):
    agency = _agency_for(agency_slug)
    tz = setting("MAIC_TIMEZONE")
    rows = history.agency_returns(db(), agency.id)
    due = history.weeks_due(db(), agency.id, now=utcnow(), incident_start=_incident_start(),
                            deadline_rule=setting("MAIC_RETURN_DEADLINE"), tz=tz)
    return view.history_children(
        agency.name,
        [(r.id, dates.day(r.week) if r.first_week == r.week else f"{dates.day(r.first_week)} to {dates.day(r.week)}",
          r.status, r.source.replace("_", " "), r.submitted_by, view.format_local(r.received_at, tz), r.rows,
          r.filename) for r in rows],
        [(dates.day(d.week), view.format_local(d.deadline, tz), d.status, view.format_local(d.first_received_at, tz))
         for d in due])


def template_download(_xlsx, _csv, agency_slug, week):
    agency = _agency_for(agency_slug)
    if not week:
        raise MaicError("choose the week the template is for")
    fmt = "csv" if ctx.triggered_id == ids.RETURNS_TEMPLATE_CSV else "xlsx"
    name, data = render(template_spec(db(), agency.slug, dt.date.fromisoformat(week)), fmt)
    return dcc.send_bytes(data, name)


def register(app) -> None:
    for key in (f"{ids.RETURNS_PREVIEW}.children", f"{ids.RETURNS_COMMIT}.disabled", f"{ids.RETURNS_RECEIPT}.children",
                f"{ids.RETURNS_COMMITTED}.data", f"{ids.RETURNS_UPLOAD}.contents", f"{ids.RETURNS_HISTORY}.children",
                f"{ids.RETURNS_DOWNLOAD}.data", f"{ids.RETURNS_REPORT_DOWNLOAD}.data"):
        _guard.rule(key, permissions.VIEW_RETURNS)

    app.callback(
        Output(ids.RETURNS_PREVIEW, "children"), Output(ids.RETURNS_COMMIT, "disabled"),
        Output(ids.RETURNS_RECEIPT, "children"), Output(ids.RETURNS_COMMITTED, "data"),
        Output(ids.RETURNS_UPLOAD, "contents"),
        Input(ids.RETURNS_UPLOAD, "contents"), Input(ids.RETURNS_COMMIT, "n_clicks"),
        Input(ids.RETURNS_CANCEL, "n_clicks"),
        State(ids.RETURNS_UPLOAD, "filename"), State(ids.RETURNS_AGENCY, "value"),
        prevent_initial_call=True,
    )(act)
    app.callback(Output(ids.RETURNS_REPORT_DOWNLOAD, "data"), Input({"type": ids.RETURNS_REPORT, "n": ALL}, "n_clicks"),
                 State(ids.RETURNS_UPLOAD, "contents"), State(ids.RETURNS_UPLOAD, "filename"),
                 State(ids.RETURNS_AGENCY, "value"), prevent_initial_call=True)(problems_report)
    app.callback(Output(ids.RETURNS_HISTORY, "children"), Input(ids.RETURNS_AGENCY, "value"),
                 Input(ids.RETURNS_COMMITTED, "data"))(history_panel)
    app.callback(Output(ids.RETURNS_DOWNLOAD, "data"), Input(ids.RETURNS_TEMPLATE_XLSX, "n_clicks"),
                 Input(ids.RETURNS_TEMPLATE_CSV, "n_clicks"), State(ids.RETURNS_AGENCY, "value"),
                 State(ids.RETURNS_WEEK, "value"), prevent_initial_call=True)(template_download)
