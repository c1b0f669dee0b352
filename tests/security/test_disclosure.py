"""Disclosure control, tried by an attacker: can any suppressed count be worked out from what is published?

The attacker here is independent of maic.disclosure: it enumerates every table of whole numbers that agrees
with everything the shared picture publishes for a metric (each exact figure, "<5" meaning 1 to 4, "[c]"
meaning any count, every all-areas total and every to-date figure) and asks whether a suppressed
cell takes only one value across all of them. Its only extra assumption, that no cell exceeds the sum of
all the table's values, is no real limit (each cell is at most its published total).
"""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from maic import disclosure
from maic.disclosure import Status
from maic.picture import shared
from maic.picture.shared import ALL_AREAS, PER_10K, TO_DATE, WEEK, SharedArea, SharedMetric

THRESHOLD = 5
MAX = 12
FLOW = SharedMetric("releases_total", "People released", "people", "sum", "")
STOCK = SharedMetric("households_in_ta", "Households in TA", "households", "latest", "")


def _published(metric, areas, weeks, raw):
    cells = shared._metric_cells(metric, areas, weeks, raw, THRESHOLD)
    return {(c.area_code, c.week, c.measure): c for c in cells}


def _fits(cell, value: int | None) -> bool:
    if cell.status == Status.MISSING:
        return value is None
    if value is None:
        return False
    if cell.status == Status.VALUE:
        return value == cell.value
    if cell.status == Status.PRIMARY:
        return 1 <= value < THRESHOLD
    return value >= 0  # withheld: any count


def _domain(cell, top: int = MAX):
    if cell.status == Status.VALUE:
        return [cell.value]
    if cell.status == Status.MISSING:
        return [None]
    if cell.status == Status.PRIMARY:
        return list(range(1, THRESHOLD))
    return list(range(0, top + 1))


def attack(metric, areas, weeks, published, top: int = MAX) -> dict[tuple, set[int]]:
    """Every value each base cell can take in some table consistent with everything published."""
    codes = [a.code for a in areas]
    flow = metric.aggregation == "sum"
    possible: dict[tuple, set[int]] = {(c, w): set() for c in codes for w in weeks}

    def search(i: int, to_date: dict[str, int | None], chosen: dict):
        if i == len(weeks):
            for key, value in chosen.items():
                possible[key].add(value)
            return
        week = weeks[i]
        domains = [_domain(published[(c, week, WEEK)], top) for c in codes]
        for combo in itertools.product(*domains):
            present = [v for v in combo if v is not None]
            total = sum(present) if present else None
            if not _fits(published[(ALL_AREAS, week, WEEK)], total):
                continue
            new_to_date = dict(to_date)
            if flow:
                ok = True
                for code, v in zip([*codes, ALL_AREAS], [*combo, total], strict=True):
                    before = to_date.get(code)
                    new_to_date[code] = None if before is None and v is None else (before or 0) + (v or 0)
                    if not _fits(published[(code, week, TO_DATE)], new_to_date[code]):
                        ok = False
                        break
                if not ok:
                    continue
            search(i + 1, new_to_date, {**chosen, **{(c, week): v for c, v in zip(codes, combo, strict=True)}})

    search(0, {}, {})
    return possible


grids = st.integers(min_value=1, max_value=3).flatmap(lambda n_weeks: st.integers(min_value=2, max_value=3).flatmap(
    lambda n_areas: st.lists(st.lists(st.one_of(st.integers(0, 6), st.integers(0, MAX), st.none()),
                                      min_size=n_weeks, max_size=n_weeks), min_size=n_areas, max_size=n_areas)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids, flow=st.booleans())
# Every cell small: "<5" on the parts and on their totals pinned each part to 1 until such totals said "[c]".
@example(grid=[[1, 1], [1, 1]], flow=True)
def test_no_suppressed_count_can_be_worked_out(grid, flow):
    metric = FLOW if flow else STOCK
    areas = [SharedArea(f"E0700000{i}", f"Area {i}", 10_000 * (i + 1)) for i in range(len(grid))]
    weeks = [dt.date(2024, 9, 2) + dt.timedelta(weeks=j) for j in range(len(grid[0]))]
    raw = {(metric.key, a.code, w): grid[i][j] for i, a in enumerate(areas) for j, w in enumerate(weeks)
           if grid[i][j] is not None}
    published = _published(metric, areas, weeks, raw)
    possible = attack(metric, areas, weeks, published, top=max(MAX, sum(raw.values())))
    for (code, week), values in possible.items():
        true = raw.get((metric.key, code, week))
        assert true in values or true is None, "the attacker must find the truth among the possibilities"
        cell = published[(code, week, WEEK)]
        if disclosure.is_small(true, THRESHOLD):
            assert cell.status in disclosure.SUPPRESSED and cell.value is None
            assert len(values) >= 2, f"{code} {week}: a suppressed count is disclosed as {values}"
    # Totals and to-date figures that are small counts themselves are suppressed too.
    for (_code, _week, measure), cell in published.items():
        if measure != PER_10K and cell.status == Status.VALUE:
            assert not disclosure.is_small(cell.value, THRESHOLD)


@settings(max_examples=80, deadline=None)
@given(grid=grids)
def test_rates_are_never_computed_from_suppressed_counts(grid):
    areas = [SharedArea(f"E0700000{i}", f"Area {i}", 10_000 * (i + 1)) for i in range(len(grid))]
    weeks = [dt.date(2024, 9, 2) + dt.timedelta(weeks=j) for j in range(len(grid[0]))]
    raw = {(FLOW.key, a.code, w): grid[i][j] for i, a in enumerate(areas) for j, w in enumerate(weeks)
           if grid[i][j] is not None}
    published = _published(FLOW, areas, weeks, raw)
    for (code, week, measure), cell in published.items():
        if measure == PER_10K:
            count = published[(code, week, WEEK)]
            assert (cell.value is None) == (count.status != Status.VALUE)


def test_one_small_count_in_a_row_is_protected_by_a_second_cell():
    cells = {"a": 3, "b": 20, "c": 9, "total": 32}
    relations = [disclosure.Relation("total", ("a", "b", "c"))]
    out = disclosure.protect(cells, relations, THRESHOLD)
    assert out["a"].shown == "<5" and out["a"].value is None
    assert out["c"].status == Status.SECONDARY  # the smallest value that hides the whole 1..4 range
    assert out["b"].shown == "20" and out["total"].shown == "32"


def test_the_threshold_is_configurable():
    out = disclosure.protect({"a": 7, "b": 30, "t": 37}, [disclosure.Relation("t", ("a", "b"))], 10)
    assert out["a"].shown == "<10" and out["b"].status == Status.SECONDARY


def test_weekly_and_to_date_cannot_be_differenced():
    areas = [SharedArea("A", "A", 1000), SharedArea("B", "B", 1000)]
    weeks = [dt.date(2024, 9, 2), dt.date(2024, 9, 9)]
    raw = {(FLOW.key, "A", weeks[0]): 10, (FLOW.key, "A", weeks[1]): 2,
           (FLOW.key, "B", weeks[0]): 30, (FLOW.key, "B", weeks[1]): 40}
    published = _published(FLOW, areas, weeks, raw)
    assert published[("A", weeks[1], WEEK)].shown == "<5"
    possible = attack(FLOW, areas, weeks, published, top=45)
    assert len(possible[("A", weeks[1])]) >= 2
