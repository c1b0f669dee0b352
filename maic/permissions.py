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
}


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
