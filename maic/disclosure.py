"""Statistical disclosure control for everything shared outside the LRF (the shared view, its exports, the API).

Owns the rules: counts from 1 to threshold-1 are shown as "<threshold" (primary suppression); further cells are
withheld (secondary suppression) until no suppressed cell can be worked out from the published totals,
cumulative figures or differences between weeks; rates are never computed from a suppressed count.

How it works: a table is a set of cells (base figures and the totals published with them) and the linear
relations between them ("this total is the sum of those cells"). An attacker who sees every published number
knows each relation, that a primary cell lies in [1, threshold-1] and that a secondary cell is a count (0 or
more: complements are chosen among cells of at least the threshold, but a zero is withheld as the last resort,
see _Suppression.withhold_last_resort, so "[c]" never promises a size). `intervals` propagates those bounds through the relations
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
    UNPUBLISHED = "unpublished"  # never published (the rest of a linked total): protected, never shown


SUPPRESSED = frozenset({Status.PRIMARY, Status.SECONDARY})
HIDDEN = SUPPRESSED | {Status.UNPUBLISHED}


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
    if status == Status.UNPUBLISHED:
        return "not published"
    return "no return"


def is_small(value: int | None, threshold: int) -> bool:
    return value is not None and 1 <= value < threshold


def must_stay_unknown(status: Status, value: int | None, threshold: int) -> bool:
    """A hidden cell that a reader must not be able to work out exactly.

    Every withheld or suppressed count, except a withheld zero (zeros are published openly, so working one
    out tells nothing); an unpublished rest only when it is a small count (a known rest of 0 or of 20 other
    releases discloses nothing)."""
    if status == Status.PRIMARY:
        return True
    if status == Status.SECONDARY:
        return value != 0
    if status == Status.UNPUBLISHED:
        return is_small(value, threshold)
    return False


def intervals(published: dict[Hashable, Cell], relations: Iterable[Relation], threshold: int,
              max_rounds: int = 100, kept: dict[tuple, tuple[np.ndarray, np.ndarray]] | None = None,
              ) -> dict[Hashable, tuple[float, float]]:
    """What a reader can deduce about each hidden cell: its [low, high] after combining every relation.

    `kept`, when given, holds each group of relations' bounds by the group's equations and starting bounds
    (the whole input of the computation, so a group found there is one that was computed the same)."""
    unknowns = [k for k, c in published.items() if c.status in HIDDEN]
    column = {k: i for i, k in enumerate(unknowns)}
    # "<5" tells a reader 1..threshold-1; "[c]" and an unpublished rest tell nothing but that the cell is a
    # count (0 or more).
    lo = np.array([1.0 if published[k].status == Status.PRIMARY else 0.0 for k in unknowns])
    hi = np.array([threshold - 1.0 if published[k].status == Status.PRIMARY else INF for k in unknowns])
    rows: list[dict[int, float]] = []
    rhs: list[float] = []
    for rel in relations:
        if rel.total not in published or published[rel.total].status == Status.MISSING:
            continue
        coefs: dict[int, float] = {}
        constant = 0.0
        for key, sign in [(rel.total, 1.0)] + [(part, -1.0) for part in rel.parts]:
            cell = published.get(key)
            if cell is None or cell.status == Status.MISSING:
                continue  # no return counts as nothing, openly
            if cell.status == Status.VALUE:
                constant -= sign * cell.value
            else:
                coefs[column[key]] = coefs.get(column[key], 0.0) + sign
        coefs = {c: v for c, v in coefs.items() if v}
        if coefs:
            rows.append(coefs)
            rhs.append(constant)
    # Relations that share no hidden cell, directly or through others, cannot inform each other: each group
    # is solved on its own, which gives the same bounds as solving them all at once, far faster.
    for group in _connected(rows, len(unknowns)):
        cols = sorted({c for r in group for c in rows[r]})
        where = {c: i for i, c in enumerate(cols)}
        matrix = np.zeros((len(group), len(cols)))
        for i, r in enumerate(group):
            for c, v in rows[r].items():
                matrix[i, where[c]] = v
        vector = np.array([rhs[r] for r in group])
        lo[cols], hi[cols] = _propagate_kept(matrix, vector, lo[cols], hi[cols], max_rounds, kept)
    return {k: (float(lo[i]), float(hi[i])) for i, k in enumerate(unknowns)}


def _connected(rows: list[dict[int, float]], n_columns: int) -> list[list[int]]:
    """The rows grouped so that rows sharing a column, directly or through other rows, are in one group."""
    parent = list(range(n_columns))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for row in rows:
        first, *others = row
        for other in others:
            parent[find(other)] = find(first)
    groups: dict[int, list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(find(next(iter(row))), []).append(i)
    return list(groups.values())


def _propagate_kept(matrix: np.ndarray, vector: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_rounds: int,
                    kept: dict[tuple, tuple[np.ndarray, np.ndarray]] | None) -> tuple[np.ndarray, np.ndarray]:
    if kept is None:
        return _propagate(matrix, vector, lo, hi, max_rounds)
    key = (matrix.shape, matrix.tobytes(), vector.tobytes(), lo.tobytes(), hi.tobytes(), max_rounds)
    found = kept.get(key)
    if found is None:
        found = kept[key] = _propagate(matrix, vector, lo, hi, max_rounds)
    return found


def _propagate(matrix: np.ndarray, vector: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               max_rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on the unknowns of matrix @ x = vector: the equations are first combined by elimination (so
    that, say, a to-date figure minus a week total minus a visible cell is used as one equation), then
    bounds are propagated through the original and the combined equations until nothing moves.

    The propagation works on the equations' non-zero terms only (row, column, coefficient): a few per
    equation, where a dense matrix of every equation by every unknown was mostly zeros."""
    combined, combined_rhs = _reduced(matrix, vector)
    a = np.vstack([matrix, combined])
    b = np.concatenate([vector, combined_rhs])
    row, col = np.nonzero(np.abs(a) > EPS)
    coef = a[row, col]
    n_rows, n_cols = a.shape
    positive = coef > 0
    for _ in range(max_rounds):
        # Each term's range coef*x for x in [lo, hi].
        with np.errstate(invalid="ignore"):
            t_lo = np.where(positive, coef * lo[col], coef * hi[col])
            t_hi = np.where(positive, coef * hi[col], coef * lo[col])
        rest_lo = _rest(t_lo, row, n_rows, -INF)
        rest_hi = _rest(t_hi, row, n_rows, INF)
        with np.errstate(invalid="ignore", divide="ignore"):
            first = (b[row] - rest_hi) / coef
            second = (b[row] - rest_lo) / coef
        cand_lo = np.nan_to_num(np.fmin(first, second), nan=-INF, neginf=-INF, posinf=INF)
        cand_hi = np.nan_to_num(np.fmax(first, second), nan=INF, neginf=-INF, posinf=INF)
        best_lo = np.full(n_cols, -INF)
        best_hi = np.full(n_cols, INF)
        np.maximum.at(best_lo, col, cand_lo)
        np.minimum.at(best_hi, col, cand_hi)
        new_lo = np.maximum(lo, np.ceil(best_lo - EPS))
        new_hi = np.minimum(hi, np.floor(best_hi + EPS))
        consistent = new_lo <= new_hi
        new_lo, new_hi = np.where(consistent, new_lo, lo), np.where(consistent, new_hi, hi)
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


def _rest(terms: np.ndarray, row: np.ndarray, n_rows: int, infinite: float) -> np.ndarray:
    """For each term: the sum of its equation's other terms, infinite when any other term is."""
    is_inf = terms == infinite
    finite = np.where(is_inf, 0.0, terms)
    row_sum = np.bincount(row, weights=finite, minlength=n_rows)
    row_inf = np.bincount(row, weights=is_inf, minlength=n_rows)
    return np.where(row_inf[row] - is_inf > 0, infinite, row_sum[row] - finite)


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
        others = np.flatnonzero(np.abs(aug[:, col]) > EPS)
        others = others[others != pivot_row]
        # Only the pivot row's non-zero columns: a relation names a few cells of hundreds, so the rows stay
        # mostly zeros. Subtracting factor x 0 would leave every other entry as it is (a zero's sign aside,
        # and no sign of a zero reaches a non-zero entry; all zeros are made +0.0 below): the same numbers.
        pivot = aug[pivot_row]
        used = np.flatnonzero(pivot)
        aug[np.ix_(others, used)] -= np.outer(aug[others, col], pivot[used])
        pivot_row += 1
    aug[np.abs(aug) < EPS] = 0.0
    return aug[:pivot_row, :-1], aug[:pivot_row, -1]


def protect(values: dict[Hashable, int | None], relations: list[Relation], threshold: int,
            unpublished: frozenset[Hashable] | set[Hashable] = frozenset()) -> dict[Hashable, Cell]:
    """Primary and secondary suppression of a table: every key of `values` gets the Cell to publish.

    Keys in `unpublished` are never published (a linked total's rest): they take part in the relations, and
    a small one is protected like a suppressed count."""
    status: dict[Hashable, Status] = {}
    for key, value in values.items():
        if value is None:
            status[key] = Status.MISSING
        elif key in unpublished:
            status[key] = Status.UNPUBLISHED
        elif is_small(value, threshold):
            status[key] = Status.PRIMARY
        else:
            status[key] = Status.VALUE
    if threshold <= 1:
        return _cells(values, status, threshold)
    related = [r for r in relations if r.total in values]
    table = _Suppression(values, status, related, threshold)
    # One computation's bounds of a group of relations that did not change between two rounds are the same:
    # kept for the rounds of this table only.
    bounds: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
    # A bounded loop: each round withholds at least one more cell, and there are finitely many.
    for _ in range(len(values) + 1):
        lone = table.lone_and_exposed()
        if lone is not None:
            if not table.withhold_one(lone):
                table.withhold_last_resort(lone)
            continue
        deduced = intervals(_cells(values, status, threshold), related, threshold, kept=bounds)
        pinned = [k for k, (lo, hi) in deduced.items()
                  if lo == hi and must_stay_unknown(status[k], values[k], threshold)]
        if not pinned:
            break
        for key in pinned:
            if table.withhold_near(key):
                continue
            around = table.by_key.get(key, [])
            if not any(table.withhold_last_resort(rel) for rel in around):
                # Nothing published is left to withhold (say every cell is a small count, so "<5" on a total
                # and its parts pins them all): stop saying "<5" in these relations and say "[c]" instead.
                for rel in around:
                    table.blur_small(rel)
    return _cells(values, status, threshold)


def protect_versions(tables: list[dict[Hashable, int | None]], relations: list[list[Relation]], threshold: int,
                     unpublished: frozenset[Hashable] | set[Hashable] = frozenset()) -> list[dict[Hashable, Cell]]:
    """Protect several versions of one table together: what a reader who may ask for each of them can combine.

    A reader is assumed to know which cells a correction changed. So a cell with one value in every version
    is one unknown, shared by all of them, and a changed cell is one unknown per value it took; each
    version's relations hold between its own cells. Protecting that one joint table means no version, nor
    any set of versions side by side, narrows a protected count to one value. A cell protected in one
    version is protected in every version with the same value, since it is the same unknown.
    `relations[i]` are version i's relations.
    """
    if len(tables) == 1:
        return [protect(tables[0], relations[0], threshold, unpublished)]
    keys = list(dict.fromkeys(k for table in tables for k in table))
    joint: dict[Hashable, int | None] = {}
    name: list[dict[Hashable, Hashable]] = [{} for _ in tables]
    for key in keys:
        distinct = list(dict.fromkeys(table.get(key) for table in tables))
        for i, table in enumerate(tables):
            value = table.get(key)
            joint_key = key if len(distinct) == 1 else (key, distinct.index(value))
            name[i][key] = joint_key
            joint[joint_key] = value
    joint_relations = list(dict.fromkeys(
        Relation(name[i][rel.total], tuple(name[i].get(p, p) for p in rel.parts))
        for i in range(len(tables)) for rel in relations[i] if rel.total in name[i]))
    joint_unpublished = {name[i][k] for i in range(len(tables)) for k in unpublished if k in name[i]}
    cells = protect(joint, joint_relations, threshold, joint_unpublished)
    return [{key: cells[name[i][key]] for key in table} for i, table in enumerate(tables)]


def _cells(values, status, threshold) -> dict[Hashable, Cell]:
    # An unpublished cell keeps no value either: nothing but its status leaves this module.
    return {k: Cell(status[k], values[k] if status[k] == Status.VALUE else None,
                    shown_for(status[k], values[k], threshold)) for k in values}


class _Suppression:
    """A table under secondary suppression: each cell's status and, for each relation (by its place in
    `related`), how many of its cells are hidden and how many could be withheld as a complement, kept up to date
    as cells are withheld rather than counted afresh.

    protect asks, round after round and for every disclosed cell, which relation hides a single cell and which
    relations near a cell still offer a complement: counting every relation's cells for each question was most
    of its time on the shared picture. The answers, and so the choices, are the ones counting gives."""

    def __init__(self, values: dict[Hashable, int | None], status: dict[Hashable, Status],
                 related: list[Relation], threshold: int):
        self.values, self.status, self.related, self.threshold = values, status, related, threshold
        self.cells = [(rel.total, *rel.parts) for rel in related]
        # A relation is listed once for each time the key appears in it, as the hidden counts count it.
        self.by_key: dict[Hashable, list[int]] = {}
        for i, cells in enumerate(self.cells):
            for key in cells:
                self.by_key.setdefault(key, []).append(i)
        self.hidden = [sum(1 for k in cells if status.get(k) in HIDDEN) for cells in self.cells]
        self.complements = [sum(1 for k in cells if self._complement(k)) for cells in self.cells]
        self.alone = {i for i, n in enumerate(self.hidden) if n == 1}

    def _complement(self, key: Hashable) -> bool:
        return self.status.get(key) == Status.VALUE and self.values[key] >= self.threshold

    def _withhold(self, key: Hashable) -> None:
        """A published cell (VALUE) becomes withheld."""
        complement = self._complement(key)
        self.status[key] = Status.SECONDARY
        for i in self.by_key.get(key, ()):
            self.hidden[i] += 1
            if self.hidden[i] == 1:
                self.alone.add(i)
            else:
                self.alone.discard(i)
            if complement:
                self.complements[i] -= 1

    def lone_and_exposed(self) -> int | None:
        """The first relation that hides one cell only, which it therefore gives away, when that cell must stay
        unknown."""
        for i in sorted(self.alone):
            key = next(k for k in self.cells[i] if self.status.get(k) in HIDDEN)
            if must_stay_unknown(self.status[key], self.values[key], self.threshold):
                return i
        return None

    def withhold_one(self, i: int) -> bool:
        """Withhold the best complement in the relation: the smallest value that hides a full small interval
        (at least 2 x (threshold - 1)), else the largest published non-zero value; never a zero."""
        if not self.complements[i]:
            return False
        rel, values = self.related[i], self.values
        candidates = [k for k in (*rel.parts, rel.total) if self._complement(k)]
        roomy = [k for k in candidates if values[k] >= 2 * (self.threshold - 1)]
        choice = min(roomy, key=lambda k: values[k]) if roomy else max(candidates, key=lambda k: values[k])
        self._withhold(choice)
        return True

    def withhold_near(self, key: Hashable) -> bool:
        """Withhold a complement as close to the disclosed cell as possible: first in its own relations, then in
        the relations reached through other suppressed cells (a disclosure may come from a chain of them). Among
        relations equally near, the one hiding the fewest cells, the first of those in the order reached."""
        seen_keys, seen = {key}, set()
        frontier = [key]
        while frontier:
            near = []
            for k in frontier:
                for i in self.by_key.get(k, ()):
                    if i not in seen:
                        seen.add(i)
                        near.append(i)
            best = None
            for i in near:
                if self.complements[i] and (best is None or self.hidden[i] < self.hidden[best]):
                    best = i
            if best is not None:
                return self.withhold_one(best)
            frontier = []
            for i in near:
                for k in self.cells[i]:
                    if k not in seen_keys and self.status.get(k) in HIDDEN:
                        seen_keys.add(k)
                        frontier.append(k)
        return False

    def withhold_last_resort(self, i: int) -> bool:
        """Nothing of at least the threshold is left to withhold: withhold every published cell of the relation,
        which can only be zeros (a published count is 0 or at least the threshold). True if any was.

        Why a zero may be withheld: when the only published cells left in the relations around a hidden cell are
        zeros, they pin it (a total of zeros and one hidden part is that part, and a chain of such relations
        carries the value on), so withholding them is the only way left to keep it hidden. This is the one case
        in which a zero shows as "[c]"; the README says so."""
        changed = False
        for key in self.cells[i]:
            if self.status.get(key) == Status.VALUE:
                self._withhold(key)
                changed = True
        return changed

    def blur_small(self, i: int) -> None:
        """Show the relation's "<threshold" cells as "[c]", which says nothing about their size."""
        for key in self.cells[i]:
            if self.status.get(key) == Status.PRIMARY:
                self.status[key] = Status.SECONDARY


def rate(numerator: Cell, denominator: float | None, per: float, digits: int = 1) -> tuple[float | None, str]:
    """A rate shown only when its count is published exactly: a rate from a suppressed count would undo it."""
    if numerator.status != Status.VALUE or not denominator:
        return None, "[c]" if numerator.status in SUPPRESSED else "no return" if numerator.status == Status.MISSING \
            else "n/a"
    value = round_half_up(Fraction(numerator.value) * Fraction(per) / Fraction(denominator), digits)
    return value, f"{value:.{digits}f}"
