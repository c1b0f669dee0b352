"""The Notifications page and the unread count in the header (every signed-in user, their own only), and the
admins' outbox page."""

from __future__ import annotations

import sqlalchemy as sa
from dash import ALL, Input, Output, State, ctx, html, no_update
from flask import current_app

from callbacks import _guard
from callbacks._common import db, setting, user
from layouts import ids
from layouts import notifications as view
from layouts.roles import role_words
from maic import admin, dates, permissions
from maic.errors import MaicError
from maic.models import User
from maic.notify import admin as outbox_admin
from maic.notify import outbox, prefs
from maic.notify.kinds import APP, EMAIL

NOTIFICATIONS = permissions.NOTIFICATIONS


def _items() -> list[view.Item]:
    tz = setting("MAIC_TIMEZONE")
    return [view.Item(n.id, dates.moment(n.created_at, tz), n.subject, n.body, n.link, n.read_at is None)
            for n in outbox.inbox(db(), user().id)]


def _me() -> User:
    me = db().get(User, user().id)
    if me is None:
        raise MaicError("your account is gone: sign in again")
    return me


def render_page():
    permissions.require(user(), NOTIFICATIONS)
    me = _me()
    choices = [view.Choice(p.kind, p.label, p.on[APP], p.on[EMAIL], p.mandatory) for p in prefs.preferences(db(), me)]
    if not me.email:
        note = "No email address is set for you: an administrator sets it."
    elif not setting("MAIC_SMTP_HOST"):
        note = "This instance sends no email yet (no mail server is configured)."
    else:
        note = ""
    return view.layout(_items(), choices, note)


def unread(_ticks=None) -> str:
    permissions.require(user(), NOTIFICATIONS)
    return view.count_text(outbox.unread_count(db(), user().id))


def mark_read(_clicks, _all_clicks):
    """Mark one (the button pressed) or all of the user's own notifications read; outputs: list, header count."""
    permissions.require(user(), NOTIFICATIONS)
    trigger = ctx.triggered_id
    if trigger is None or not any(t["value"] for t in ctx.triggered):
        return no_update, no_update
    session = db()
    one = [int(trigger["index"])] if isinstance(trigger, dict) else None
    outbox.mark_read(session, user().id, one)
    session.commit()
    return view.item_list(_items()), unread()


def save_choices(_clicks, app_kinds, email_kinds):
    permissions.require(user(), NOTIFICATIONS)
    session = db()
    wanted = {(k, APP) for k in app_kinds or []} | {(k, EMAIL) for k in email_kinds or []}
    prefs.set_preferences(session, _me(), wanted)
    session.commit()
    return html.P("Your choices are saved.", className="muted")


# --- admins: the outbox ------------------------------------------------------------------------------


def _outbox_rows(state: str) -> list[tuple]:
    tz = setting("MAIC_TIMEZONE")
    out = []
    for row, to in outbox_admin.outbox(db(), state or outbox_admin.NOT_SENT):
        waiting = row.state == "pending"
        out.append((row.id, dates.moment(row.created_at, tz), row.kind, row.channel, to, row.state, row.attempts,
                     dates.moment(row.next_attempt_at, tz) if waiting else "",
                     dates.moment(row.sent_at, tz) if row.sent_at else "", row.last_error))
    return out


def _settings_note() -> str:
    config = current_app.config
    mail = f"email through {config['MAIC_SMTP_HOST']}:{config['MAIC_SMTP_PORT']}" if config["MAIC_SMTP_HOST"] \
        else "no email (MAIC_SMTP_HOST is not set: in-app only)"
    hooks = config["MAIC_NOTIFY_WEBHOOKS"]
    return f"This instance sends {mail}; webhooks: {'configured' if hooks else 'none'}."


def _addresses() -> list[tuple[str, str, str]]:
    return [(u.username, role_words(u.role), u.email or "")
            for u in db().scalars(sa.select(User).order_by(User.username))]


def render_outbox():
    permissions.require(user(), permissions.ADMIN)
    return view.outbox_layout(_outbox_rows(outbox_admin.NOT_SENT), outbox_admin.counts(db()),
                              _addresses(), _settings_note())


def outbox_action(state, _retry, _retry_all, _save, retry_id, email_user, email):
    """Outputs: the table, a message, the addresses (after one changes)."""
    permissions.require(user(), permissions.ADMIN)
    session = db()
    trigger = ctx.triggered_id
    text, options = "", no_update
    if trigger == ids.OUTBOX_RETRY:
        if not retry_id:
            raise MaicError("write the id of the message to retry")
        done = outbox_admin.retry(session, user().username, int(retry_id))
        text = f"Message {int(retry_id)} will be sent again." if done else \
            f"Message {int(retry_id)} is not failed or unsent: nothing to retry."
    elif trigger == ids.OUTBOX_RETRY_ALL:
        text = f"{outbox_admin.retry(session, user().username)} message(s) will be sent again."
    elif trigger == ids.OUTBOX_EMAIL_SAVE:
        found = session.scalar(sa.select(User.id).where(User.username == (email_user or "").strip().lower()))
        if found is None:
            raise MaicError("write the user name of an existing user")
        changed = admin.set_user_email(session, user().username, found, email or "")
        text = f"Notifications for '{changed.username}' go to {changed.email}." if changed.email else \
            f"'{changed.username}' gets notifications in the app only."
        options = view.addresses(_addresses())
    session.commit()
    message = html.P(text, className="muted") if text else ""
    return view.outbox_table(_outbox_rows(state), outbox_admin.counts(session)), message, options


def register(app) -> None:
    _guard.rule(f"{ids.NOTIFY_COUNT}.children", NOTIFICATIONS)
    _guard.rule(f"{ids.NOTIFY_LIST}.children", NOTIFICATIONS)
    _guard.rule(f"{ids.NOTIFY_PREFS_MESSAGE}.children", NOTIFICATIONS)
    _guard.rule(f"{ids.OUTBOX_TABLE}.children", permissions.ADMIN)
    _guard.rule(f"{ids.OUTBOX_MESSAGE}.children", permissions.ADMIN)
    _guard.rule(f"{ids.OUTBOX_ADDRESSES}.children", permissions.ADMIN)
    app.callback(Output(ids.NOTIFY_COUNT, "children"), Input(ids.NOTIFY_TIMER, "n_intervals"),
                 prevent_initial_call=True)(unread)
    app.callback(Output(ids.NOTIFY_LIST, "children"), Output(ids.NOTIFY_COUNT, "children", allow_duplicate=True),
                 Input({"type": ids.NOTIFY_READ, "index": ALL}, "n_clicks"), Input(ids.NOTIFY_READ_ALL, "n_clicks"),
                 prevent_initial_call=True)(mark_read)
    app.callback(Output(ids.NOTIFY_PREFS_MESSAGE, "children"), Input(ids.NOTIFY_PREFS_SAVE, "n_clicks"),
                 State(ids.NOTIFY_PREFS_APP, "value"), State(ids.NOTIFY_PREFS_EMAIL, "value"),
                 prevent_initial_call=True)(save_choices)
    app.callback(Output(ids.OUTBOX_TABLE, "children"), Output(ids.OUTBOX_MESSAGE, "children"),
                 Output(ids.OUTBOX_ADDRESSES, "children"),
                 Input(ids.OUTBOX_STATE, "value"), Input(ids.OUTBOX_RETRY, "n_clicks"),
                 Input(ids.OUTBOX_RETRY_ALL, "n_clicks"), Input(ids.OUTBOX_EMAIL_SAVE, "n_clicks"),
                 State(ids.OUTBOX_RETRY_ID, "value"), State(ids.OUTBOX_EMAIL_USER, "value"),
                 State(ids.OUTBOX_EMAIL, "value"), prevent_initial_call=True)(outbox_action)
