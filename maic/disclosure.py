"""Statistical disclosure control for everything shared outside the LRF (the shared view, its exports, the API).

Owns the rules: counts from 1 to threshold-1 are shown as "<threshold" (primary suppression); further cells are
withheld (secondary suppression) until no suppressed cell can be worked out from the published totals,
cumulative figures or differences between weeks; rates are never computed from a suppressed count.

How it works: a table is a set of cells (base figures and the totals published with them) and the linear
relations between them ("this total is the sum of those cells"). An attacker who sees every published number
knows each relation, that a primary cell lies in [1, threshold-1] and that a secondary cell is a count (0 or
more: complements are chosen among cells of at least the threshold, but a zero is withheld as the last resort,
see _withhold_last_resort, so "[c]" never promises a size). `intervals` propagates those bounds through the relations
to a fixed point: a small count whose interval closes to one value would be disclosed, so `protect`
withholds more cells until none does. "[c]" promises nothing about a cell's size (it may hide any count,
a small one included, when every cell around a small count is itself small). numpy only; no database, no web.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

import numpy as np

from maic.rounding import round_half_up

INF = math.inf


class Status(StrEnum):
    VALUE = "value"          # published exactly
    PRIMARY = "suppressed"   # a small count: shown as "<threshold"
    SECONDARY = "withheld"   # withheld so that a small count cannot be worked out
    MISSING = "missing"      # no return: nothing to protect, shown as "no return"


SUPPRESSED = frozenset({Status.PRIMARY, Status.SECONDARY})


@dataclass(frozen=True)
class Relation:
    """total = sum(parts): one fact every reader of the published table can use."""

    total: Hashable
    parts: tuple[Hashable, ...]


@dataclass(frozen=True)
class Cell:
    status: Status
    value: int | None  # None unless status is VALUE: a suppressed value never leaves this module
    shown: str


def shown_for(status: Status, value: int | None, threshold: int) -> str:
    if status == Status.VALUE:
        return f"{value}"
    if status == Status.PRIMARY:
        return f"<{threshold}"
    if status == Status.SECONDARY:
        return "[c]"
    return "no return"


def is_small(value: int | None, threshold: int) -> bool:
    return value is not None and 1 <= value < threshold


def intervals(published: dict[Hashable, Cell], relations: Iterable[Relation], threshold: int,
              max_rounds: int = 100) -> dict[Hashable, tuple[float, float]]:
    """What a reader can deduce about each suppressed cell: its [low, high] after combining every relation.

    The relations are first combined by elimination (so that, say, a to-date figure minus a week total
    minus a visible cell is used as one equation), then bounds are propagated through the original and the
    combined equations until nothing moves.
    """
    unknowns = [k for k, c in published.items() if c.status in SUPPRESSED]
    column = {k: i for i, k in enumerate(unknowns)}
    # "<5" tells a reader 1..threshold-1; "[c]" tells nothing but that the cell is a count (0 or more).
    lo = np.array([1.0 if published[k].status == Status.PRIMARY else 0.0 for k in unknowns])
    hi = np.array([threshold - 1.0 if published[k].status == Status.PRIMARY else INF for k in unknowns])
    rows, rhs = [], []
    for rel in relations:
        if rel.total not in published or published[rel.total].status == Status.MISSING:
            continue
        coefs = np.zeros(len(unknowns))
        constant = 0.0
        for key, sign in [(rel.total, 1.0)] + [(part, -1.0) for part in rel.parts]:
            cell = published.get(key)
            if cell is None or cell.status == Status.MISSING:
                continue  # no return counts as nothing, openly
            if cell.status == Status.VALUE:
                constant -= sign * cell.value
            else:
                coefs[column[key]] += sign
        if coefs.any():
            rows.append(coefs)
            rhs.append(constant)
    if not rows:
        return {k: (lo[i], hi[i]) for i, k in enumerate(unknowns)}
    matrix, vector = np.array(rows), np.array(rhs)
    combined, combined_rhs = _reduced(matrix, vector)
    a = np.vstack([matrix, combined])
    b = np.concatenate([vector, combined_rhs])
    pos, neg = a > EPS, a < -EPS
    active = pos | neg
    safe_a = np.where(active, a, 1.0)
    for _ in range(max_rounds):
        # Each term's range a*x for x in [lo, hi]; zero where the row does not use the cell.
        with np.errstate(invalid="ignore"):
            t_lo = np.where(pos, a * lo, np.where(neg, a * hi, 0.0))
            t_hi = np.where(pos, a * hi, np.where(neg, a * lo, 0.0))
        rest_lo = _rest(t_lo, -INF)
        rest_hi = _rest(t_hi, INF)
        with np.errstate(invalid="ignore", divide="ignore"):
            first = (b[:, None] - rest_hi) / safe_a
            second = (b[:, None] - rest_lo) / safe_a
        cand_lo = np.where(active, np.fmin(first, second), -INF)
        cand_hi = np.where(active, np.fmax(first, second), INF)
        cand_lo = np.where(np.isnan(cand_lo), -INF, cand_lo)
        cand_hi = np.where(np.isnan(cand_hi), INF, cand_hi)
        new_lo = np.maximum(lo, np.ceil(cand_lo.max(axis=0) - EPS))
        new_hi = np.minimum(hi, np.floor(cand_hi.min(axis=0) + EPS))
        consistent = new_lo <= new_hi
        new_lo, new_hi = np.where(consistent, new_lo, lo), np.where(consistent, new_hi, hi)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return {k: (float(lo[i]), float(hi[i])) for i, k in enumerate(unknowns)}


def _rest(terms: np.ndarray, infinite: float) -> np.ndarray:
    """For each (row, cell): the sum of the row's other terms, infinite when any other term is."""
    is_inf = terms == infinite
    finite = np.where(is_inf, 0.0, terms)
    row_sum = finite.sum(axis=1, keepdims=True)
    row_inf = is_inf.sum(axis=1, keepdims=True)
    return np.where(row_inf - is_inf > 0, infinite, row_sum - finite)


EPS = 1e-9


def _reduced(matrix: np.ndarray, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduced row echelon form of [matrix | vector]: the relations combined so each pivot stands alone."""
    aug = np.hstack([matrix, vector[:, None]]).astype(float)
    n_rows, n_cols = aug.shape[0], aug.shape[1] - 1
    pivot_row = 0
    for col in range(n_cols):
        if pivot_row >= n_rows:
            break
        best = pivot_row + int(np.argmax(np.abs(aug[pivot_row:, col])))
        if abs(aug[best, col]) < EPS:
            continue
        aug[[pivot_row, best]] = aug[[best, pivot_row]]
        aug[pivot_row] /= aug[pivot_row, col]
        others = np.abs(aug[:, col]) > EPS
        others[pivot_row] = False
        aug[others] -= np.outer(aug[others, col], aug[pivot_row])
        pivot_row += 1
    aug[np.abs(aug) < EPS] = 0.0
    return aug[:pivot_row, :-1], aug[:pivot_row, -1]


def protect(values: dict[Hashable, int | None], relations: list[Relation], threshold: int) -> dict[Hashable, Cell]:
    """Primary and secondary suppression of a table: every key of `values` gets the Cell to publish."""
    status: dict[Hashable, Status] = {}
    for key, value in values.items():
        if value is None:
            status[key] = Status.MISSING
        elif is_small(value, threshold):
            status[key] = Status.PRIMARY
        else:
            status[key] = Status.VALUE
    if threshold <= 1:
        return _cells(values, status, threshold)
    related = [r for r in relations if r.total in values]
    by_key: dict[Hashable, list[Relation]] = {}
    for rel in related:
        for key in (rel.total, *rel.parts):
            by_key.setdefault(key, []).append(rel)
    # A bounded loop: each round withholds at least one more cell, and there are finitely many.
    for _ in range(len(values) + 1):
        lone = next((r for r in related if _count_suppressed(r, status) == 1), None)
        if lone is not None:
            if not _withhold_one(lone, values, status, threshold):
                _withhold_last_resort(lone, values, status)
            continue
        deduced = intervals(_cells(values, status, threshold), related, threshold)
        pinned = [k for k, (lo, hi) in deduced.items() if is_small(values[k], threshold) and lo == hi]
        if not pinned:
            break
        for key in pinned:
            if _withhold_near(key, by_key, values, status, threshold):
                continue
            if not any(_withhold_last_resort(rel, values, status) for rel in by_key.get(key, [])):
                # Nothing published is left to withhold (say every cell is a small count, so "<5" on a total
                # and its parts pins them all): stop saying "<5" in these relations and say "[c]" instead.
                for rel in by_key.get(key, []):
                    _blur_small(rel, status)
    return _cells(values, status, threshold)


def _cells(values, status, threshold) -> dict[Hashable, Cell]:
    return {k: Cell(status[k], values[k] if status[k] == Status.VALUE else None,
                    shown_for(status[k], values[k], threshold)) for k in values}


def _count_suppressed(rel: Relation, status) -> int:
    return sum(1 for k in (rel.total, *rel.parts) if status.get(k) in SUPPRESSED)


def _withhold_one(rel: Relation, values, status, threshold: int) -> bool:
    """Withhold the best complement in the relation: the smallest value that hides a full small interval
    (at least 2 x (threshold - 1)), else the largest published non-zero value; never a zero."""
    candidates = [k for k in (*rel.parts, rel.total) if status.get(k) == Status.VALUE and values[k] >= threshold]
    if not candidates:
        return False
    roomy = [k for k in candidates if values[k] >= 2 * (threshold - 1)]
    choice = min(roomy, key=lambda k: values[k]) if roomy else max(candidates, key=lambda k: values[k])
    status[choice] = Status.SECONDARY
    return True


def _withhold_near(key: Hashable, by_key: dict[Hashable, list[Relation]], values, status, threshold: int) -> bool:
    """Withhold a complement as close to the disclosed cell as possible: first in its own relations, then in
    the relations reached through other suppressed cells (a disclosure may come from a chain of them)."""
    seen_keys, seen_rels = {key}, set()
    frontier = [key]
    while frontier:
        rels = [r for k in frontier for r in by_key.get(k, []) if id(r) not in seen_rels]
        seen_rels.update(id(r) for r in rels)
        for rel in sorted(rels, key=lambda r: _count_suppressed(r, status)):
            if _withhold_one(rel, values, status, threshold):
                return True
        frontier = [k for r in rels for k in (r.total, *r.parts)
                    if k not in seen_keys and status.get(k) in SUPPRESSED]
        seen_keys.update(frontier)
    return False


def _withhold_last_resort(rel: Relation, values, status) -> bool:
    """Nothing of at least the threshold is left to withhold: withhold every published cell of the relation, which
    can only be zeros (a published count is 0 or at least the threshold). True if any was.

    Why a zero may be withheld: when the only published cells left in the relations around a hidden cell are
    zeros, they pin it (a total of zeros and one hidden part is that part, and a chain of such relations carries
    the value on), so withholding them is the only way left to keep it hidden. This is the one case in which a
    zero shows as "[c]"; the README says so."""
    changed = False
    for key in (rel.total, *rel.parts):
        if status.get(key) == Status.VALUE:
            status[key] = Status.SECONDARY
            changed = True
    return changed


def _blur_small(rel: Relation, status) -> None:
    """Show the relation's "<threshold" cells as "[c]", which says nothing about their size."""
    for key in (rel.total, *rel.parts):
        if status.get(key) == Status.PRIMARY:
            status[key] = Status.SECONDARY


def rate(numerator: Cell, denominator: float | None, per: float, digits: int = 1) -> tuple[float | None, str]:
    """A rate shown only when its count is published exactly: a rate from a suppressed count would undo it."""
    if numerator.status != Status.VALUE or not denominator:
        return None, "[c]" if numerator.status in SUPPRESSED else "no return" if numerator.status == Status.MISSING \
            else "n/a"
    value = round_half_up(Fraction(numerator.value) * Fraction(per) / Fraction(denominator), digits)
    return value, f"{value:.{digits}f}"
