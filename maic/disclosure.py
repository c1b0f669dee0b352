"""Statistical disclosure control for everything shared outside the LRF (the shared view, its exports, the API).

Owns the rules: counts from 1 to threshold-1 are shown as "<threshold" (primary suppression); further cells are
withheld (secondary suppression) until no suppressed cell can be worked out from the published totals,
cumulative figures or differences between weeks; rates are never computed from a suppressed count.

How it works: a table is a set of cells (base figures and the totals published with them) and the linear
relations between them ("this total is the sum of those cells"). An attacker who sees every published number
knows each relation, that a primary cell lies in [1, threshold-1] and that a secondary cell is at least the
threshold (we never pick a zero as a complement). `intervals` propagates those bounds through the relations
to a fixed point: a suppressed cell whose interval closes to one value would be disclosed, so `protect`
withholds more cells until none does. Pure Python; no database, no web.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from enum import StrEnum

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
              max_rounds: int = 200) -> dict[Hashable, tuple[float, float]]:
    """What a reader can deduce about each suppressed cell: its [low, high] after propagating every relation."""
    bounds: dict[Hashable, tuple[float, float]] = {}
    for key, cell in published.items():
        if cell.status == Status.VALUE:
            bounds[key] = (cell.value, cell.value)
        elif cell.status == Status.PRIMARY:
            bounds[key] = (1, threshold - 1)
        elif cell.status == Status.SECONDARY:
            bounds[key] = (threshold, INF)
    usable = []
    for rel in relations:
        terms = [(rel.total, 1)] + [(p, -1) for p in rel.parts]
        if rel.total not in bounds:
            continue
        terms = [(k, c) for k, c in terms if k in bounds]  # missing cells count as nothing, openly
        if len(terms) < 2:
            continue
        usable.append(terms)
    for _ in range(max_rounds):
        changed = False
        for terms in usable:
            # Each term's contribution to "minus the others": [-c*hi, -c*lo] for c=+1, [lo, hi] for c=-1.
            contrib = [((-ohi, -olo) if c == 1 else (olo, ohi)) for (o, c) in terms for olo, ohi in [bounds[o]]]
            lo_sum = sum(a for a, _ in contrib if a != -INF)
            lo_inf = sum(1 for a, _ in contrib if a == -INF)
            hi_sum = sum(b for _, b in contrib if b != INF)
            hi_inf = sum(1 for _, b in contrib if b == INF)
            for (key, coef), (a, b) in zip(terms, contrib, strict=True):
                lo, hi = bounds[key]
                if lo == hi:
                    continue
                rest_lo = -INF if lo_inf - (a == -INF) else lo_sum - (0 if a == -INF else a)
                rest_hi = INF if hi_inf - (b == INF) else hi_sum - (0 if b == INF else b)
                # coef * key = -(sum of the others)
                new_lo, new_hi = (rest_lo, rest_hi) if coef == 1 else (-rest_hi, -rest_lo)
                new_lo, new_hi = max(lo, new_lo), min(hi, new_hi)
                if (new_lo, new_hi) != (lo, hi) and new_lo <= new_hi:
                    bounds[key] = (new_lo, new_hi)
                    changed = True
        if not changed:
            break
    return {k: b for k, b in bounds.items() if published[k].status in SUPPRESSED}


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
        pinned = [k for k, (lo, hi) in deduced.items() if status[k] == Status.PRIMARY and lo == hi]
        if not pinned:
            break
        for key in pinned:
            if status[key] != Status.PRIMARY:
                continue
            rels = sorted(by_key.get(key, []), key=lambda r: _count_suppressed(r, status))
            if not any(_withhold_one(r, values, status, threshold) for r in rels):
                for rel in rels:
                    _withhold_last_resort(rel, values, status)
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


def _withhold_last_resort(rel: Relation, values, status) -> None:
    """Nothing non-zero is left to withhold: withhold every published cell of the relation."""
    for key in (rel.total, *rel.parts):
        if status.get(key) == Status.VALUE:
            status[key] = Status.SECONDARY


def rate(numerator: Cell, denominator: float | None, per: float, digits: int = 1) -> tuple[float | None, str]:
    """A rate shown only when its count is published exactly: a rate from a suppressed count would undo it."""
    if numerator.status != Status.VALUE or not denominator:
        return None, "[c]" if numerator.status in SUPPRESSED else "no return" if numerator.status == Status.MISSING \
            else "n/a"
    value = round(numerator.value * per / denominator, digits)
    return value, f"{value:.{digits}f}"
