"""The admin page's callbacks: one for the buttons that change something, one for the audit log filter.

Each checks permissions.ADMIN, then calls maic.admin / maic.sharing.tokens, which audit every change.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlencode

import sqlalchemy as sa
from dash import MATCH, Input, Output, State, ctx, no_update

from callbacks import _guard
from callbacks._common import db, user
from callbacks.scheduler import heartbeat as scheduler_heartbeat
from layouts import admin as view
from layouts import ids
from layouts.roles import role_words
from maic import admin, permissions
from maic.errors import MaicError
from maic.models import LRF, utcnow
from maic.sharing import tokens


def _fmt(moment) -> str:
    return "" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def admin_data() -> view.AdminData:
    session = db()
    now = utcnow()
    users = admin.list_users(session, now)
    agencies = admin.list_agencies(session)
    metrics = admin.list_metrics(session)
    token_rows = tokens.list_tokens(session)
    lrfs = session.execute(sa.select(LRF.code, LRF.name).order_by(LRF.name)).all()
    return view.AdminData(
        users=[(u.id, u.username, u.display_name, role_words(u.role), u.agency, u.lrf, "yes" if u.active else "no",
                str(u.wrong_tries or ""), _fmt(u.last_login_at)) for u in users],
        agencies=[(slug, name, kind, lrf, "yes" if active else "no") for slug, name, kind, lrf, active in agencies],
        metrics=[(m.key, m.label, "yes" if m.shareable else "no", m.rag_basis or "", m.rag_amber, m.rag_red)
                 for m in metrics],
        tokens=[(t.id, t.name, t.prefix + "…", t.lrf_code or "", t.created_by, _fmt(t.expires_at) or "never",
                 _fmt(t.last_used_at) or "never", t.state(now)) for t in token_rows],
        federation=[(code, s.base_url, "yes" if s.active else "no", _fmt(s.last_pulled_at), _fmt(s.last_as_at),
                     s.last_status) for s, code in admin.list_federation(session)],
        user_options=[{"label": f"{u.username} ({role_words(u.role)})", "value": u.id} for u in users],
        agency_options=[{"label": f"{name} ({slug})", "value": slug} for slug, name, *_ in agencies],
        lrf_options=[{"label": name, "value": code} for code, name in lrfs],
        metric_options=[{"label": m.label, "value": m.key} for m in metrics],
        token_options=[{"label": f"{t.id}: {t.name} ({t.state(now)})", "value": t.id} for t in token_rows],
        action_options=admin.audit_actions(session),
        scheduler=scheduler_heartbeat(),
    )


def render_page():
    permissions.require(user(), permissions.ADMIN)
    return view.layout(admin_data())


def admin_action(trigger: str | None, fields: dict):
    """Do what the pressed button asks; return (message, refreshed lists)."""
    permissions.require(user(), permissions.ADMIN)
    session = db()
    by = user().username
    secret = None
    try:
        if trigger == ids.ADMIN_USER_CREATE:
            created, secret = admin.add_user(session, by, fields["name"] or "", fields["role"] or "",
                                             display_name=fields["display"] or "", agency_slug=fields["agency"],
                                             lrf_code=fields["lrf"])
            text = f"Created {role_words(created.role).lower()} '{created.username}' with the password"
        elif trigger in (ids.ADMIN_USER_SET_ROLE, ids.ADMIN_USER_DISABLE, ids.ADMIN_USER_ENABLE, ids.ADMIN_USER_RESET):
            if not fields["user_id"]:
                raise MaicError("choose a user first")
            uid = int(fields["user_id"])
            if trigger == ids.ADMIN_USER_SET_ROLE:
                changed = admin.set_user_role(session, by, uid, fields["new_role"] or "",
                                              agency_slug=fields["new_agency"], lrf_code=fields["new_lrf"])
                text = f"'{changed.username}' is now {role_words(changed.role).lower()}"
            elif trigger == ids.ADMIN_USER_RESET:
                secret = admin.reset_password(session, by, uid)
                text = "The new password is"
            else:
                changed = admin.set_user_active(session, by, uid, trigger == ids.ADMIN_USER_ENABLE)
                text = f"'{changed.username}' is {'enabled' if changed.active else 'disabled'}"
        elif trigger == ids.ADMIN_AGENCY_TOGGLE:
            if not fields["agency_slug"]:
                raise MaicError("choose an agency first")
            current = {slug: active for slug, _n, _k, _l, active in admin.list_agencies(session)}
            admin.set_agency_active(session, by, fields["agency_slug"], not current.get(fields["agency_slug"], True))
            text = f"Agency {fields['agency_slug']} is now {'active' if not current[fields['agency_slug']] else 'inactive'}"
        elif trigger == ids.ADMIN_TOKEN_CREATE:
            info, secret = tokens.create_token(session, fields["token_name"] or "", created_by=by,
                                               lrf_code=fields["token_lrf"],
                                               days=tokens.token_days(fields["token_days"]))
            text = f"Token {info.id} for '{info.name}':"
        elif trigger == ids.ADMIN_TOKEN_REVOKE:
            if not fields["token_id"]:
                raise MaicError("choose a token first")
            info = tokens.revoke_token(session, int(fields["token_id"]), by=by)
            text = f"Token {info.id} ('{info.name}') is revoked"
        elif trigger == ids.ADMIN_FED_SAVE:
            admin.save_federation_source(session, by, fields["fed_lrf"] or "", fields["fed_url"] or "",
                                         fields["fed_token"] or None)
            text = f"Saved the instance for {fields['fed_lrf']}"
        else:
            return no_update, no_update, no_update, no_update
        session.commit()
    except MaicError as exc:
        session.rollback()
        return view.message(exc.message, error=True), no_update, [], []
    if secret is None:
        return view.message(text), view.body(admin_data()), [], []
    # The secret is shown where the admin pressed the button (the top message only says where it is).
    slot = "token" if trigger == ids.ADMIN_TOKEN_CREATE else "user"
    where = "under Create token" if slot == "token" else "under the user buttons"
    boxes = {s: view.secret_box(text, secret, s) if s == slot else [] for s in ids.SECRET_SLOTS}
    return view.message(f"{text.rstrip(':')} (shown {where})"), view.body(admin_data()), boxes["user"], boxes["token"]


def _settings(stored: dict) -> admin.MetricSettings:
    return admin.MetricSettings(stored["shareable"], stored["amber"], stored["red"])


def _number(value) -> float | None:
    return None if value in (None, "") else float(value)


def load_metric(key: str | None):
    """A chosen metric's current settings into the form, and what its thresholds are measured in."""
    permissions.require(user(), permissions.ADMIN)
    if not key:
        return [], None, None, "", None, True, None
    session = db()
    current = admin.metric_settings(session, key)
    unit = f"Amber and red are {admin.threshold_unit(session, key)}. Blank means no threshold."
    return (["yes"] if current.shareable else [], current.amber, current.red, unit,
            {"key": key, **dataclasses.asdict(current)}, True, None)


def form_changes(loaded: dict, shareable: list | None, amber, red) -> dict:
    """Only the fields the admin changed since the metric was loaded: the others are never written."""
    shown = {"shareable": "yes" in (shareable or []), "amber": _number(amber), "red": _number(red)}
    return {name: value for name, value in shown.items() if value != loaded[name]}


def save_metric(trigger: str | None, key: str | None, shareable, amber, red, loaded: dict | None):
    """Returns (review hidden, review text, message, loaded settings, refreshed lists)."""
    permissions.require(user(), permissions.ADMIN)
    if trigger == ids.ADMIN_METRIC_CANCEL:
        return True, None, view.message("Nothing saved."), no_update, no_update
    if not key or not loaded or loaded.get("key") != key:
        return True, None, view.message("choose a metric first", error=True), no_update, no_update
    session = db()
    changes = form_changes(loaded, shareable, amber, red)
    try:
        label = admin.metric_label(session, key)
        before = admin.metric_settings(session, key)
        after = admin.proposed_settings(before, changes)
        losses = admin.settings_losses(before, after)
        if losses and trigger != ids.ADMIN_METRIC_CONFIRM:
            return False, view.metric_change(before.text(), after.text(), losses), None, no_update, no_update
        before, after = admin.update_metric(session, user().username, key, changes)
        session.commit()
    except MaicError as exc:
        session.rollback()
        return True, None, view.message(exc.message, error=True), no_update, no_update
    return (True, None, view.metric_saved(label, before.text(), after.text()),
            {"key": key, **dataclasses.asdict(after)}, view.body(admin_data()))


def audit_panel(actor: str | None, action: str | None, since: str | None):
    permissions.require(user(), permissions.ADMIN)
    args = {"actor": actor or "", "action": action or "", "since": since or ""}
    wanted = admin.AuditFilter.from_args(args)
    rows = [(_fmt(e.at), e.actor, e.action, e.target, e.detail, e.remote_addr)
            for e in admin.audit_events(db(), wanted, limit=50)]
    query = urlencode({k: v for k, v in args.items() if v})
    return view.audit_table(rows), "/exports/audit.csv" + (f"?{query}" if query else "")


FIELDS = {
    "name": ids.ADMIN_USER_NAME, "display": ids.ADMIN_USER_DISPLAY, "role": ids.ADMIN_USER_ROLE,
    "agency": ids.ADMIN_USER_AGENCY, "lrf": ids.ADMIN_USER_LRF, "user_id": ids.ADMIN_USER_ID,
    "new_role": ids.ADMIN_ROLE_SET, "new_agency": ids.ADMIN_ROLE_SET_AGENCY, "new_lrf": ids.ADMIN_ROLE_SET_LRF,
    "agency_slug": ids.ADMIN_AGENCY_SLUG, "token_name": ids.ADMIN_TOKEN_NAME,
    "token_lrf": ids.ADMIN_TOKEN_LRF, "token_days": ids.ADMIN_TOKEN_DAYS, "token_id": ids.ADMIN_TOKEN_ID,
    "fed_lrf": ids.ADMIN_FED_LRF, "fed_url": ids.ADMIN_FED_URL, "fed_token": ids.ADMIN_FED_TOKEN,
}
BUTTONS = [ids.ADMIN_USER_CREATE, ids.ADMIN_USER_SET_ROLE, ids.ADMIN_USER_DISABLE, ids.ADMIN_USER_ENABLE,
           ids.ADMIN_USER_RESET, ids.ADMIN_AGENCY_TOGGLE, ids.ADMIN_TOKEN_CREATE,
           ids.ADMIN_TOKEN_REVOKE, ids.ADMIN_FED_SAVE]


def register(app) -> None:
    for key in (f"{ids.ADMIN_MESSAGE}.children", f"{ids.ADMIN_BODY}.children", f"{ids.ADMIN_AUDIT_TABLE}.children",
                f"{ids.ADMIN_AUDIT_EXPORT}.href", f"{{{ids.ADMIN_SECRET}}}.children", f"{{{ids.ADMIN_SECRET_COPY}}}.children",
                f"{{{ids.ADMIN_SECRET}}}.title"):
        _guard.rule(key, permissions.ADMIN)
    for key in (f"{ids.ADMIN_METRIC_SHAREABLE}.value", f"{ids.ADMIN_METRIC_AMBER}.value",
                f"{ids.ADMIN_METRIC_RED}.value", f"{ids.ADMIN_METRIC_UNIT}.children", f"{ids.ADMIN_METRIC_LOADED}.data",
                f"{ids.ADMIN_METRIC_REVIEW}.hidden", f"{ids.ADMIN_METRIC_REVIEW_TEXT}.children",
                f"{ids.ADMIN_METRIC_MESSAGE}.children"):
        _guard.rule(key, permissions.ADMIN)

    @app.callback(Output(ids.ADMIN_MESSAGE, "children"), Output(ids.ADMIN_BODY, "children"),
                  *(Output({"type": ids.ADMIN_SECRET, "slot": slot}, "children") for slot in ids.SECRET_SLOTS),
                  *(Input(b, "n_clicks") for b in BUTTONS),
                  *(State(i, "value") for i in FIELDS.values()),
                  prevent_initial_call=True)
    def admin_buttons(*args):
        values = args[len(BUTTONS):]
        return admin_action(ctx.triggered_id, dict(zip(FIELDS, values, strict=True)))

    # A new secret is brought into view once the page has settled: the same answer redraws the tables above it
    # (a new user, the audit log's new line), which can push it below the window (seen on a busy machine).
    app.clientside_callback(
        """function(children) {
            if (children && !(Array.isArray(children) && children.length === 0)) {
                requestAnimationFrame(function() { requestAnimationFrame(function() {
                    var box = document.querySelector(".copy-secret");  // one at a time: the other slot is empty
                    if (box) { box.scrollIntoView({block: "nearest"}); }
                }); });
            }
            return window.dash_clientside.no_update;
        }""", Output({"type": ids.ADMIN_SECRET, "slot": MATCH}, "title"),
        Input({"type": ids.ADMIN_SECRET, "slot": MATCH}, "children"), prevent_initial_call=True)

    app.clientside_callback(
        """function(n, secret) {
            if (!n || !navigator.clipboard) { return window.dash_clientside.no_update; }
            navigator.clipboard.writeText(secret);
            return "Copied";
        }""", Output({"type": ids.ADMIN_SECRET_COPY, "slot": MATCH}, "children"),
        Input({"type": ids.ADMIN_SECRET_COPY, "slot": MATCH}, "n_clicks"),
        State({"type": ids.ADMIN_SECRET_VALUE, "slot": MATCH}, "children"), prevent_initial_call=True)

    @app.callback(Output(ids.ADMIN_METRIC_SHAREABLE, "value"), Output(ids.ADMIN_METRIC_AMBER, "value"),
                  Output(ids.ADMIN_METRIC_RED, "value"), Output(ids.ADMIN_METRIC_UNIT, "children"),
                  Output(ids.ADMIN_METRIC_LOADED, "data"), Output(ids.ADMIN_METRIC_REVIEW, "hidden"),
                  Output(ids.ADMIN_METRIC_MESSAGE, "children"),
                  Input(ids.ADMIN_METRIC_KEY, "value"), prevent_initial_call=True)
    def metric_chosen(key):
        return load_metric(key)

    @app.callback(Output(ids.ADMIN_METRIC_REVIEW, "hidden", allow_duplicate=True),
                  Output(ids.ADMIN_METRIC_REVIEW_TEXT, "children"),
                  Output(ids.ADMIN_METRIC_MESSAGE, "children", allow_duplicate=True),
                  Output(ids.ADMIN_METRIC_LOADED, "data", allow_duplicate=True),
                  Output(ids.ADMIN_BODY, "children", allow_duplicate=True),
                  Input(ids.ADMIN_METRIC_SAVE, "n_clicks"), Input(ids.ADMIN_METRIC_CONFIRM, "n_clicks"),
                  Input(ids.ADMIN_METRIC_CANCEL, "n_clicks"),
                  State(ids.ADMIN_METRIC_KEY, "value"), State(ids.ADMIN_METRIC_SHAREABLE, "value"),
                  State(ids.ADMIN_METRIC_AMBER, "value"), State(ids.ADMIN_METRIC_RED, "value"),
                  State(ids.ADMIN_METRIC_LOADED, "data"), prevent_initial_call=True)
    def metric_saved(_save, _confirm, _cancel, key, shareable, amber, red, loaded):
        return save_metric(ctx.triggered_id, key, shareable, amber, red, loaded)

    @app.callback(Output(ids.ADMIN_AUDIT_TABLE, "children"), Output(ids.ADMIN_AUDIT_EXPORT, "href"),
                  Input(ids.ADMIN_AUDIT_ACTOR, "value"), Input(ids.ADMIN_AUDIT_ACTION, "value"),
                  Input(ids.ADMIN_AUDIT_SINCE, "value"), Input(ids.DATA_VERSION, "data"))
    def audit_log(actor, action, since, _version):
        return audit_panel(actor, action, since)
