"""The pages: each a path, a nav label and the permission it needs. Data only, imports no page module.

The router (which builds each page), the navigation and the guard (callbacks/_guard.py, which refuses a
page a role may not open) all read PAGES, so imports run one way: router -> page modules -> _guard -> pages.
"""

from __future__ import annotations

from dataclasses import dataclass

from maic import permissions


@dataclass(frozen=True)
class Page:
    path: str
    label: str
    action: str
    in_nav: bool = True


PAGES: list[Page] = [
    Page("/dash/", "Common picture", permissions.VIEW_PICTURE),
    Page("/dash/returns", "Returns", permissions.VIEW_RETURNS),
    Page("/dash/admin/scheduler", "Scheduler", permissions.ADMIN),
    Page("/dash/shared", "Shared view", permissions.VIEW_SHARED),
    Page("/dash/briefings", "Briefings", permissions.VIEW_BRIEFINGS),
    Page("/dash/admin", "Admin", permissions.ADMIN),
    # issue 14: reached from the header's count, so not in the navigation; the outbox is the admins'.
    Page("/dash/notifications", "Notifications", permissions.NOTIFICATIONS, in_nav=False),
    Page("/dash/admin/outbox", "Outbox", permissions.ADMIN),
]


def _normal(path: str | None) -> str:
    return (path or "/dash/").rstrip("/") + "/"


def page_for(pathname: str | None) -> Page | None:
    wanted = _normal(pathname)
    return next((p for p in PAGES if _normal(p.path) == wanted), None)


def nav_for(current) -> tuple[tuple[str, str], ...]:
    return tuple((p.label, p.path) for p in PAGES if p.in_nav and permissions.allowed(current, p.action))


def home_for(current) -> str | None:
    """The first page a role can use: where a bookmark to a page it cannot use sends it."""
    return next((p.path for p in PAGES if p.in_nav and permissions.allowed(current, p.action)), None)
