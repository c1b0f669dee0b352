"""Which figures in issued packs have been revised since: each pack's quoted figures (metric|area|week -> value)
against the bitemporal values now (or as at a later pack's time), and what changed since the last pack.

Only packs some observation was recorded or superseded after can differ: the timestamp indexes find those
first, so checking every pack costs little when nothing changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates
from maic.briefing.document import Document, Section
from maic.models import Area, BriefingPack, Metric, Observation, PackStatus
from maic.picture.core import visible_at

TILE_NAMES = {"released_week": "Released this week", "released_to_date": "Released to date",
              "released_nfa": "Released with no fixed abode", "households_in_ta": "Households in TA",
              "shortfall": "Accommodation shortfall (places)", "services_red": "Services at red"}


@dataclass(frozen=True)
class RevisedFigure:
    metric: str
    area: str
    week: dt.date
    in_pack: int | None  # None: the pack had no figure (a return arrived since)
    now: int | None  # None: the figure is gone (its return voided)


def _split(key: str) -> tuple[str, str, dt.date]:
    metric, area, week = key.split("|")
    return metric, area, dt.date.fromisoformat(week)


def revised_figures(session: orm.Session, pack: BriefingPack, at: dt.datetime | None = None, *,
                    since: dt.datetime | None = None) -> list[RevisedFigure]:
    """The figures the pack quoted whose value differs now (or as at `at`) from the value in the pack. A figure
    is also revised when the pack had none for an area and week it quoted that metric for, and one has come.
    With `since`, only figures a row recorded or superseded after `since` touched are looked at."""
    quoted: dict[str, int] = (pack.document or {}).get("figures", {})
    if not quoted:
        return []
    keys = [_split(k) for k in quoted]
    metrics = sorted({m for m, _a, _w in keys})
    codes = sorted({a for _m, a, _w in keys})
    first, last = min(w for _m, _a, w in keys), max(w for _m, _a, w in keys)
    after = max(pack.as_at, since) if since is not None else pack.as_at
    later = sa.or_(Observation.recorded_at > after, Observation.superseded_at > after)
    current = Observation.superseded_at.is_(None) if at is None else visible_at(at)
    if at is not None:
        later = sa.and_(later, sa.or_(Observation.recorded_at <= at, Observation.superseded_at <= at))
    scope = (Metric.key.in_(metrics), Area.code.in_(codes), Observation.week.between(first, last))
    base = (sa.select(Metric.key, Area.code, Observation.week).join(Metric, Metric.id == Observation.metric_id)
            .join(Area, Area.id == Observation.area_id))
    touched = {(m, a, w) for m, a, w in session.execute(base.where(*scope, later)).all()}
    if not touched:
        return []
    now = {(m, a, w): int(v) for m, a, w, v in session.execute(
        sa.select(Metric.key, Area.code, Observation.week, Observation.value)
        .join(Metric, Metric.id == Observation.metric_id).join(Area, Area.id == Observation.area_id)
        .where(*scope, current)).all() if (m, a, w) in touched}
    weeks_by_metric: dict[str, set[dt.date]] = {}
    for m, _a, w in keys:
        weeks_by_metric.setdefault(m, set()).add(w)
    out = []
    for m, a, w in sorted(touched):
        if w not in weeks_by_metric.get(m, set()):
            continue
        before = quoted.get(f"{m}|{a}|{w.isoformat()}")
        if before != now.get((m, a, w)):
            out.append(RevisedFigure(m, a, w, before, now.get((m, a, w))))
    return out


def packs_existing_at(session: orm.Session, audience: str, at: dt.datetime) -> list[BriefingPack]:
    """The packs for an audience that existed at `at` and were as at an earlier time, newest first: what a pack as
    at `at` compares itself with (so rebuilding it later gives the same text)."""
    return list(session.scalars(sa.select(BriefingPack).where(
        BriefingPack.audience == audience, BriefingPack.as_at < at, BriefingPack.made_at <= at,
        BriefingPack.status != PackStatus.DRAFT).order_by(BriefingPack.as_at.desc(), BriefingPack.id.desc())))


def version_text(session: orm.Session, doc: Document, at: dt.datetime) -> str:
    week = dt.date.fromisoformat(doc.week) if doc.week else None
    earlier = [p for p in packs_existing_at(session, doc.audience, at) if p.week == week]
    return f"Version {len(earlier) + 1} for this week"


def since_last_section(session: orm.Session, doc: Document, at: dt.datetime, tz: str) -> Section:
    section = Section("since", "Since the last pack")
    earlier = packs_existing_at(session, doc.audience, at)
    if not earlier:
        section.sentences.append("This is the first pack: there is no earlier pack to compare with.")
        return section
    last = earlier[0]
    before = (last.document or {}).get("headline", {})
    week_words = f"week beginning {dates.day(last.week)}" if last.week else "no week"
    section.sentences.append(f"The last pack was as at {dates.moment(last.as_at, tz)} ({week_words}).")
    for key, name in TILE_NAMES.items():
        then, now = before.get(key), doc.headline.get(key)
        if key in before and key in doc.headline and then != now:
            section.bullets.append(f"{name}: {_n(then)} in the last pack, {_n(now)} in this one.")
    if not section.bullets:
        section.bullets.append("The headline figures are the same as in the last pack.")
    revised_lines = []
    for pack in earlier[:10]:
        found = revised_figures(session, pack, at)
        if found:
            sample = "; ".join(f"{f.metric.replace('_', ' ')}, {f.area}, week beginning {dates.day(f.week)}: "
                               f"{_n(f.in_pack)} then, {_n(f.now)} now" for f in found[:5])
            more = f" and {len(found) - 5} more" if len(found) > 5 else ""
            revised_lines.append(f"Pack {pack.id} (as at {dates.moment(pack.as_at, tz)}): {len(found)} figures "
                                 f"revised since it was issued: {sample}{more}.")
    section.notes = revised_lines or ["No figure in an earlier pack has been revised since it was issued."]
    return section


def _n(value: int | None) -> str:
    return "no figure" if value is None else f"{value:,}"
