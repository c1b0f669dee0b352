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

from maic.models import LRF, Agency, CurrentCoverage, Return
from maic.picture.core import PictureQuery, _kept, area_ids_in_scope, live_from_summary, source, weeks_in
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
    area_ids = area_ids_in_scope(session, home)
    if not area_ids:
        return []
    weeks = weeks_in(session, home, area_ids)
    agencies = list(_kept(session, ("home agencies",), lambda: session.scalars(sa.select(Agency.id).join(LRF).where(
        LRF.is_home.is_(True), Agency.active.is_(True), Agency.kind != NEIGHBOUR_KIND)).all()))
    received: dict[dt.date, int] = {}
    if agencies and weeks:
        received = dict(session.execute(_agencies_in_by_week(home, agencies, weeks[-1], weeks[0])).all())
    return [WeekStatus(w, int(received.get(w, 0)), len(agencies), deadline_for(w, deadline_rule, tz) <= at)
            for w in weeks]


def _agencies_in_by_week(query: PictureQuery, agencies: list[int], week_from: dt.date, week_to: dt.date):
    """week -> how many of these agencies have a value in the picture from a return of theirs. Live, from the
    coverage the database keeps (a few rows a week); as at a past time, from the rows then visible."""
    if live_from_summary(query):
        return (sa.select(CurrentCoverage.week, sa.func.count(sa.distinct(CurrentCoverage.agency_id)))
                .where(CurrentCoverage.agency_id.in_(agencies), CurrentCoverage.week.between(week_from, week_to))
                .group_by(CurrentCoverage.week))
    src = source(query)
    return (sa.select(src.week, sa.func.count(sa.distinct(Return.agency_id)))
            .join(Return, Return.id == src.return_id)
            .where(Return.agency_id.in_(agencies), src.condition, src.week.between(week_from, week_to))
            .group_by(src.week))


def default_week(statuses: list[WeekStatus]) -> dt.date | None:
    """The newest quotable week; the newest week with figures when none is quotable yet; None with no figures."""
    return next((s.week for s in statuses if s.quotable), statuses[0].week if statuses else None)
