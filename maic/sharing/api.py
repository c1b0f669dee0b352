"""The shared API at /api/v1/: bearer-token auth, the shared picture as JSON and CSV, catalogue, areas, version.

Every figure comes from maic.picture.shared, the same function the shared view calls, so a neighbour's
system and a neighbour's screen see the same numbers for the same question.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

from flask import Blueprint, Response, current_app, g, jsonify, request

from maic import permissions
from maic.csvsafe import neutralise
from maic.db import session_for
from maic.errors import MaicError
from maic.models import utcnow
from maic.picture import shared
from maic.sharing import kept, openapi
from maic.sharing.tokens import authenticate_token
from maic.weeks import monday_of, parse_week, weeks_between

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


_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})")
AS_AT_FORM = "as_at: write a date and time like 2024-11-20T10:00:00Z (RFC 3339)"


def parse_as_at(text: str) -> dt.datetime:
    """Any RFC 3339 date-time, as naive UTC. A leap second is read as :59; times beyond what Python can hold
    become its earliest or latest time, which the history rule then refuses or reads as now."""
    match = _RFC3339.fullmatch(text.strip())
    if not match:
        raise MaicError(AS_AT_FORM)
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    if year == 0:
        return dt.datetime.min
    try:
        local = dt.datetime(year, month, day, hour, minute, min(second, 59), int((fraction + "000000")[:6]))
    except ValueError:
        raise MaicError(f"{AS_AT_FORM}; there is no such date or time") from None
    offset = dt.timedelta(0)
    if zone not in "Zz":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise MaicError(f"{AS_AT_FORM}; the offset {zone} is not a time zone")
        offset = (1 if zone[0] == "+" else -1) * dt.timedelta(hours=hours, minutes=minutes)
    try:
        return local - offset
    except OverflowError:
        return dt.datetime.min if year < 1000 else dt.datetime.max


def shared_weeks(config, today: dt.date) -> list[dt.date]:
    """The weeks a question may name: the Mondays from the incident's start to this week."""
    return weeks_between(dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"])), monday_of(today))


def query_from_args(args, weeks: list[dt.date]) -> shared.SharedQuery:
    """The question from URL parameters, with a message naming the parameter when one is wrong."""
    for name in ("week_from", "week_to", "as_at"):
        if len(args.getlist(name)) > 1:
            raise MaicError(f"{name}: give it once")

    def week(name: str) -> dt.date | None:
        if name not in args:
            return None
        try:
            monday = parse_week(args[name])
        except ValueError as exc:
            raise MaicError(f"{name}: {exc}") from None
        if not weeks or not weeks[0] <= monday <= weeks[-1]:
            span = f"{weeks[0]} to {weeks[-1]}" if weeks else "none yet"
            raise MaicError(f"{name}: {monday} is not a week of the shared history ({span})")
        return monday

    def listed(name: str) -> tuple[str, ...]:
        parts = [part.strip() for raw in args.getlist(name) for part in raw.split(",")]
        if any(not part for part in parts):
            raise MaicError(f"{name}: an empty value; name each one, or leave {name} out for all")
        return tuple(sorted(set(parts)))

    as_at = parse_as_at(args["as_at"]) if "as_at" in args else None
    return shared.SharedQuery(week_from=week("week_from"), week_to=week("week_to"), area_codes=listed("area"),
                              metrics=listed("metric"), as_at=as_at)


def picture_for(query: shared.SharedQuery) -> shared.SharedPicture:
    """The shared picture for a question, kept per data version (maic.sharing.kept)."""
    return kept.kept_picture(current_app, session_for(current_app), query)


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


def question() -> shared.SharedQuery:
    return query_from_args(request.args, shared_weeks(current_app.config, utcnow().date()))


def json_body(picture: shared.SharedPicture) -> kept.KeptBody:
    return kept.KeptBody(current_app.json.response(
        picture_json(picture, current_app.config["MAIC_PROTECTIVE_MARKING"])).get_data())


def csv_body(picture: shared.SharedPicture) -> kept.KeptBody:
    return kept.KeptBody(picture_csv(picture, current_app.config["MAIC_PROTECTIVE_MARKING"]).encode(),
                         f"shared-{picture.lrf_code}.csv")


def answer(form: str, build) -> kept.KeptBody:
    """The answer kept for this question (maic.sharing.kept): the token and its permission were checked first."""
    return kept.kept_answer(current_app, session_for(current_app), form, question(), g.api_actor.username, build)


@bp.get("/shared")
def shared_json():
    return Response(answer("json", json_body).body, mimetype=current_app.json.mimetype)


@bp.get("/shared.csv")
def shared_csv():
    found = answer("csv", csv_body)
    return Response(found.body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{found.filename}"'})


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
    return jsonify(document_for(current_app.config, session_for(current_app), utcnow().date()))


def document_for(config, db, today: dt.date) -> dict:
    """This instance's document: the area codes, metric keys and weeks it accepts, so schema-valid is accepted.
    Area codes and metric keys are public facts (ONS codes, the catalogue); no figure is in it."""
    return openapi.document(config["MAIC_PROTECTIVE_MARKING"],
                            areas=[a.code for a in shared.shared_areas(db)] + [shared.ALL_AREAS],
                            metrics=[m.key for m in shared.shareable_metrics(db)],
                            weeks=week_names(shared_weeks(config, today)))


def week_names(weeks: list[dt.date]) -> list[str]:
    """Each week as the API accepts it: its Monday, then the same weeks as ISO weeks (2024-W37)."""
    return [w.isoformat() for w in weeks] + [f"{w.isocalendar().year}-W{w.isocalendar().week:02d}" for w in weeks]


def init_app(app) -> None:
    from maic.web.auth_views import csrf

    csrf.exempt(bp)  # GET only, token auth, no cookies: nothing for CSRF to protect
    app.register_blueprint(bp)
