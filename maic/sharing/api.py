"""The shared API at /api/v1/: bearer-token auth, the shared picture as JSON and CSV, catalogue, areas, version.

Every figure comes from maic.picture.shared, the same function the shared view calls, so a neighbour's
system and a neighbour's screen see the same numbers for the same question.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Blueprint, Response, current_app, g, jsonify, request

from maic import permissions
from maic.csvsafe import neutralise
from maic.db import session_for
from maic.errors import MaicError
from maic.models import utcnow
from maic.picture import shared
from maic.sharing import openapi
from maic.sharing.tokens import authenticate_token
from maic.weeks import parse_week

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC_ENDPOINTS = {"api.openapi_document"}
CSV_COLUMNS = ["metric", "area_code", "area_name", "week", "measure", "value", "shown", "status", "partial",
               "reporting", "expected", "covers"]


class Unauthorised(MaicError):
    status = 401
    title = "Unauthorised"


QUESTION_PARAMETERS = {"week_from", "week_to", "area", "metric", "as_at"}
PARAMETERS = {"api.shared_json": QUESTION_PARAMETERS, "api.shared_csv": QUESTION_PARAMETERS}


@bp.before_request
def require_token():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    unknown = sorted(set(request.args) - PARAMETERS.get(request.endpoint or "", set()))
    if unknown:
        raise MaicError(f"unknown parameter {', '.join(repr(u) for u in unknown)[:200]}: "
                        f"see /api/v1/openapi.json")
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    db = session_for(current_app)
    actor = None
    if scheme.lower() == "bearer" and secret.strip():
        actor = authenticate_token(db, secret.strip(), remote_addr=request.remote_addr or "", path=request.full_path)
        db.commit()
    if actor is None:
        raise Unauthorised("send a valid API token: Authorization: Bearer <token>")
    permissions.require(actor, permissions.API_SHARED)
    g.api_actor = actor
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Protective-Marking"] = current_app.config["MAIC_PROTECTIVE_MARKING"]
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="maic"'
    return response


def query_from_args(args) -> shared.SharedQuery:
    """The question from URL parameters, with a message naming the parameter when one is wrong."""
    def week(name: str) -> dt.date | None:
        raw = args.get(name)
        if not raw:
            return None
        try:
            return parse_week(raw)
        except ValueError as exc:
            raise MaicError(f"{name}: {exc}") from None

    def listed(name: str) -> tuple[str, ...]:
        return tuple(sorted({part.strip() for raw in args.getlist(name) for part in raw.split(",") if part.strip()}))

    as_at = None
    if args.get("as_at"):
        try:
            as_at = dt.datetime.fromisoformat(args["as_at"].replace("Z", "+00:00"))
        except ValueError:
            raise MaicError("as_at: write a date and time like 2024-11-20T10:00:00Z") from None
        if as_at.tzinfo is not None:
            as_at = as_at.astimezone(dt.UTC).replace(tzinfo=None)
    return shared.SharedQuery(week_from=week("week_from"), week_to=week("week_to"), area_codes=listed("area"),
                              metrics=listed("metric"), as_at=as_at)


def picture_for(query: shared.SharedQuery) -> shared.SharedPicture:
    config = current_app.config
    return shared.shared_picture(session_for(current_app), query, threshold=int(config["MAIC_SUPPRESSION_THRESHOLD"]),
                                 history_from=dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"])),
                                 history_days=int(config["MAIC_SHARED_HISTORY_DAYS"]))


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"


def picture_json(picture: shared.SharedPicture, marking: str) -> dict:
    return {
        "marking": marking,
        "lrf": {"code": picture.lrf_code, "name": picture.lrf_name},
        "as_at": iso(picture.as_at),
        "data_version": picture.data_version,
        "threshold": picture.threshold,
        "latest_week": picture.latest_week.isoformat() if picture.latest_week else None,
        "week_from": picture.week_from.isoformat() if picture.week_from else None,
        "week_to": picture.week_to.isoformat() if picture.week_to else None,
        "cells": [{"metric": c.metric, "area_code": c.area_code, "week": c.week.isoformat(), "measure": c.measure,
                   "value": c.value, "shown": c.shown, "status": c.status, "partial": c.partial,
                   "reporting": c.reporting, "expected": c.expected, "covers": c.covers} for c in picture.cells],
    }


def picture_csv(picture: shared.SharedPicture, marking: str) -> str:
    names = {a.code: a.name for a in picture.areas} | {shared.ALL_AREAS: f"All areas ({picture.lrf_name})"}
    out = io.StringIO()
    out.write(f"# {neutralise(marking)}; {picture.lrf_name}; as at {iso(picture.as_at)}; counts 1 to "
              f"{picture.threshold - 1} shown as <{picture.threshold}, [c] withheld to protect them; "
              "partial=yes: a total that lacks some areas or weeks (covers says how many)\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in picture.cells:
        writer.writerow([neutralise(cell) for cell in (
            c.metric, c.area_code, names.get(c.area_code, c.area_code), c.week.isoformat(), c.measure,
            c.value, c.shown, c.status, "yes" if c.partial else "no", c.reporting, c.expected, c.covers)])
    return out.getvalue()


@bp.get("/shared")
def shared_json():
    picture = picture_for(query_from_args(request.args))
    return jsonify(picture_json(picture, current_app.config["MAIC_PROTECTIVE_MARKING"]))


@bp.get("/shared.csv")
def shared_csv():
    picture = picture_for(query_from_args(request.args))
    body = picture_csv(picture, current_app.config["MAIC_PROTECTIVE_MARKING"])
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="shared-{picture.lrf_code}.csv"'})


@bp.get("/metrics")
def metrics():
    items = shared.shareable_metrics(session_for(current_app))
    return jsonify({"marking": current_app.config["MAIC_PROTECTIVE_MARKING"],
                    "metrics": [{"key": m.key, "label": m.label, "unit": m.unit, "aggregation": m.aggregation,
                                 "description": m.description} for m in items]})


@bp.get("/areas")
def areas():
    db = session_for(current_app)
    home = shared.home_lrf(db)
    return jsonify({"marking": current_app.config["MAIC_PROTECTIVE_MARKING"],
                    "lrf": {"code": home.code if home else "", "name": home.name if home else ""},
                    "areas": [{"code": a.code, "name": a.name, "population": a.population}
                              for a in shared.shared_areas(db)]})


@bp.get("/version")
def version():
    db = session_for(current_app)
    return jsonify({"data_version": shared.data_version(db), "as_at": iso(utcnow())})


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(current_app.config["MAIC_PROTECTIVE_MARKING"]))


def init_app(app) -> None:
    from maic.web.auth_views import csrf

    csrf.exempt(bp)  # GET only, token auth, no cookies: nothing for CSRF to protect
    app.register_blueprint(bp)
