"""Which week the picture opens on: the newest week whose returns are due and mostly in.

A week is "due" once its return deadline (maic.weeks.deadline_for) has passed at the query time, and
"quotable" when it is due and at least QUOTABLE_SHARE of the home LRF's active agencies have a return
carrying it. A newer week with figures that is not quotable is "in progress": it can be chosen, and every
figure from it says how many returns are in. With no quotable week yet, the newest week with figures is
shown (marked in progress) rather than nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import LRF, Agency, Observation, Return
from maic.picture.core import PictureQuery, areas_in_scope, source, visible
from maic.reference import NEIGHBOUR_KIND
from maic.weeks import deadline_for

QUOTABLE_SHARE = 0.75


@dataclass(frozen=True)
class WeekStatus:
    week: dt.date
    returns_in: int
    returns_due: int
    due: bool  # the deadline has passed at the query time

    @property
    def quotable(self) -> bool:
        return self.due and self.returns_due > 0 and self.returns_in >= QUOTABLE_SHARE * self.returns_due

    @property
    def complete(self) -> bool:
        return self.due and self.returns_in >= self.returns_due


def week_statuses(session: orm.Session, query: PictureQuery, *, deadline_rule: str = "TUE 12:00",
                  tz: str = "Europe/London") -> list[WeekStatus]:
    """Every week with a home-LRF figure as at the query time, newest first, with its returns in and due."""
    at = query.at()
    home = replace(query, area_codes=(), include_neighbours=False)
    area_ids = areas_in_scope(session, home)["id"].tolist()
    if not area_ids:
        return []
    weeks = session.scalars(sa.select(Observation.week).distinct()
                            .where(visible(home), Observation.area_id.in_(area_ids))
                            .order_by(Observation.week.desc())).all()
    src = source(home)
    agencies = session.scalars(sa.select(Agency.id).join(LRF).where(
        LRF.is_home.is_(True), Agency.active.is_(True), Agency.kind != NEIGHBOUR_KIND)).all()
    received: dict[dt.date, int] = {}
    if agencies and weeks:
        received = dict(session.execute(
            sa.select(src.week, sa.func.count(sa.distinct(Return.agency_id)))
            .join(Return, Return.id == src.return_id)
            .where(Return.agency_id.in_(agencies), src.condition, src.week.between(weeks[-1], weeks[0]))
            .group_by(src.week)).all())
    return [WeekStatus(w, int(received.get(w, 0)), len(agencies), deadline_for(w, deadline_rule, tz) <= at)
            for w in weeks]


def default_week(statuses: list[WeekStatus]) -> dt.date | None:
    """The newest quotable week; the newest week with figures when none is quotable yet; None with no figures."""
    return next((s.week for s in statuses if s.quotable), statuses[0].week if statuses else None)
