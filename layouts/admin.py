"""The admin page: users, agencies, metric settings, API tokens, federation sources and the audit log.

Plain data in (lists of rows of text and dropdown options), components out; callbacks/admin.py fills them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dash import dcc, html

from layouts import ids
from layouts.components import scroll_box
from layouts.roles import ROLE_WORDS
from layouts.scheduler import HeartbeatView, heartbeat_box

ROLE_OPTIONS = [{"label": words, "value": key} for key, words in ROLE_WORDS.items()]
TOKEN_SCOPE = ("A token reads this LRF's shared figures through the API (/api/v1): the metrics marked shareable, "
               "area by week, with small counts withheld, exactly as the neighbours' shared view shows them. It "
               "cannot upload, see the full common picture or change anything. \"For LRF\" records which "
               "neighbouring LRF holds it; it does not widen what the token can read.")


@dataclass
class AdminData:
    users: list[tuple] = field(default_factory=list)
    agencies: list[tuple] = field(default_factory=list)
    metrics: list[tuple] = field(default_factory=list)
    tokens: list[tuple] = field(default_factory=list)
    federation: list[tuple] = field(default_factory=list)
    user_options: list[dict] = field(default_factory=list)
    agency_options: list[dict] = field(default_factory=list)
    lrf_options: list[dict] = field(default_factory=list)
    metric_options: list[dict] = field(default_factory=list)
    token_options: list[dict] = field(default_factory=list)
    action_options: list[str] = field(default_factory=list)
    scheduler: HeartbeatView | None = None


def grid(headers: list[str], rows: list[tuple], caption: str) -> html.Div:
    return scroll_box(caption, html.Table(className="admin", children=[
        html.Caption(caption),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in headers])),
        html.Tbody([html.Tr([html.Td("" if v is None else str(v)) for v in row]) for row in rows]),
    ]))


def _field(label: str, component) -> html.Div:
    return html.Div(className="control", children=[html.Label(label, htmlFor=component.id), component])


def _dropdown(ident: str, options, placeholder: str = "", multi: bool = False) -> dcc.Dropdown:
    return dcc.Dropdown(id=ident, options=options, placeholder=placeholder, multi=multi)


def body(data: AdminData) -> html.Div:
    """The lists, re-drawn after every change."""
    return html.Div([
        grid(["id", "username", "name", "role", "agency", "LRF", "active", "wrong tries (15 min)", "last login"], data.users, "Users"),
        grid(["slug", "name", "kind", "LRF", "active"], data.agencies, "Agencies"),
        grid(["key", "label", "shareable", "RAG basis", "amber", "red"], data.metrics, "Metric settings"),
        grid(["id", "name", "starts with", "LRF", "created by", "expires", "last used", "state"], data.tokens,
             "API tokens"),
        grid(["LRF", "base URL", "active", "last pulled", "their as at", "last result"], data.federation,
             "Federation: neighbour instances we pull"),
    ])


def layout(data: AdminData) -> html.Div:
    return html.Div([
        html.H1("Administration"),
        html.Div(id=ids.ADMIN_SCHEDULER, role="status", children=[
            heartbeat_box(data.scheduler) if data.scheduler else None,
            html.A("Scheduled jobs and their last runs", href="/dash/admin/scheduler")]),
        html.Div(id=ids.ADMIN_MESSAGE, role="status", **{"aria-live": "polite"}),
        html.Section(className="admin-forms", children=[
            html.H2("Users"),
            html.H3("Add a user"),
            html.Div(className="controls", children=[
                _field("New username", dcc.Input(id=ids.ADMIN_USER_NAME, type="text", maxLength=120)),
                _field("Name shown", dcc.Input(id=ids.ADMIN_USER_DISPLAY, type="text", maxLength=200)),
                _field("Role", _dropdown(ids.ADMIN_USER_ROLE, ROLE_OPTIONS, "role")),
                _field("Agency (agency leads)", _dropdown(ids.ADMIN_USER_AGENCY, data.agency_options, "agency")),
                _field("LRF (neighbours)", _dropdown(ids.ADMIN_USER_LRF, data.lrf_options, "LRF")),
            ]),
            html.Button("Create user", id=ids.ADMIN_USER_CREATE, className="button"),
            html.H3("Change a user"),
            html.Div(className="controls", children=[
                _field("Existing user", _dropdown(ids.ADMIN_USER_ID, data.user_options, "choose a user")),
                _field("New role", _dropdown(ids.ADMIN_ROLE_SET, ROLE_OPTIONS, "role")),
                _field("Their agency (agency leads)", _dropdown(ids.ADMIN_ROLE_SET_AGENCY, data.agency_options,
                                                                "agency")),
                _field("Their LRF (neighbours)", _dropdown(ids.ADMIN_ROLE_SET_LRF, data.lrf_options, "LRF")),
            ]),
            html.Button("Change role", id=ids.ADMIN_USER_SET_ROLE, className="button"),
            html.Button("Disable", id=ids.ADMIN_USER_DISABLE, className="button"),
            html.Button("Enable", id=ids.ADMIN_USER_ENABLE, className="button"),
            html.Button("Reset password", id=ids.ADMIN_USER_RESET, className="button"),
            secret_slot("user"),
            html.H2("Agencies"),
            html.Div(className="controls", children=[
                _field("Agency", _dropdown(ids.ADMIN_AGENCY_SLUG, data.agency_options, "choose an agency"))]),
            html.Button("Switch active / inactive", id=ids.ADMIN_AGENCY_TOGGLE, className="button"),
            html.H2("Metric settings"),
            html.P("Choose a metric: its current settings are filled in. Only what you change is saved.",
                   className="muted"),
            html.Div(className="controls", children=[
                _field("Metric", _dropdown(ids.ADMIN_METRIC_KEY, data.metric_options, "choose a metric")),
                _field("Shared with neighbours", dcc.Checklist(id=ids.ADMIN_METRIC_SHAREABLE,
                                                               options=[{"label": " shareable", "value": "yes"}])),
                _field("Amber at", dcc.Input(id=ids.ADMIN_METRIC_AMBER, type="number", min=0, step="any")),
                _field("Red at", dcc.Input(id=ids.ADMIN_METRIC_RED, type="number", min=0, step="any")),
            ]),
            html.P(id=ids.ADMIN_METRIC_UNIT, className="muted"),
            html.Button("Save metric settings", id=ids.ADMIN_METRIC_SAVE, className="button"),
            dcc.Store(id=ids.ADMIN_METRIC_LOADED),
            html.Div(id=ids.ADMIN_METRIC_REVIEW, className="alert", hidden=True, children=[
                html.Div(id=ids.ADMIN_METRIC_REVIEW_TEXT),
                html.Button("Yes, save this change", id=ids.ADMIN_METRIC_CONFIRM, className="button"),
                html.Button("Cancel", id=ids.ADMIN_METRIC_CANCEL, className="button"),
            ]),
            html.Div(id=ids.ADMIN_METRIC_MESSAGE, role="status", **{"aria-live": "polite"}),
            html.H2("API tokens"),
            html.P(TOKEN_SCOPE, id=ids.ADMIN_TOKEN_SCOPE, className="muted"),
            html.Div(className="controls", children=[
                _field("Held by", dcc.Input(id=ids.ADMIN_TOKEN_NAME, type="text", maxLength=120)),
                _field("For LRF (who holds it)", _dropdown(ids.ADMIN_TOKEN_LRF, data.lrf_options, "LRF")),
                _field("Days valid", dcc.Input(id=ids.ADMIN_TOKEN_DAYS, type="number", min=1, max=730, step=1, value=90)),
            ]),
            html.Button("Create token (shown once)", id=ids.ADMIN_TOKEN_CREATE, className="button"),
            secret_slot("token"),
            html.Div(className="controls", children=[
                _field("Token", _dropdown(ids.ADMIN_TOKEN_ID, data.token_options, "choose a token"))]),
            html.Button("Revoke token", id=ids.ADMIN_TOKEN_REVOKE, className="button"),
            html.H2("Federation"),
            html.Div(className="controls", children=[
                _field("Neighbour LRF", _dropdown(ids.ADMIN_FED_LRF, data.lrf_options, "LRF")),
                _field("Their address", dcc.Input(id=ids.ADMIN_FED_URL, type="url", maxLength=500)),
                _field("Their token for us", dcc.Input(id=ids.ADMIN_FED_TOKEN, type="password", maxLength=200)),
            ]),
            html.Button("Save neighbour instance", id=ids.ADMIN_FED_SAVE, className="button"),
        ]),
        html.Div(id=ids.ADMIN_BODY, children=body(data)),
        html.H2("Audit log"),
        html.Div(className="controls", children=[
            _field("Who", dcc.Input(id=ids.ADMIN_AUDIT_ACTOR, type="text", debounce=True)),
            _field("Action", _dropdown(ids.ADMIN_AUDIT_ACTION, data.action_options, "any action")),
            _field("Since (YYYY-MM-DD)", dcc.Input(id=ids.ADMIN_AUDIT_SINCE, type="text", debounce=True)),
        ]),
        html.P(html.A("Download the filtered audit log (CSV)", id=ids.ADMIN_AUDIT_EXPORT, href="/exports/audit.csv",
                      className="button")),
        html.Div(id=ids.ADMIN_AUDIT_TABLE),
    ])


def metric_change(before: str, after: str, losses: list[str]) -> list:
    """The before and after of a metric change, and what it takes away (shown before it is saved)."""
    return [html.P("This change takes something away. Check it before saving:"),
            html.Ul([html.Li(loss) for loss in losses]),
            html.P(["Before: ", html.Strong(before)]), html.P(["After: ", html.Strong(after)])]


def metric_saved(label: str, before: str, after: str) -> html.Div:
    if before == after:
        return html.Div(className="notice", children=f"{label}: nothing changed, nothing saved ({after}).")
    return html.Div(className="notice", children=[f"Saved {label}. ", html.Br(), f"Before: {before}.", html.Br(),
                                                  f"After: {after}."])


def message(text: str, secret: str | None = None, error: bool = False) -> html.Div:
    children = [text]
    if secret:
        children += [" ", html.Code(secret, className="secret"),
                     html.Span(" (copy it now: it is not shown again)", className="muted")]
    return html.Div(className="alert" if error else "notice", children=children)


def secret_slot(slot: str) -> html.Div:
    """Where a new password or token appears: beside the form that made it, not at the top of the page."""
    return html.Div(id={"type": ids.ADMIN_SECRET, "slot": slot}, role="status", **{"aria-live": "polite"})


def secret_box(text: str, secret: str, slot: str) -> html.Div:
    return html.Div(className="notice copy-secret", children=[
        html.Span(text),
        html.Code(secret, id={"type": ids.ADMIN_SECRET_VALUE, "slot": slot}, className="secret"),
        html.Button("Copy", id={"type": ids.ADMIN_SECRET_COPY, "slot": slot}, type="button",
                    className="button secondary small", **{"aria-label": "Copy the secret"}),
        html.Span("Copy it now: it is not shown again.", className="muted"),
    ])


def audit_table(rows: list[tuple]) -> html.Div:
    return grid(["at (UTC)", "who", "action", "target", "detail", "from"], rows, f"Latest {len(rows)} events")
