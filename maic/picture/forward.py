"""Panel 6, forward look: releases prisons have notified for the coming four weeks against spare TA places.

Prisons report, in the return for week W, the releases notified for weeks W+1..W+4 (metrics
releases_notified_1w..4w). Spare places are those of week W (max(0, capacity - households in TA)).
Expected with no fixed abode = notified x the share released NFA over the last four weeks in scope; places
short = max(0, expected NFA - spare). An area with no notification figure shows "no return", not zero.

Rounded once, where shown: each area's expected figure is its notified x the share, rounded; the total is all
areas' notified x the share, rounded; so the areas' figures may not add up to the total (and the panel says so).
The share's revision marks every figure made from it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction

import pandas as pd
from sqlalchemy import orm

from maic.picture.core import (
    WEEK,
    PictureQuery,
    areas_in_scope,
    coverage_text,
    expected_areas,
    figures,
    resolve_range,
    revisions,
    totals,
)
from maic.picture.export import whole_numbers
from maic.rounding import percent_text, whole

HORIZON = 4
NOTIFIED = [f"releases_notified_{k}w" for k in range(1, HORIZON + 1)]
CAPACITY = ["ta_capacity", "households_in_ta"]
SHARE_METRICS = ["releases_total", "releases_nfa"]


@dataclass(frozen=True)
class ForwardRow:
    area_code: str
    area_name: str
    notified: tuple[int | None, ...]  # weeks +1..+4
    spare: int | None
    expected_nfa: int | None
    short: int | None
    revised: bool = False

    @property
    def total(self) -> int | None:
        known = [n for n in self.notified if n is not None]
        return sum(known) if known else None


@dataclass
class Forward:
    week: dt.date | None
    as_at: dt.datetime
    ahead: list[dt.date] = field(default_factory=list)
    rows: list[ForwardRow] = field(default_factory=list)
    nfa_share: Fraction | None = None  # released NFA / released, last four weeks, exact
    share_revised: bool = False
    expected_total: int | None = None  # every area's notified x the share, rounded once
    expected_revised: bool = False
    areas_expected: int = 0  # areas that should send notifications
    areas_notified: int = 0  # areas with a notification figure

    @property
    def share_text(self) -> str:
        return percent_text(self.nfa_share)

    @property
    def coverage(self) -> str:
        return coverage_text(self.areas_notified, max(self.areas_expected, self.areas_notified))

    def totals(self) -> list[int | None]:
        out = []
        for i in range(len(self.ahead)):
            known = [r.notified[i] for r in self.rows if r.notified[i] is not None]
            out.append(sum(known) if known else None)
        return out


def forward_look(session: orm.Session, query: PictureQuery) -> Forward:
    span = resolve_range(session, query)
    result = Forward(week=span[1] if span else None, as_at=query.at())
    if span is None:
        return result
    week = span[1]
    result.ahead = [week + WEEK * k for k in range(1, HORIZON + 1)]
    areas = areas_in_scope(session, query)
    # Plain sums and figures, no frames: a frame per read cost this panel more than its queries.
    recent = totals(session, query, SHARE_METRICS, week - 3 * WEEK, week)
    released = recent.get("releases_total", (0, 0))[0]
    if released > 0:
        result.nfa_share = Fraction(recent.get("releases_nfa", (0, 0))[0], released)
    now = figures(session, query, NOTIFIED + CAPACITY, week, week)
    found = revisions(session, query, week - 3 * WEEK, week)
    result.share_revised = found.touches(SHARE_METRICS, week - 3 * WEEK, week)
    result.areas_expected = len(expected_areas(session, query, NOTIFIED[:1])[NOTIFIED[0]])
    all_notified = 0
    for code, name in zip(areas["code"], areas["name"], strict=True):
        notified = tuple(now.get((m, code, week)) for m in NOTIFIED)
        capacity, in_ta = now.get(("ta_capacity", code, week)), now.get(("households_in_ta", code, week))
        spare = max(0, capacity - in_ta) if capacity is not None and in_ta is not None else None
        known = [n for n in notified if n is not None]
        result.areas_notified += bool(known)
        all_notified += sum(known)
        expected = whole(sum(known) * result.nfa_share) if known and result.nfa_share is not None else None
        short = max(0, expected - spare) if expected is not None and spare is not None else None
        notified_revised = found.touches(NOTIFIED, week, week, [code])
        result.expected_revised |= notified_revised
        result.rows.append(ForwardRow(code, name, notified, spare, expected, short,
                                      notified_revised or found.touches(CAPACITY, week, week, [code])
                                      or (expected is not None and result.share_revised)))
    if result.nfa_share is not None and result.areas_notified:
        result.expected_total = whole(all_notified * result.nfa_share)
        result.expected_revised |= result.share_revised
    return result


def forward_table(result: Forward) -> pd.DataFrame:
    heads = [f"Week of {w:%d %b}" for w in result.ahead]
    rows = []
    for r in result.rows:
        row = {"Area": r.area_name, "Code": r.area_code}
        row.update({h: n for h, n in zip(heads, r.notified, strict=True)})
        row.update({"Notified, 4 weeks": r.total, "Spare TA places now": r.spare,
                    "Expected no fixed abode": r.expected_nfa, "Places short": r.short,
                    "Revised since": "yes" if r.revised else "", "Note": ""})
        rows.append(row)
    if result.rows:
        totals = result.totals()
        known = [t for t in totals if t is not None]
        rows.append({"Area": "Total", **dict(zip(heads, totals, strict=True)),
                     "Notified, 4 weeks": sum(known) if known else None,
                     "Expected no fixed abode": result.expected_total,
                     "Revised since": "yes" if result.expected_revised or any(r.revised for r in result.rows) else "",
                     "Note": "; ".join(filter(None, [
                         f"covers {result.coverage}" if result.coverage else "",
                         f"expected = notified x {result.share_text} (no fixed abode share of the last four weeks' "
                         "releases), rounded once: the areas' figures may not add up to it"
                         if result.expected_total is not None else "",
                         "the share has been revised since" if result.share_revised else ""]))})
    counts = [*heads, "Notified, 4 weeks", "Spare TA places now", "Expected no fixed abode", "Places short"]
    return whole_numbers(pd.DataFrame(rows, columns=["Area", "Code", *counts, "Revised since", "Note"]), *counts)
