"""Check raw rows against the rules and the reference data; every problem named by row and column.

Rules: known area and metric; metric owned by the agency's kind; area in the agency's scope; a week
that is a Monday, not in the future and not before the incident; whole numbers >= 0 or blank (not
reported, never zero); one value per (metric, area, week).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import orm

from maic.csvsafe import FORMULA_STARTS
from maic.errors import Issue
from maic.models import Agency, Area, Metric, Observation
from maic.reference import NEIGHBOUR_KIND
from maic.returns.parse import ALL_BLANK, RawRow, shown
from maic.weeks import monday_of, parse_week

_WHOLE = re.compile(r"^\+?\d+(\.0+)?$")
MAX_VALUE = 10_000_000


@dataclass(frozen=True)
class CheckedRow:
    line: int
    week: dt.date
    area_id: int
    metric_id: int
    value: int
    value_column: str = "value"


@dataclass
class CheckedReturn:
    rows: list[CheckedRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def weeks(self) -> list[dt.date]:
        return sorted({r.week for r in self.rows})


@dataclass(frozen=True)
class Rules:
    today: dt.date
    incident_start: dt.date
    change_factor: float = 3.0




def formula_like(text: str) -> bool:
    """A cell a spreadsheet would run (=HYPERLINK(...), =cmd|..., @SUM, +A1, -2+3): never a count here."""
    if not text or text[0] not in FORMULA_STARTS:
        return False
    rest = text[1:].strip()
    return not (text[0] in "+-" and re.fullmatch(r"\d+(\.\d+)?", rest))


@dataclass
class AgencyScope:
    """What one agency may send: area codes in scope and metric keys it owns."""

    agency_id: int
    kind: str
    areas: dict[str, int]
    metrics: dict[str, int]
    all_areas: dict[str, int]
    all_metrics: dict[str, int]

    @classmethod
    def load(cls, session: orm.Session, agency: Agency) -> AgencyScope:
        all_areas = dict(session.execute(sa.select(Area.code, Area.id)).all())
        metric_rows = session.execute(sa.select(Metric.key, Metric.id, Metric.agency_kind, Metric.shareable)).all()
        if agency.kind == NEIGHBOUR_KIND:
            owned = {m.key: m.id for m in metric_rows if m.shareable}
        else:
            owned = {m.key: m.id for m in metric_rows if m.agency_kind == agency.kind}
        return cls(agency.id, agency.kind, {a.code: a.id for a in agency.areas}, owned,
                   all_areas, {m.key: m.id for m in metric_rows})


def parse_count(text: str) -> int:
    if text.isascii() and text.isdigit() and len(text) < 8:
        return int(text)  # the common case, by far
    cleaned = text.strip().replace(",", "") if re.fullmatch(r"\d{1,3}(,\d{3})+", text.strip()) else text.strip()
    if cleaned == "":
        raise ValueError("is empty: write 0 for none")
    if len(cleaned) > 40:
        raise ValueError(f"'{shown(text)}' is not a number")
    if cleaned.startswith("-") and _WHOLE.match(cleaned[1:]):
        raise ValueError(f"'{text}' is negative: counts are whole numbers from 0")
    if not _WHOLE.match(cleaned):
        try:
            float(cleaned)
        except ValueError:
            raise ValueError(f"'{shown(text)}' is not a number") from None
        raise ValueError(f"'{shown(text)}' is not a whole number")
    value = int(float(cleaned)) if "." in cleaned else int(cleaned)
    if value > MAX_VALUE:
        raise ValueError(f"{value:,} is larger than any plausible count ({MAX_VALUE:,})")
    return value


def validate_rows(rows: list[RawRow], scope: AgencyScope, rules: Rules) -> CheckedReturn:
    checked = CheckedReturn()
    seen: dict[tuple[str, str, dt.date], int] = {}
    this_week = monday_of(rules.today)
    week_cache: dict[str, dt.date | str] = {}
    reported_week_cells: set[tuple[int, str]] = set()
    for row in rows:
        problems: list[Issue] = []
        # Cheap first-character test before the full check (this loop runs for every row of a big return).
        starts = row.week[:1] + row.area_code[:1] + row.metric[:1] + row.value[:1]
        formulas = [(i, name) for i, name in enumerate(("week", "area_code", "metric", "value"))
                    if formula_like(getattr(row, name))] if not starts.isalnum() else None
        if formulas:
            for index, name in formulas:
                problems.append(Issue(row.line, row.column(index, name),
                                      f"'{shown(getattr(row, name))}' looks like a formula or command; formulas are "
                                      "never run here: type the value itself"))
            checked.issues.extend(problems)
            continue
        week = week_cache.get(row.week)
        if week is None:
            try:
                week = parse_week(row.week)
                if week > this_week:
                    week = f"{week.isoformat()} is in the future"
                elif week < rules.incident_start:
                    week = f"{week.isoformat()} is before the incident began ({rules.incident_start.isoformat()})"
            except ValueError as exc:
                week = str(exc)
            week_cache[row.week] = week
        if isinstance(week, str):
            if row.week_at is None:
                problems.append(Issue(row.line, row.column(0, "week"), week))
            elif row.week_at not in reported_week_cells:
                # The template's one week cell: report it once, where it is, not on every row.
                reported_week_cells.add(row.week_at)
                problems.append(Issue(row.week_at[0], row.week_at[1], week))
            else:
                problems.append(None)

        area_id = scope.areas.get(row.area_code)
        if area_id is None:
            if row.area_code in scope.all_areas:
                problems.append(Issue(row.line, row.column(1, "area_code"),
                                      f"{row.area_code} is not an area this agency reports for"))
            else:
                problems.append(Issue(row.line, row.column(1, "area_code"),
                                      f"'{shown(row.area_code)}' is not a known area code"))

        metric_id = scope.metrics.get(row.metric)
        if metric_id is None:
            if row.metric in scope.all_metrics:
                problems.append(Issue(row.line, row.column(2, "metric"),
                                      f"'{row.metric}' is reported by another kind of agency, "
                                      f"not by a {scope.kind.replace('_', ' ')} agency"))
            else:
                problems.append(Issue(row.line, row.column(2, "metric"), f"'{shown(row.metric)}' is not a known metric"))

        value = None  # a blank value is "not reported", as a blank template cell: checked above, then left out
        if row.value != "":
            try:
                value = parse_count(row.value)
            except ValueError as exc:
                problems.append(Issue(row.line, row.column(3, "value"), str(exc)))

        if not problems and value is not None:
            key = (row.metric, row.area_code, week)
            if key in seen:
                problems.append(Issue(row.line, None, f"a second value for {row.metric} in {row.area_code} for "
                                      f"{week.isoformat()} (first on row {seen[key]})"))
            else:
                seen[key] = row.line
        if problems:
            checked.issues.extend(p for p in problems if p is not None)
        elif value is not None:
            checked.rows.append(CheckedRow(row.line, week, area_id, metric_id, value,
                                           row.refs[3] if row.refs else "value"))
    if rows and not checked.rows and not checked.errors:
        checked.issues.append(Issue(None, None, ALL_BLANK))
    return checked


def column_issues(columns: list[tuple[int, str, str]], scope: AgencyScope) -> list[Issue]:
    """The wide template's metric columns: each one a metric this agency reports, even when left empty."""
    issues = []
    for row, column, key in columns:
        if key in scope.metrics:
            continue
        if key in scope.all_metrics:
            issues.append(Issue(row, column, f"the column '{key}' is a metric reported by another kind of agency, "
                                f"not by a {scope.kind.replace('_', ' ')} agency: delete the column"))
        else:
            issues.append(Issue(row, column, f"the column '{shown(key)}' is not a known metric: the template holds "
                                "only area_code, area_name and this agency's metric keys; delete the column"))
    return issues


def change_warnings(session: orm.Session, checked: CheckedReturn, factor: float) -> list[Issue]:
    """Warnings (not errors) where a value moves more than `factor` times against the week before.

    The week before comes from the same file when it carries it, else from the current figures.
    """
    if not checked.rows or factor <= 1:
        return []
    in_file = {(r.metric_id, r.area_id, r.week): r.value for r in checked.rows}
    wanted_weeks = sorted({r.week - dt.timedelta(days=7) for r in checked.rows})
    metric_ids = sorted({r.metric_id for r in checked.rows})
    area_ids = {r.area_id for r in checked.rows}
    before: dict[tuple[int, int, dt.date], int] = {}
    for start in range(0, len(wanted_weeks), 400):
        result = session.execute(
            sa.select(Observation.metric_id, Observation.area_id, Observation.week, Observation.value)
            .where(Observation.superseded_at.is_(None), Observation.week.in_(wanted_weeks[start:start + 400]),
                   Observation.metric_id.in_(metric_ids)))
        before.update({(m, a, w): v for m, a, w, v in result if a in area_ids})
    before.update(in_file)
    warnings = []
    for row in checked.rows:
        previous = before.get((row.metric_id, row.area_id, row.week - dt.timedelta(days=7)))
        if not previous:
            continue  # nothing to compare with (or last week was 0, where a factor means nothing)
        if row.value > previous * factor or row.value * factor < previous:
            direction = "up" if row.value > previous else "down"
            warnings.append(Issue(row.line, row.value_column, f"{row.value:,} is more than {factor:g} times {direction} on "
                                  f"last week's {previous:,}: check it before committing", severity="warning"))
    return warnings
