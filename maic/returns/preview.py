"""The preview step: what committing a file would do, computed without writing anything.

Every error and warning by row and column, and per week and metric the agency's total now and after the
commit. The upload page shows it; commit (ingest_return) checks the same bytes again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm

from maic.errors import Issue
from maic.models import Agency, Metric, Observation, Return, agency_area
from maic.returns.ingest import IngestSettings, Submission, check_submission


@dataclass(frozen=True)
class TotalChange:
    week: dt.date
    metric: str
    label: str
    current: int | None  # None: no figure yet for any of the agency's areas
    after: int

    @property
    def change(self) -> int | None:
        return None if self.current is None else self.after - self.current


@dataclass
class Preview:
    filename: str
    sha256: str
    agency_slug: str
    size_bytes: int
    rows: int = 0
    weeks: list[dt.date] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    totals: list[TotalChange] = field(default_factory=list)
    duplicate_of: int | None = None

    @property
    def can_commit(self) -> bool:
        return not self.errors


def build_preview(session: orm.Session, submission: Submission, settings: IngestSettings) -> Preview:
    preview = Preview(submission.filename, submission.sha256, submission.agency_slug, len(submission.data))
    preview.duplicate_of = session.scalar(
        sa.select(Return.id).join(Agency).where(Agency.slug == submission.agency_slug,
                                                Return.sha256 == submission.sha256))
    checked = check_submission(session, submission, settings)
    preview.errors = checked.errors
    preview.warnings = [i for i in checked.issues if i.severity != "error"]
    if preview.errors:
        return preview
    preview.rows = len(checked.rows)
    preview.weeks = checked.weeks
    agency_id = session.scalar(sa.select(Agency.id).where(Agency.slug == submission.agency_slug))
    metric_ids = sorted({r.metric_id for r in checked.rows})
    labels = dict(session.execute(sa.select(Metric.id, Metric.label).where(Metric.id.in_(metric_ids))).all())
    keys = dict(session.execute(sa.select(Metric.id, Metric.key).where(Metric.id.in_(metric_ids))).all())
    area_ids = sa.select(agency_area.c.area_id).where(agency_area.c.agency_id == agency_id)
    current: dict[tuple[int, int, dt.date], int] = {}
    for start in range(0, len(preview.weeks), 400):
        rows = session.execute(
            sa.select(Observation.metric_id, Observation.area_id, Observation.week, Observation.value)
            .where(Observation.superseded_at.is_(None), Observation.week.in_(preview.weeks[start:start + 400]),
                   Observation.metric_id.in_(metric_ids), Observation.area_id.in_(area_ids)))
        current.update({(m, a, w): v for m, a, w, v in rows})
    after = dict(current)
    after.update({(r.metric_id, r.area_id, r.week): r.value for r in checked.rows})
    groups = sorted({(r.week, r.metric_id) for r in checked.rows}, key=lambda g: (g[0], keys[g[1]]))
    for week, metric_id in groups:
        now = [v for (m, _a, w), v in current.items() if m == metric_id and w == week]
        new = sum(v for (m, _a, w), v in after.items() if m == metric_id and w == week)
        preview.totals.append(TotalChange(week, keys[metric_id], labels[metric_id], sum(now) if now else None, new))
    return preview
