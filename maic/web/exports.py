"""File exports served by Flask: the shared picture as CSV (with the marking) and the audit log as CSV.

Each export is audited; every cell that a spreadsheet would read as a formula is neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Blueprint, Response, current_app, request
from flask_login import current_user

from maic import audit, permissions
from maic.admin import AuditFilter, audit_events
from maic.csvsafe import neutralise
from maic.db import session_for
from maic.sharing import api

bp = Blueprint("exports", __name__, url_prefix="/exports")

def _csv_response(body: str, filename: str) -> Response:
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "X-Protective-Marking": current_app.config["MAIC_PROTECTIVE_MARKING"]})


@bp.get("/shared.csv")
def shared_csv():
    permissions.require(current_user, permissions.VIEW_SHARED)
    picture = api.picture_for(api.question())
    db = session_for(current_app)
    audit.record(db, current_user.username, "export.shared_csv", request.full_path[:255],
                 remote_addr=request.remote_addr or "")
    db.commit()
    return _csv_response(api.picture_csv(picture, current_app.config["MAIC_PROTECTIVE_MARKING"]),
                         f"shared-{picture.lrf_code}.csv")


@bp.get("/audit.csv")
def audit_csv():
    permissions.require(current_user, permissions.ADMIN)
    db = session_for(current_app)
    wanted = AuditFilter.from_args(request.args)
    rows = audit_events(db, wanted, limit=None)
    out = io.StringIO()
    out.write(f"# {current_app.config['MAIC_PROTECTIVE_MARKING']}; audit log exported "
              f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by {neutralise(current_user.username)}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["at", "actor", "action", "target", "detail", "remote_addr"])
    for e in rows:
        writer.writerow([e.at.isoformat(), *(neutralise(v) for v in (e.actor, e.action, e.target, e.detail,
                                                                     e.remote_addr))])
    audit.record(db, current_user.username, "export.audit_csv", str(wanted)[:255],
                 remote_addr=request.remote_addr or "")
    db.commit()
    return _csv_response(out.getvalue(), "audit-log.csv")


def init_app(app) -> None:
    app.register_blueprint(bp)
