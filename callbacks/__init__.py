"""Thin Dash callbacks: read inputs, check permission, call maic, hand plain data to layouts."""

from __future__ import annotations


def register(app) -> None:
    from callbacks import admin, overview, router, shared

    router.register(app)
    overview.register(app)
    shared.register(app)
    admin.register(app)
    from callbacks import returns, scheduler  # issue 4

    returns.register(app)
    scheduler.register(app)
    from callbacks import notifications  # issue 14

    notifications.register(app)

    from callbacks import briefings  # issue 13

    briefings.register(app)
