"""A trend's per-week values kept per process, each week under the newest change that could alter it.

A trend (the pressure panel's red cells per week, the shortfall per week, the releases series) is a value per
week, and a week's value can change only with a change that reaches it (maic.picture.changes): a return for the
newest week leaves every older week's value as it was. So each week's value is kept under its affecting change,
and a request computes only the weeks whose affecting change is not the one kept, in one query over the range
they span (a change reaches its first week and every later one, so those are the newest weeks, one range).

Live figures only (as_at None): as at a past time a trend is computed as before. A session that has written in
its transaction (core.note_stamp keeps no stamp for it) computes afresh too: its rows may not be in any change.
What else a week's value depends on (the areas in scope, their populations, the thresholds) is in the caller's
key, and changes to it bump the data version for every week (first_week None) as well.

Bounded: per engine, at most KEYS trends (views), each holding one value per week it was asked for; the oldest
trend asked for is dropped first.
"""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import orm

from maic.picture.changes import affecting_stamps
from maic.picture.core import _STAMPED, WEEK, data_stamp

V = TypeVar("V")
KEYS = 512

_LOCK = threading.Lock()
# engine -> trend key -> week -> (affecting stamp, value). By engine, not URL: a database recreated under the
# same URL (tests) is a new engine, and never meets values kept for the old one.
_KEPT: weakref.WeakKeyDictionary[Any, OrderedDict[tuple, dict[dt.date, tuple]]] = weakref.WeakKeyDictionary()
_AFRESH = threading.local()
computed_weeks = 0  # weeks computed through per_week (tests: a newest-week return computes one)


@contextmanager
def afresh():
    """Nothing kept is read or kept inside (tests: the trends computed afresh, to compare with the kept ones)."""
    before = getattr(_AFRESH, "on", False)
    _AFRESH.on = True
    try:
        yield
    finally:
        _AFRESH.on = before


def per_week(session: orm.Session, key: tuple, week_from: dt.date, week_to: dt.date, as_at: dt.datetime | None,
             compute: Callable[[dt.date, dt.date], dict[dt.date, V]]) -> dict[dt.date, V]:
    """compute(week_from, week_to) (week -> value, for the weeks that have one), with the weeks whose values are
    kept under their current affecting change not computed again. `key` names the trend and everything other than
    the data its value depends on."""
    global computed_weeks
    weeks = [week_from + i * WEEK for i in range((week_to - week_from).days // 7 + 1)]
    if as_at is not None or getattr(_AFRESH, "on", False) or not weeks:
        computed_weeks += len(weeks)
        return compute(week_from, week_to)
    stamp = data_stamp(session)
    if session.info.get(_STAMPED) is None:  # the session wrote in this transaction
        computed_weeks += len(weeks)
        return compute(week_from, week_to)
    affecting = affecting_stamps(session, stamp, weeks)
    bind = session.get_bind()
    with _LOCK:
        held = _KEPT.setdefault(bind, OrderedDict())
        trend = held.get(key)
        if trend is not None:
            held.move_to_end(key)
        kept = {w: trend[w] for w in weeks if trend is not None and w in trend and trend[w][0] == affecting[w]}
    missing = [w for w in weeks if w not in kept]
    out = {w: value for w, (_s, value) in kept.items() if value is not _NONE}
    if not missing:
        return out
    lo, hi = missing[0], missing[-1]
    found = compute(lo, hi)
    span = [w for w in weeks if lo <= w <= hi]
    computed_weeks += len(span)
    for w in span:
        if w in found:
            out[w] = found[w]
        else:
            out.pop(w, None)
    with _LOCK:
        held = _KEPT.setdefault(bind, OrderedDict())
        trend = held.setdefault(key, {})
        held.move_to_end(key)
        for w in span:
            trend[w] = (affecting[w], found.get(w, _NONE))
        while len(held) > KEYS:
            held.popitem(last=False)
    return out


class _Absent:
    """A week with no value (no figure at all): kept as such, distinct from any value."""

    def __repr__(self) -> str:
        return "no value"


_NONE: Any = _Absent()
