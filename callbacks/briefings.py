"""The Briefings page: the packs kept as issued (with figures revised since), making a Warn and Inform draft and
approving it. Thin: check permission, call maic.briefing, hand plain data to layouts/briefings.py."""

from __future__ import annotations

from dash import ALL, Input, Output, ctx, no_update
from flask import current_app, request

from callbacks import _guard
from callbacks._common import db, setting, user
from layouts import briefings as view
from layouts import ids
from maic import briefing, dates, permissions
from maic.models import PackStatus

REVISED_LINES = 5


def _rows() -> list[view.PackRow]:
    session, tz = db(), setting("MAIC_TIMEZONE")
    can_approve = permissions.allowed(user(), permissions.APPROVE_BRIEF)
    rows = []
    for pack in briefing.list_packs(session):
        found = briefing.revised_figures(session, pack)
        rows.append(view.PackRow(
            pack.id, dates.moment(pack.made_at, tz), briefing.audience_name(pack.audience), pack.status,
            dates.day(pack.week) if pack.week else "—", dates.moment(pack.as_at, tz), pack.made_by, pack.sha256,
            f"/briefings/{pack.id}/file", pack.filename,
            [f"{f.metric.replace('_', ' ')}, {f.area}, week beginning {dates.day(f.week)}: "
             f"{'no figure' if f.in_pack is None else f'{f.in_pack:,}'} in the pack, "
             f"{'no figure' if f.now is None else f'{f.now:,}'} now" for f in found[:REVISED_LINES]], len(found),
            f"by {pack.approved_by}, {dates.moment(pack.approved_at, tz)}" if pack.approved_at else "",
            pack.status != PackStatus.DRAFT or can_approve))
    return rows


def render_page():
    permissions.require(user(), permissions.VIEW_BRIEFINGS)
    return view.layout(_rows(), permissions.allowed(user(), permissions.APPROVE_BRIEF))


def make_comms(n_clicks):
    if not n_clicks:
        return no_update, no_update
    permissions.require(user(), permissions.APPROVE_BRIEF)
    session = db()
    settings = briefing.BriefingSettings.from_config(current_app.config)
    fmt = briefing.HTML if briefing.chromium_problem(settings.chromium) else briefing.PDF
    pack = briefing.issue_pack(session, briefing.PackRequest(audience=briefing.COMMS, format=fmt),
                               user().username, settings=settings, remote_addr=request.remote_addr or "")
    session.commit()
    return (f"Warn and Inform brief {pack.id} made as a draft: read it, then approve it below.",
            view.table(_rows(), True))


def approve(clicks):
    if not any(clicks or []) or not isinstance(ctx.triggered_id, dict):
        return no_update, no_update
    permissions.require(user(), permissions.APPROVE_BRIEF)
    session = db()
    pack = briefing.approve_brief(session, int(ctx.triggered_id["pack"]), user().username,
                                  settings=briefing.BriefingSettings.from_config(current_app.config),
                                  remote_addr=request.remote_addr or "")
    session.commit()
    return f"Warn and Inform brief {pack.id} approved: its download is now the approved text.", view.table(_rows(), True)


def register(app) -> None:
    for key in (f"{ids.BRIEFINGS_MESSAGE}.children", f"{ids.BRIEFINGS_TABLE}.children"):
        _guard.rule(key, permissions.APPROVE_BRIEF)
    app.callback(Output(ids.BRIEFINGS_MESSAGE, "children"), Output(ids.BRIEFINGS_TABLE, "children"),
                 Input(ids.BRIEFINGS_COMMS, "n_clicks"), prevent_initial_call=True)(make_comms)
    app.callback(Output(ids.BRIEFINGS_MESSAGE, "children", allow_duplicate=True),
                 Output(ids.BRIEFINGS_TABLE, "children", allow_duplicate=True),
                 Input({"type": ids.BRIEFING_APPROVE, "pack": ALL}, "n_clicks"), prevent_initial_call=True)(approve)
