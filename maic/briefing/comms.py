"""The Warn and Inform brief: public-safe lines for the LRF's communications colleagues.

Marked OFFICIAL. National questions go to the Ministry of Justice. No service RAG, no area's pressure, no
figure below the disclosure threshold: counts are rounded as official statistics round them (to the nearest
5, halves up, as the Ministry of Justice rounds such tables), and a count below the threshold is given only
as "fewer than N". A draft until an analyst approves it (maic.briefing.store.approve_brief).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates, picture
from maic.briefing.content import pack_query
from maic.briefing.document import COMMS, Document, Section, Table, figure_key
from maic.briefing.request import HOME, BriefingSettings, PackRequest
from maic.errors import MaicError
from maic.models import Incident
from maic.rounding import whole

COMMS_MARKING = "OFFICIAL"
ROUND_TO = 5
COMMS_METRICS = ["releases_total", "releases_nfa"]


def rounded(count: int, threshold: int) -> int | None:
    """A count as it may be published: None when below the threshold (zero stays zero), otherwise to the
    nearest ROUND_TO, halves up (12.5 -> 15), never below the threshold."""
    if count == 0:
        return 0
    if count < threshold:
        return None
    return max(threshold, whole(count / ROUND_TO) * ROUND_TO)


def count_words(count: int | None, threshold: int, unit: str = "people") -> str:
    if count is None:
        return "no figure yet"
    shown = rounded(count, threshold)
    if shown is None:
        return f"fewer than {threshold} {unit}"
    if shown == 0:
        return f"no {unit}"
    return f"about {shown:,} {unit}"


def comms_document(session: orm.Session, request: PackRequest, settings: BriefingSettings,
                   as_at: dt.datetime) -> Document:
    if request.scope != HOME or request.area:
        raise MaicError("the Warn and Inform brief covers the home LRF as a whole: no area, no neighbours")
    query = pack_query(session, request, settings, as_at)
    home = picture.home_lrf(session)
    if home is None:
        raise MaicError("no home LRF: load the reference data first (maic reference load)")
    incident = session.scalar(sa.select(Incident).order_by(Incident.start))
    threshold = settings.threshold
    week = query.week_to
    doc = Document(audience=COMMS, title="Warn and Inform brief", lrf=home.name,
                   incident=incident.name if incident else "", marking=COMMS_MARKING,
                   handling="For the LRF's Warn and Inform group. Public-safe lines: every count is rounded to the "
                            f"nearest {ROUND_TO} and none below {threshold} is given. Use only once approved.",
                   as_at=as_at.isoformat(), as_at_text=dates.moment(as_at, settings.tz),
                   week=week.isoformat() if week else None,
                   week_text=dates.week_beginning(week) if week else "No week with returns yet",
                   scope_text=home.name, version="", demo=settings.demo, draft=True)
    doc.version = "Draft for approval"
    national = ("The early release scheme (SDS40) is a national scheme run by the Ministry of Justice. Questions "
                "about the scheme nationally (who is eligible, national numbers, release dates) go to the Ministry "
                "of Justice press office.")
    partnership = (f"Partners across {home.name} (police, probation, councils, health and housing) are working "
                   "together through the Local Resilience Forum to plan for people leaving prison, so that they "
                   "have support and somewhere to stay, and to keep communities safe.")
    doc.key_points = [national, partnership]
    if week is None:
        return doc
    heads = picture.headlines(session, query)
    tiles = {t.key: t for t in heads.tiles}
    released, to_date, nfa = tiles["released_week"], tiles["released_to_date"], tiles["released_nfa"]
    figures_lines = [
        f"In the week beginning {dates.day(week)}, {count_words(released.value, threshold)} were released from "
        f"prison into {home.name}.",
        f"Since the scheme began, {count_words(to_date.value, threshold)} have been released into {home.name}.",
    ]
    if nfa.value is not None:
        figures_lines.append(f"Of those released that week, {count_words(nfa.value, threshold)} had no fixed address "
                             "on release; councils and partners are working to find them accommodation.")
    doc.key_points += figures_lines
    by_area = picture.releases_by_area(session, query.__class__(week_to=week, week_from=week, as_at=query.as_at))
    rows = [[[a.name, ""], [count_words(a.count, threshold).replace("about ", "").replace(" people", ""), "num"]]
            for a in by_area.areas]
    doc.sections = [
        Section("areas", "People released by area this week", tables=[
            Table(f"People released by area, week beginning {dates.day(week)} (rounded to the nearest {ROUND_TO})",
                  ["Area", "Released"], rows)]),
        Section("rules", "How these figures are made", bullets=[
            f"Counts are rounded to the nearest {ROUND_TO}, halves up (12.5 becomes 15), as the Ministry of Justice "
            "rounds its published tables; a total is rounded from the exact figure, so rounded parts may not add up "
            "to it.",
            f"A count below {threshold} (other than none) is never given: it is shown as 'fewer than {threshold}'.",
            "These are local figures from the partners' weekly returns, as at the time above; they are not official "
            "statistics. National figures come from the Ministry of Justice.",
            "No service pressure ratings are given here: they are for the Strategic Coordinating Group.",
        ]),
    ]
    raw = picture.values(session, query.__class__(as_at=query.as_at), COMMS_METRICS,
                         picture.resolve_range(session, query)[0], week)
    doc.figures = {figure_key(m, a, w): int(v) for m, a, w, v in raw.itertuples(index=False)}
    return doc
