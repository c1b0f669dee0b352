"""Thin Dash callbacks: read inputs, check permission, call maic, hand plain data to layouts."""

from __future__ import annotations


def register(app) -> None:
    from callbacks import overview, router

    router.register(app)
    overview.register(app)
