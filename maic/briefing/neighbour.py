"""The neighbours' pack: exactly the shared view's figures and rules (maic.picture.shared), nothing more.

Shareable metrics only, the home LRF's areas only, small counts shown as <threshold and others withheld ([c]),
no drill-down and no chart (a chart cannot draw "<5" honestly). The weeks default to the shared view's: the
latest eight weeks of the shared history.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates, picture
from maic.briefing.document import NEIGHBOUR, Document, Section, Table, figure_key
from maic.briefing.request import BriefingSettings, PackRequest
from maic.errors import MaicError
from maic.models import Incident, utcnow
from maic.picture import PictureQuery, shared
from maic.reference import first_week

SHOWN_WEEKS = 8


def shared_question(session: orm.Session, request: PackRequest, settings: BriefingSettings,
                    as_at: dt.datetime, now: dt.datetime) -> tuple[shared.SharedQuery, dt.date]:
    """The shared view's question for the request, and the shared history's first week."""
    history_from = first_week(session, settings.incident_start)
    whole = shared.shared_picture(session, shared.SharedQuery(as_at=as_at), threshold=settings.threshold,
                                  history_from=history_from, history_days=settings.history_days, now=now)
    week_to = request.week or whole.latest_week
    if week_to is None:
        return shared.SharedQuery(as_at=as_at), history_from
    week_from = request.week_from or max(history_from, week_to - (SHOWN_WEEKS - 1) * picture.WEEK)
    return shared.SharedQuery(week_from=week_from, week_to=week_to, as_at=as_at), history_from


def neighbour_document(session: orm.Session, request: PackRequest, settings: BriefingSettings,
                       as_at: dt.datetime, now: dt.datetime | None = None) -> Document:
    now = now or utcnow()
    if request.area:
        raise MaicError("the neighbours' pack covers every shared area: leave the area out")
    question, history_from = shared_question(session, request, settings, as_at, now)
    found = shared.shared_picture(session, question, threshold=settings.threshold, history_from=history_from,
                                  history_days=settings.history_days, now=now)
    incident = session.scalar(sa.select(Incident).order_by(Incident.start))
    threshold = settings.threshold
    week = found.week_to
    doc = Document(audience=NEIGHBOUR, title="Neighbours' pack: the shared picture",
                   lrf=found.lrf_name, incident=incident.name if incident else "", marking=settings.marking,
                   handling="For neighbouring LRFs' resilience partners. Figures are protected: counts from 1 to "
                            f"{threshold - 1} are shown as <{threshold} and cells marked [c] are withheld so that a "
                            "small count cannot be worked out. Do not publish.",
                   as_at=found.as_at.isoformat(), as_at_text=dates.moment(found.as_at, settings.tz),
                   week=week.isoformat() if week else None,
                   week_text=(f"Weeks beginning {dates.day(found.week_from)} to {dates.day(week)}" if week
                              else "No shared figures yet"),
                   scope_text=f"{found.lrf_name}: shareable figures by area", version="", demo=settings.demo)
    doc.version = f"Data as at {doc.as_at_text}"
    if week is None or not found.cells:
        doc.key_points = ["No shared figures yet."]
        return doc
    index = found.index()
    doc.basis = [f"The same figures and rules as the shared view and the shared API (/api/v1/shared) as at "
                 f"{doc.as_at_text}, for the {len(found.weeks)} weeks shown."]
    for metric in found.metrics:
        cell = index.get((metric.key, shared.ALL_AREAS, week, shared.WEEK))
        if cell is not None:
            covers = f" (covers {cell.covers})" if cell.covers else ""
            doc.key_points.append(f"{metric.label}, all areas, week beginning {dates.day(week)}: {cell.shown}"
                                  f"{covers}.")
        doc.sections.append(metric_section(found, metric, index))
    doc.sections.append(Section("rules", "How to read these figures", bullets=[
        f"<{threshold}: a count from 1 to {threshold - 1}, not shown exactly.",
        f"[c]: withheld, because with a total or the week before it would reveal a count below {threshold}.",
        "no return: no figure was sent for that area and week (a missing return is not a zero).",
        "A total marked with the areas it covers lacks some areas' returns.",
        "Per 10,000 residents uses the ONS mid-year population and is never worked out from a protected count.",
        "Rates and shares are rounded half up (12.5 is 13), once, where shown.",
    ]))
    keys = [m.key for m in found.metrics]
    raw = picture.values(session, PictureQuery(as_at=found.as_at), keys, found.week_from, week)
    doc.figures = {figure_key(m, a, w): int(v) for m, a, w, v in raw.itertuples(index=False)}
    return doc


def metric_section(found: shared.SharedPicture, metric: shared.SharedMetric, index: dict) -> Section:
    """One shareable metric as the shared view's table: area by week, to date, per 10,000 residents."""
    weeks = found.weeks
    flow = metric.aggregation == "sum"
    wanted = [(w, shared.WEEK) for w in weeks]
    columns = ["Area", *(dates.day_month(w) for w in weeks)]
    if flow:
        wanted.append((weeks[-1], shared.TO_DATE))
        columns.append("To date")
    wanted.append((weeks[-1], shared.PER_10K))
    columns.append("Per 10,000")
    shown_codes = {c.area_code for c in found.cells}
    rows = []
    for code, name in [*((a.code, a.name) for a in found.areas if a.code in shown_codes),
                       (shared.ALL_AREAS, f"All areas ({found.lrf_name})")]:
        row = [[name, ""]]
        for week, measure in wanted:
            cell = index.get((metric.key, code, week, measure))
            text = cell.shown if cell else "no return"
            if cell is not None and cell.covers:
                text += f" (covers {cell.covers})"
            row.append([text, f"num {cell.status if cell else 'missing'}"])
        rows.append(row)
    return Section(f"m-{metric.key}", f"{metric.label} ({metric.unit})",
                   sentences=[metric.description] if metric.description else [],
                   tables=[Table(f"{metric.label} by area, weeks beginning {dates.day(weeks[0])} to "
                                 f"{dates.day(weeks[-1])}", columns, rows)])
