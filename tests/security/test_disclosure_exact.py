"""maic.disclosure.protect, made faster, makes exactly the choices of its definition.

The definition is the protect that was in use before (tests/security/protect_as_defined.py, a copy of the module
as it was). Both are given the same tables: the shared picture's own (linked metrics and their unpublished rests,
all-areas totals, figures to date, several versions after corrections and voids) and arbitrary systems of sums
(a key twice in one relation, a relation given twice, parts nobody has a value for, totals that do not add up).
Every cell must come out with the same status, value and text: the same cells suppressed, the same complements
withheld in the same order (a different order withholds different cells, so it would show here).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maic import disclosure
from maic.picture import shared
from maic.picture.shared import LinkedTotal, SharedMetric
from tests.security import protect_as_defined as defined
from tests.security.test_disclosure_linked import _raw as linked_raw

RELEASES = [SharedMetric(key, key, "people", "sum", "") for key in
            ("releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa")]
LINKS = [LinkedTotal("releases_by_tranche", "releases_total", ("releases_tranche1", "releases_tranche2")),
         LinkedTotal("releases_nfa", "releases_total", ("releases_nfa",))]
STOCK = [SharedMetric("households_in_ta", "Households in TA", "households", "latest", "")]
FLOW = [SharedMetric("rough_sleepers", "Rough sleepers", "people", "sum", "")]


def as_plain(cells: dict) -> dict:
    return {key: (str(cell.status), cell.value, cell.shown) for key, cell in cells.items()}


def assert_same_versions(tables, relations, threshold, unpublished) -> list[dict]:
    new = disclosure.protect_versions(tables, relations, threshold, unpublished)
    old = defined.protect_versions(tables, relations, threshold, unpublished)
    assert [list(v) for v in new] == [list(v) for v in old], "the cells come out in another order"
    for i, (a, b) in enumerate(zip(new, old, strict=True)):
        differ = {k: (x, as_plain(b)[k]) for k, x in as_plain(a).items() if x != as_plain(b)[k]}
        assert not differ, f"version {i}: (new, defined) differ: {differ}"
    return new


def assert_same(values, relations, threshold, unpublished=frozenset()) -> dict:
    new = disclosure.protect(values, relations, threshold, unpublished)
    old = defined.protect(values, relations, threshold, unpublished)
    assert list(new) == list(old)
    differ = {k: (x, as_plain(old)[k]) for k, x in as_plain(new).items() if x != as_plain(old)[k]}
    assert not differ, f"(new, defined) differ: {differ}"
    return new


# --- The shared picture's tables ---

def group_tables(group, links, codes, weeks, raws):
    """The tables and relations maic.picture.shared protects for one group in each version."""
    tables, relations = [], []
    for raw in raws:
        newest = max((w for _m, _c, w in raw), default=None)
        shown = [w for w in weeks if newest is not None and w <= newest]
        table: dict = {}
        rels: list = []
        for metric in group:
            shared._metric_table(metric, codes, shown, raw, table, rels)
        for link in links:
            shared._rest_table(link, codes, shown, table, rels)
        tables.append(table)
        relations.append(rels)
    unpublished = {k for table in tables for k in table if k[0].startswith("rest of ")}
    return tables, relations, unpublished


def figure(rng: random.Random, threshold: int) -> int | None:
    """A count as returns have them, weighted to the edges: none, zero, small, the threshold, just enough to
    hide a small interval (2 x (threshold - 1)), ties."""
    kind = rng.random()
    if kind < 0.1:
        return None
    if kind < 0.25:
        return 0
    if kind < 0.5:
        return rng.randint(1, max(1, threshold - 1))
    if kind < 0.6:
        return threshold
    if kind < 0.7:
        return 2 * (threshold - 1) + rng.choice((-1, 0, 1))
    if kind < 0.8:
        return rng.choice((7, 12))  # the same value in many cells: ties between complements
    return rng.randint(0, 40)


def releases(rng: random.Random, threshold: int) -> tuple[int, int, int, int] | None:
    """(tranche one, tranche two, others, of whom no fixed abode), or None for no return."""
    if rng.random() < 0.1:
        return None
    return tuple(max(0, figure(rng, threshold) or 0) for _ in range(4))


def shared_case(rng: random.Random):
    """One group's history: a first version, then corrections (a figure changed), voids (a return gone) and
    new weeks arriving, as the shared picture protects them together."""
    threshold = rng.choice((2, 3, 5, 5, 5, 10))
    linked = rng.random() < 0.5
    group, links = (RELEASES, LINKS) if linked else (rng.choice((STOCK, FLOW)), [])
    codes = [f"E0700000{i}" for i in range(rng.randint(1, 4))]
    weeks = [dt.date(2024, 9, 2) + dt.timedelta(weeks=j) for j in range(rng.randint(1, 4))]
    draw = (lambda: releases(rng, threshold)) if linked else (lambda: figure(rng, threshold))
    state = {(c, w): draw() for c in codes for w in weeks[:-1] or weeks}
    states = [dict(state)]
    for _ in range(rng.randint(0, 4)):
        change = rng.random()
        if change < 0.5:
            state[rng.choice(sorted(state))] = draw()  # a correction
        elif change < 0.75:
            state[rng.choice(sorted(state))] = None  # a void
        else:
            for c in codes:
                state[(c, weeks[-1])] = draw()  # the next week's returns
        states.append(dict(state))
    if linked:
        raws = [linked_raw(s) for s in states]
    else:
        raws = [{(group[0].key, c, w): v for (c, w), v in s.items() if v is not None} for s in states]
    return threshold, group_tables(group, links, codes, weeks, raws)


def test_the_shared_pictures_tables_are_protected_as_defined():
    """300 generated histories; the count of withheld cells (zeros among them) shows the choices were exercised."""
    rng = random.Random(20241127)
    seen: Counter = Counter()
    for _ in range(300):
        threshold, (tables, relations, unpublished) = shared_case(rng)
        for version in assert_same_versions(tables, relations, threshold, unpublished):
            seen.update(cell.status for cell in version.values())
        seen["versions > 1"] += len(tables) > 1
    assert seen[disclosure.Status.SECONDARY] > 1000 and seen[disclosure.Status.PRIMARY] > 1000, seen
    assert seen[disclosure.Status.UNPUBLISHED] > 100 and seen["versions > 1"] > 150, seen


# --- Any system of sums ---

def system_case(rng: random.Random):
    """Keys 0..n-1 with counts; relations 'total = sum of parts' built bottom up so most add up, then some
    values removed or changed so that not all do; odd shapes on purpose."""
    threshold = rng.choice((1, 2, 3, 5, 5, 10))
    n = rng.randint(2, 14)
    values: dict = {i: figure(rng, threshold) for i in range(n)}
    relations = []
    for _ in range(rng.randint(1, 8)):
        parts = rng.sample(range(n), rng.randint(1, min(4, n)))
        if rng.random() < 0.1:
            parts.append(parts[0])  # a key twice in one relation
        if rng.random() < 0.1:
            parts.append("nobody")  # a part with no value at all
        total = len(values) if rng.random() < 0.7 else rng.randrange(n)
        present = [values.get(p) for p in parts if values.get(p) is not None]
        if total == len(values):
            values[total] = sum(present) if present else None
        relations.append(disclosure.Relation(total, tuple(parts)))
        if rng.random() < 0.1:
            relations.append(relations[-1])  # the same relation given twice
        if rng.random() < 0.05:
            relations.append(disclosure.Relation("outside", tuple(parts)))  # a total not in the table
    for key in rng.sample(sorted(values), rng.randint(0, 2)):
        values[key] = figure(rng, threshold)
    unpublished = set(rng.sample(sorted(values), rng.randint(0, 2)))
    return values, relations, threshold, unpublished


def test_any_system_of_sums_is_protected_as_defined():
    rng = random.Random(5)
    seen: Counter = Counter()
    for _ in range(1000):
        values, relations, threshold, unpublished = system_case(rng)
        cells = assert_same(values, relations, threshold, unpublished)
        seen.update(cell.status for cell in cells.values())
        seen["withheld zero"] += sum(c.status == disclosure.Status.SECONDARY and values[k] == 0
                                     for k, c in cells.items())
        seen["small shown as [c]"] += sum(c.status == disclosure.Status.SECONDARY and disclosure.is_small(values[k],
                                          threshold) for k, c in cells.items())
    assert seen["withheld zero"] > 20 and seen["small shown as [c]"] > 20, seen


# --- And the same, searched by Hypothesis (it shrinks a difference to a small table) ---

counts = st.one_of(st.none(), st.just(0), st.integers(1, 4), st.just(5), st.just(8), st.integers(0, 30))


@st.composite
def systems(draw):
    n = draw(st.integers(2, 10))
    values: dict = {i: draw(counts) for i in range(n)}
    relations = []
    for _ in range(draw(st.integers(1, 6))):
        parts = tuple(draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)))
        if draw(st.booleans()):
            present = [values[p] for p in parts if values[p] is not None]
            values[len(values)] = sum(present) if present else None
            total = len(values) - 1
        else:
            total = draw(st.integers(0, len(values) - 1))
        relations.append(disclosure.Relation(total, parts))
    unpublished = draw(st.sets(st.sampled_from(sorted(values)), max_size=2))
    return values, relations, draw(st.sampled_from((2, 3, 5))), unpublished


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(system=systems())
def test_hypothesis_finds_no_system_protected_otherwise(system):
    values, relations, threshold, unpublished = system
    assert_same(values, relations, threshold, unpublished)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_hypothesis_finds_no_shared_history_protected_otherwise(seed):
    threshold, (tables, relations, unpublished) = shared_case(random.Random(seed))
    assert_same_versions(tables, relations, threshold, unpublished)


# --- The relations combined (row echelon form), number for number ---

def sparse_system(rng: random.Random) -> tuple:
    """A system as intervals builds one: rows of a few +1/-1 terms over many unknowns, whole-number constants."""
    n_rows, n_cols = rng.randint(1, 60), rng.randint(1, 80)
    matrix = np.zeros((n_rows, n_cols))
    for row in matrix:
        for col in rng.sample(range(n_cols), rng.randint(1, min(6, n_cols))):
            row[col] += rng.choice((1.0, -1.0, 1.0, 2.0))
    if n_rows > 2 and rng.random() < 0.3:
        matrix[-1] = matrix[0] - matrix[1]  # a dependent row: eliminated to nothing
    vector = np.array([float(rng.randint(-30, 30)) for _ in range(n_rows)])
    return matrix, vector


def test_the_relations_are_combined_to_the_same_numbers():
    rng = random.Random(3)
    for _ in range(400):
        matrix, vector = sparse_system(rng)
        new, old = disclosure._reduced(matrix, vector), defined._reduced(matrix, vector)
        for a, b in zip(new, old, strict=True):
            assert a.shape == b.shape and a.tobytes() == b.tobytes()
