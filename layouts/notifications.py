"""The Notifications page (every signed-in user: their own list, marked read one by one or all at once, and
their choices) and the admins' outbox page. Plain data in; no database."""

from __future__ import annotations

from dataclasses import dataclass

from dash import dcc, html

from layouts import ids
from layouts.components import notify_count_text, scroll_box


@dataclass(frozen=True)
class Item:
    id: int
    when: str
    subject: str
    body: str
    link: str
    unread: bool


@dataclass(frozen=True)
class Choice:
    kind: str
    label: str
    app: bool
    email: bool
    mandatory: bool


def count_text(unread: int | None) -> str:
    return notify_count_text(unread)


def item_list(items: list[Item]) -> html.Div:
    if not items:
        return html.P("No notifications yet.", className="muted")
    unread = sum(i.unread for i in items)
    return html.Div([
        html.P(f"{unread} unread of the newest {len(items)}.", className="muted", id="notify-summary"),
        html.Ul(className="notifications", children=[
            html.Li(className="notification" + (" unread" if item.unread else ""), children=[
                html.H2(item.subject, className="subject"),
                html.P(item.when + (" · unread" if item.unread else " · read"), className="muted small"),
                # Text as text: white-space keeps the lines; nothing in it is read as HTML or Markdown.
                html.Pre(item.body, className="body"),
                html.P(dcc.Link("Open", href=item.link)) if item.link.startswith("/") else
                (html.P(html.A("Open", href=item.link)) if item.link else None),
                html.Button("Mark read", id={"type": ids.NOTIFY_READ, "index": item.id},
                            className="button small secondary", **{"aria-label": f"Mark read: {item.subject}"})
                if item.unread else None,
            ]) for item in items]),
    ])


def _choices(ident: str, label: str, choices: list[Choice], channel: str, email_note: str) -> html.Fieldset:
    options = [{"label": c.label + (" (always on)" if c.mandatory else ""), "value": c.kind,
                "disabled": c.mandatory} for c in choices]
    value = [c.kind for c in choices if getattr(c, channel)]
    return html.Fieldset(className="control", children=[
        html.Legend(label),
        html.P(email_note, className="muted small") if email_note else None,
        dcc.Checklist(id=ident, options=options, value=value, labelClassName="choice"),
    ])


def layout(items: list[Item], choices: list[Choice], email_note: str) -> html.Div:
    return html.Div([
        html.H1("Notifications"),
        html.P("Reminders, receipts and alerts for you. They are also emailed when an administrator has set your "
               "address.", className="lede"),
        html.Button("Mark all read", id=ids.NOTIFY_READ_ALL, className="button secondary"),
        html.Div(id=ids.NOTIFY_LIST, children=item_list(items)),
        html.H2("What I get"),
        html.Div(className="controls", children=[
            _choices(ids.NOTIFY_PREFS_APP, "In the app", choices, "app", ""),
            _choices(ids.NOTIFY_PREFS_EMAIL, "By email", choices, "email", email_note),
        ]),
        html.Button("Save my choices", id=ids.NOTIFY_PREFS_SAVE, className="button"),
        html.Div(id=ids.NOTIFY_PREFS_MESSAGE, role="status"),
    ])


OUTBOX_HEADERS = ["id", "created", "kind", "channel", "to", "state", "tries", "next try", "sent", "reason"]
STATES = ["pending", "sending", "sent", "failed", "off"]


def outbox_table(rows: list[tuple], counts: dict[str, int]) -> html.Div:
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATES)
    return html.Div([
        html.P(f"Email and webhook messages: {summary}.", className="muted"),
        scroll_box("Outbox", html.Table(className="admin outbox", children=[
            html.Caption(f"Outbox: the newest {len(rows)}" if len(rows) > 1 else "Outbox"),
            html.Thead(html.Tr([html.Th(h, scope="col") for h in OUTBOX_HEADERS])),
            html.Tbody([html.Tr(className=f"outbox-{row[5]}", children=[html.Td(str(v)) for v in row])
                        for row in rows]),
        ])) if rows else html.P("Nothing in this state.", className="muted"),
    ])


def _field(label: str, component) -> html.Div:
    return html.Div(className="control", children=[html.Label(label, htmlFor=component.id), component])


def addresses(users: list[tuple[str, str, str]]) -> html.Div:
    """users: (user name, role, address or '')."""
    return scroll_box("Email addresses", html.Table(className="admin", children=[
        html.Caption("Email addresses"),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in ("user", "role", "email address")])),
        html.Tbody([html.Tr([html.Td(name), html.Td(role), html.Td(address or "none: in the app only")])
                    for name, role, address in users]),
    ]))


def outbox_layout(rows: list[tuple], counts: dict[str, int], users: list[tuple[str, str, str]],
                  settings_note: str) -> html.Div:
    return html.Div([
        html.H1("Outbox"),
        html.P("Every email and webhook message: waiting, sent, or failed with the reason. In-app notifications "
               "are delivered when they are written and are not listed here.", className="lede"),
        html.P(settings_note, className="muted"),
        html.Div(className="controls", children=[
            html.Fieldset(className="control", children=[
                html.Legend("Show"),
                dcc.RadioItems(id=ids.OUTBOX_STATE, value="not-sent", inline=True, options=[
                    {"label": "waiting or failed", "value": "not-sent"}, *({"label": s, "value": s} for s in STATES),
                    {"label": "everything", "value": "all"}]),
            ]),
            _field("Message id", dcc.Input(id=ids.OUTBOX_RETRY_ID, type="number", min=1, step=1)),
            html.Button("Retry this message", id=ids.OUTBOX_RETRY, className="button secondary"),
            html.Button("Retry every failed or unsent message", id=ids.OUTBOX_RETRY_ALL, className="button secondary"),
        ]),
        html.Div(id=ids.OUTBOX_MESSAGE, role="status"),
        html.Div(id=ids.OUTBOX_TABLE, children=outbox_table(rows, counts)),
        html.H2("Email addresses"),
        html.P("Notifications are emailed to the address set here; without one, a user gets them in the app only.",
               className="muted"),
        html.Div(className="controls", children=[
            _field("User name", dcc.Input(id=ids.OUTBOX_EMAIL_USER, type="text", maxLength=120)),
            _field("Email address (empty: app only)", dcc.Input(id=ids.OUTBOX_EMAIL, type="email", maxLength=254)),
            html.Button("Save the address", id=ids.OUTBOX_EMAIL_SAVE, className="button secondary"),
        ]),
        html.Div(id=ids.OUTBOX_ADDRESSES, children=addresses(users)),
    ])
