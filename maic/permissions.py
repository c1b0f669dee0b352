"""The one policy: which role may do which action. Every route, callback and API call asks here.

Actions are plain strings so that routes and callbacks can name them; an unknown action is refused.
"""

from __future__ import annotations

from typing import Protocol

from maic.errors import Forbidden
from maic.models import Role


class Actor(Protocol):
    role: str
    agency_id: int | None


VIEW_PICTURE = "picture.view"
DRILL_DOWN = "picture.drill_down"
EXPORT = "picture.export"
VIEW_SHARED = "shared.view"
UPLOAD_OWN = "returns.upload_own"
UPLOAD_ANY = "returns.upload_any"
VOID_RETURN = "returns.void"
VIEW_RETURNS = "returns.view"
ADMIN = "admin"
# A user's own notifications and choices (issue 14): every user role; each sees only their own.
NOTIFICATIONS = "notifications.own"
# Briefing packs (issue 13): the Briefings page and its downloads; approving a Warn and Inform brief.
VIEW_BRIEFINGS = "briefings.view"
APPROVE_BRIEF = "briefings.approve"
# Whether anything changed since a number the page already has: reveals no figure, so every role may ask.
DATA_VERSION = "picture.data_version"
# The shared API, asked by a neighbour's system with a bearer token (the same rules as a neighbour user).
API_SHARED = "api.shared"
# Not actions but route rules (maic/web/access.py): anyone, or anyone signed in whatever their role.
PUBLIC = "public"
SIGNED_IN = "signed_in"

# An API token acts with this role: it is not a user role and no user can hold it.
API_TOKEN_ROLE = "api_token"

_ALL_INTERNAL = {Role.ADMIN, Role.ANALYST, Role.VIEWER, Role.AGENCY_LEAD}

POLICY: dict[str, frozenset[str]] = {
    VIEW_PICTURE: frozenset(_ALL_INTERNAL),
    DRILL_DOWN: frozenset({Role.ADMIN, Role.ANALYST, Role.VIEWER}),
    EXPORT: frozenset({Role.ADMIN, Role.ANALYST, Role.VIEWER}),
    VIEW_SHARED: frozenset({Role.ADMIN, Role.ANALYST, Role.VIEWER, Role.NEIGHBOUR}),
    UPLOAD_OWN: frozenset({Role.AGENCY_LEAD}),
    UPLOAD_ANY: frozenset({Role.ADMIN, Role.ANALYST}),
    VOID_RETURN: frozenset({Role.ADMIN, Role.ANALYST}),
    VIEW_RETURNS: frozenset({Role.ADMIN, Role.ANALYST, Role.AGENCY_LEAD}),
    ADMIN: frozenset({Role.ADMIN}),
    NOTIFICATIONS: frozenset({*_ALL_INTERNAL, Role.NEIGHBOUR}),
    VIEW_BRIEFINGS: frozenset({Role.ADMIN, Role.ANALYST, Role.VIEWER}),
    APPROVE_BRIEF: frozenset({Role.ADMIN, Role.ANALYST}),
    DATA_VERSION: frozenset({*_ALL_INTERNAL, Role.NEIGHBOUR}),
    API_SHARED: frozenset({API_TOKEN_ROLE}),
}

ROLES: tuple[str, ...] = (*(r.value for r in Role), API_TOKEN_ROLE)


def allowed_rule(actor: Actor | None, rule: str) -> bool:
    """A route or callback rule: PUBLIC, SIGNED_IN (any user role, not a token) or an action."""
    if rule == PUBLIC:
        return True
    if rule == SIGNED_IN:
        return actor is not None and getattr(actor, "role", None) in {r.value for r in Role}
    return allowed(actor, rule)


def allowed(actor: Actor | None, action: str) -> bool:
    if actor is None or not getattr(actor, "role", None):
        return False
    return actor.role in POLICY.get(action, frozenset())


def require(actor: Actor | None, action: str) -> None:
    if not allowed(actor, action):
        raise Forbidden("you do not have permission to do this")


def may_submit_for(actor: Actor | None, agency_id: int) -> bool:
    if allowed(actor, UPLOAD_ANY):
        return True
    return allowed(actor, UPLOAD_OWN) and actor.agency_id == agency_id
