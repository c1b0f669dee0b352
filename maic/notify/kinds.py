"""The kinds of notification, who may get each, and which ones a role cannot switch off."""

from __future__ import annotations

from dataclasses import dataclass

from maic.models import Role

APP, EMAIL, WEBHOOK = "app", "email", "webhook"
CHANNELS = (APP, EMAIL)  # the channels a person chooses between; webhooks are set per audience by the admin

# Audiences: who a message is for. A webhook is configured per audience (MAIC_NOTIFY_WEBHOOKS).
LEADS, MAIC, SCG, NEIGHBOURS = "leads", "maic", "scg", "neighbours"
AUDIENCES = (LEADS, MAIC, SCG, NEIGHBOURS)
AUDIENCE_ROLES: dict[str, frozenset[str]] = {
    LEADS: frozenset({Role.AGENCY_LEAD}),
    MAIC: frozenset({Role.ANALYST, Role.ADMIN}),
    SCG: frozenset({Role.VIEWER, Role.ANALYST, Role.ADMIN}),
    NEIGHBOURS: frozenset({Role.NEIGHBOUR}),
}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    roles: frozenset[str]
    # Roles that cannot switch this kind off (a lead's reminders and late notices).
    mandatory_for: frozenset[str] = frozenset()


_MAIC_ROLES = frozenset({Role.ANALYST, Role.ADMIN})

KINDS: dict[str, Kind] = {k.key: k for k in (
    Kind("reminder", "Reminder before my agency's return is due", frozenset({Role.AGENCY_LEAD}),
         frozenset({Role.AGENCY_LEAD})),
    Kind("late", "Notice when my agency's return is late", frozenset({Role.AGENCY_LEAD}),
         frozenset({Role.AGENCY_LEAD})),
    Kind("receipt", "Receipt for every return sent (accepted or refused)",
         frozenset({Role.AGENCY_LEAD, Role.ANALYST, Role.ADMIN})),
    Kind("red", "A service turns red in an area", _MAIC_ROLES),
    Kind("shortfall", "An accommodation shortfall appears or grows in an area", _MAIC_ROLES),
    Kind("pull_failing", "A feed or a neighbour's pull keeps failing", _MAIC_ROLES),
    Kind("quarantine", "A file lands in quarantine", _MAIC_ROLES),
    Kind("pack_revised", "A correction changes a figure in a briefing pack already issued", _MAIC_ROLES),
    Kind("pack_issued", "A new briefing pack is ready",
         frozenset({Role.VIEWER, Role.ANALYST, Role.ADMIN, Role.NEIGHBOUR})),
    Kind("shared_update", "New shared figures from this LRF", frozenset({Role.NEIGHBOUR})),
)}


def kinds_for(role: str) -> list[Kind]:
    return [k for k in KINDS.values() if role in k.roles]


def mandatory(kind: str, role: str) -> bool:
    return role in KINDS[kind].mandatory_for
