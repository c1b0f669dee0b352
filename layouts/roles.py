"""Roles in words, wherever a person reads one (the stored keys such as agency_lead are for code)."""

from __future__ import annotations

ROLE_WORDS = {"admin": "Administrator", "analyst": "Analyst", "viewer": "Viewer", "agency_lead": "Agency lead",
              "neighbour": "Neighbouring LRF"}


def role_words(role: str) -> str:
    return ROLE_WORDS.get(role, role.replace("_", " "))
