"""Disclosure across linked metrics and across versions, tried by an attacker with integer programs.

The attacker is independent of maic.disclosure. It takes every number the shared picture publishes, in
every version a neighbour may ask for, and what the reference data says openly: each all-areas figure is
the sum of the areas, each to-date figure the sum of the weeks, and people released are those released in
tranche one plus tranche two plus a rest nobody publishes (and those with no fixed abode are part of them).
It is also told which figures a correction changed, so an unchanged figure is one unknown in every version.
For each hidden count (and each unpublished rest) it solves an integer program for another value than the
true one; where there is none, the count is worked out. No suppressed count, no withheld non-zero count and
no small rest may be worked out.
"""

from __future__ import annotations

import datetime as dt
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from maic.disclosure import Status
from maic.picture import shared
from maic.picture.shared import ALL_AREAS, TO_DATE, WEEK, LinkedTotal, SharedArea, SharedMetric

THRESHOLD = 5
RELEASES = [SharedMetric(key, key, "people", "sum", "") for key in
            ("releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa")]
LINKS = [LinkedTotal("releases_by_tranche", "releases_total", ("releases_tranche1", "releases_tranche2")),
         LinkedTotal("releases_nfa", "releases_total", ("releases_nfa",))]
START = dt.datetime(2024, 9, 1)


def truth_table(metrics, links, codes, weeks, raw):
    """Every figure the picture is made of, the rests included, computed here from the raw returns."""
    table = {}
    for metric in metrics:
        m = metric.key
        for i, week in enumerate(weeks):
            present = [raw[(m, c, week)] for c in codes if (m, c, week) in raw]
            for code in codes:
                table[(m, code, week, WEEK)] = raw.get((m, code, week))
            table[(m, ALL_AREAS, week, WEEK)] = sum(present) if present else None
            for code in [*codes, ALL_AREAS]:
                before = table.get((m, code, weeks[i - 1], TO_DATE)) if i else None
                now = table[(m, code, week, WEEK)]
                table[(m, code, week, TO_DATE)] = None if before is None and now is None else (before or 0) + (now or 0)
    for link in links:
        for (m, code, week, measure), total in list(table.items()):
            parts = [table.get((p, code, week, measure)) for p in link.parts]
            if m == link.total and total is not None and None not in parts:
                table[(("rest", link.name), code, week, measure)] = total - sum(parts)
    return table


def equations(metrics, links, codes, weeks, published, version: int):
    """What every reader knows holds between the cells of one version: (total key, part keys)."""
    out = []
    for metric in metrics:
        m = metric.key
        for i, week in enumerate(weeks):
            out.append(((m, ALL_AREAS, week, WEEK), [(m, c, week, WEEK) for c in codes]))
            for code in [*codes, ALL_AREAS]:
                out.append(((m, code, week, TO_DATE),
                            [(m, code, week, WEEK)] + ([(m, code, weeks[i - 1], TO_DATE)] if i else [])))
            out.append(((m, ALL_AREAS, week, TO_DATE), [(m, c, week, TO_DATE) for c in codes]))
    for link in links:
        for code, week, measure in itertools.product([*codes, ALL_AREAS], weeks, (WEEK, TO_DATE)):
            keys = [(link.total, code, week, measure), *((p, code, week, measure) for p in link.parts)]
            if all(k in published and published[k][0] != Status.MISSING for k in keys):
                out.append((keys[0], keys[1:] + [(("rest", link.name), code, week, measure)]))
    return [(version, total, parts) for total, parts in out]


def attack(metrics, links, codes, weeks, versions) -> list[str]:
    """versions: [(published {key: (status, value)}, truth {key: value})]. Returns what was worked out."""
    index: dict[tuple, int] = {}
    lower, upper, truth_of, kind = [], [], [], []

    def variable(key, truth, status):
        name = (key, truth)  # the attacker knows what changed: same figure, same value, same unknown
        if name not in index:
            index[name] = len(lower)
            small = status == Status.PRIMARY
            lower.append(1 if small else 0)
            upper.append(THRESHOLD - 1 if small else 10_000)
            truth_of.append(truth)
            kind.append((status, key))
        return index[name]

    rows, rhs = [], []
    for v, (published, truth) in enumerate(versions):
        for _v, total, parts in equations(metrics, links, codes, weeks, published, v):
            if total not in published or published[total][0] == Status.MISSING:
                continue
            coefs: dict[int, float] = {}
            constant = 0.0
            for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
                if isinstance(key[0], tuple):  # a rest: never published
                    j = variable(key, truth[key], Status.UNPUBLISHED)
                    coefs[j] = coefs.get(j, 0.0) + sign
                    continue
                status, value = published.get(key, (Status.MISSING, None))
                if status == Status.MISSING:
                    continue
                if status == Status.VALUE:
                    constant -= sign * value
                else:
                    j = variable(key, truth[key], status)
                    coefs[j] = coefs.get(j, 0.0) + sign
            rows.append(coefs)
            rhs.append(constant)
    n = len(lower)
    if n == 0:
        return []
    matrix = np.zeros((len(rows), n))
    for i, coefs in enumerate(rows):
        for j, c in coefs.items():
            matrix[i, j] = c
    constraint = LinearConstraint(matrix, rhs, rhs)
    bounds = Bounds(lower, upper)
    integral = np.ones(n)
    found = []
    for j in range(n):
        status, key = kind[j]
        true = truth_of[j]
        must_hide = (status == Status.PRIMARY or (status == Status.SECONDARY and true != 0)
                     or (status == Status.UNPUBLISHED and 1 <= true < THRESHOLD))
        if not must_hide:
            continue
        objective = np.zeros(n)
        objective[j] = 1.0
        other = False
        for sign in (1.0, -1.0):
            result = milp(sign * objective, constraints=constraint, bounds=bounds, integrality=integral)
            assert result.success, f"the true table must be a solution: {result.message}"
            if round(result.x[j]) != true:
                other = True
                break
        if not other:
            found.append(f"{key} = {true} ({status})")
    return found


def published_of(cells) -> dict:
    return {(c.metric, c.area_code, c.week, c.measure): (Status(c.status), c.value)
            for c in cells if c.measure in (WEEK, TO_DATE)}


def check_versions(raws, codes, weeks) -> None:
    areas = [SharedArea(code, code, 10_000) for code in codes]
    times = [START + dt.timedelta(days=i) for i in range(len(raws))]
    history = weeks[0]
    versions = shared._protect_history(RELEASES, LINKS, areas, history, times, raws, THRESHOLD)
    pairs = []
    for version, raw in zip(versions, raws, strict=True):
        published = published_of(version.cells)
        truth = truth_table(RELEASES, LINKS, codes, weeks, raw)
        for key, (status, value) in published.items():
            if status == Status.VALUE:
                assert value == truth[key], f"{key}: published {value}, truly {truth[key]}"
                assert not 1 <= value < THRESHOLD, f"{key}: a small count {value} is published"
        pairs.append((published, truth))
    found = attack(RELEASES, LINKS, codes, weeks, pairs)
    assert not found, "worked out: " + "; ".join(found[:5])


def _raw(values: dict[tuple[str, dt.date], tuple[int, int, int, int] | None]) -> dict:
    """(code, week) -> (tranche one, tranche two, others, of whom no fixed abode) or None for no return."""
    raw = {}
    for (code, week), v in values.items():
        if v is None:
            continue
        t1, t2, others, nfa = v
        total = t1 + t2 + others
        raw.update({("releases_total", code, week): total, ("releases_tranche1", code, week): t1,
                    ("releases_tranche2", code, week): t2, ("releases_nfa", code, week): min(nfa, total)})
    return raw


area_week = st.one_of(st.none(), st.tuples(st.integers(0, 8), st.integers(0, 5), st.integers(0, 6), st.integers(0, 6)))


@st.composite
def histories(draw):
    n_areas = draw(st.integers(2, 3))
    n_weeks = draw(st.integers(1, 2))
    codes = [f"E0700000{i}" for i in range(n_areas)]
    weeks = [dt.date(2024, 9, 2) + dt.timedelta(weeks=j) for j in range(n_weeks)]
    first = {(c, w): draw(area_week) for c in codes for w in weeks}
    versions = [first]
    for _ in range(draw(st.integers(0, 2))):
        corrected = dict(versions[-1])
        cell = draw(st.sampled_from(sorted(corrected)))
        corrected[cell] = draw(area_week)
        versions.append(corrected)
    return codes, weeks, [_raw(v) for v in versions]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories())
def test_no_hidden_count_can_be_worked_out_across_linked_metrics_and_versions(history):
    codes, weeks, raws = history
    check_versions(raws, codes, weeks)


def test_the_attacker_finds_a_rest_worked_out_from_published_parts():
    """The attacker's own check: total 12, tranche one 6, tranche two 5 published alone give others = 1."""
    codes, week = ["A", "B"], dt.date(2024, 9, 2)
    raw = _raw({("A", week): (6, 5, 1, 0), ("B", week): (9, 9, 9, 9)})
    truth = truth_table(RELEASES, LINKS, codes, [week], raw)
    naive = {k: (Status.VALUE, v) for k, v in truth.items() if not isinstance(k[0], tuple) and v is not None}
    found = attack(RELEASES, LINKS, codes, [week], [(naive, truth)])
    assert any("rest" in f and "'A'" in f for f in found), found


def test_a_correction_across_the_threshold_is_not_given_away_by_the_figure_to_date():
    """Peterborough's week went from 7 to 4: to date 129 then 126 would give the 4 away."""
    codes = ["E06000031", "E07000008", "E07000010"]
    weeks = [dt.date(2024, 9, 2), dt.date(2024, 9, 9)]
    before = {("E06000031", weeks[0]): (60, 40, 22, 10), ("E06000031", weeks[1]): (3, 2, 2, 1),
              ("E07000008", weeks[0]): (20, 12, 9, 6), ("E07000008", weeks[1]): (10, 8, 7, 5),
              ("E07000010", weeks[0]): (14, 9, 8, 7), ("E07000010", weeks[1]): (12, 6, 9, 8)}
    after = dict(before)
    after[("E06000031", weeks[1])] = (2, 1, 1, 1)
    check_versions([_raw(before), _raw(after)], codes, weeks)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_demo_with_corrections_gives_nothing_away(db_url, factory, tmp_path):
    """The demo incident, then corrections that move counts across the threshold both ways, attacked over
    every version the shared API serves."""
    import sqlalchemy as sa

    from maic.db import transaction
    from maic.demo import create_demo_users, seed
    from maic.models import Observation
    from maic.picture.core import observation_history
    from tests.fixtures import ingest, settings_for

    with transaction(factory) as session:
        create_demo_users(session)
    seed(factory, settings_for(tmp_path), tmp_path / "demo", now=dt.datetime(2024, 11, 27, 12))
    with factory() as session:
        newest = session.scalar(sa.select(sa.func.max(Observation.recorded_at)))
        metrics = [m for m in shared.shareable_metrics(session) if m.key in {r.key for r in RELEASES}]
        areas = shared.shared_areas(session)
        links = shared.linked_totals(session, {m.key for m in metrics})
        codes = [a.code for a in areas]
        latest = session.scalar(sa.select(sa.func.max(Observation.week)))
    assert links == LINKS
    # Peterborough's latest week down to a small count, Fenland's up from whatever it was, two days apart.
    down = [(latest.isoformat(), "E06000031", "releases_total", 4), (latest.isoformat(), "E06000031", "releases_tranche1", 1),
            (latest.isoformat(), "E06000031", "releases_tranche2", 1), (latest.isoformat(), "E06000031", "releases_nfa", 1)]
    up = [(latest.isoformat(), "E07000010", "releases_total", 30), (latest.isoformat(), "E07000010", "releases_tranche1", 12),
          (latest.isoformat(), "E07000010", "releases_tranche2", 9), (latest.isoformat(), "E07000010", "releases_nfa", 6)]
    for rows, when in ((down, newest + dt.timedelta(days=1)), (up, newest + dt.timedelta(days=3))):
        ingest(factory, tmp_path, "probation-cambs", rows, received_at=when, filename=f"correction-{when:%d}.csv",
               today=latest + dt.timedelta(days=14))
    since = newest - dt.timedelta(days=14)
    with factory() as session:
        times, raws = observation_history(session, [m.key for m in metrics], tuple(codes), dt.date(2024, 8, 5), since)
        published = shared.published_versions(session, metrics, areas, threshold=THRESHOLD,
                                               history_from=dt.date(2024, 8, 5), since=since)
    assert len(published.versions) >= 3
    weeks = sorted({w for raw in raws for _m, _c, w in raw})
    pairs = [(published_of(v.cells), truth_table(metrics, links, codes, weeks, raw))
             for v, raw in zip(published.versions, raws, strict=True)]
    found = attack(metrics, links, codes, weeks, pairs)
    assert not found, "worked out: " + "; ".join(found[:5])
