"""Per-process keeping of panel results and answers, and rendering them ahead for a new data version.

Cost: what is kept is bounded by count and by bytes (each value's size is estimated once, when it is kept), and
only views that more than one reader asked for, or the views a dashboard opens on, are rendered ahead, so one
odd request can neither fill the memory nor make every new return redo its work.

Exactness: a key holds the data version read before computing, the filters and the as-at time, so a kept
answer is only reused while no return has landed since; a past as-at is part of the key. Results are the
same for every user who may see the picture (what a reader may do, e.g. drill down, is part of the key where
it changes the answer), so one worker computes a panel once per data version however many dashboards are open.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

_LEAVES = frozenset({str, bytes, bytearray, int, float, complex, bool, type(None), dt.date, dt.datetime, dt.time,
                     dt.timedelta})
_SAMPLE = 16  # a long list is weighed by this many of its items, spread along it


def approximate_size(value: Any, _seen: set[int] | None = None, _depth: int = 0) -> int:
    """Roughly how many bytes `value` holds, quickly: containers, dataclasses and objects walked (a long list
    or dict by a sample of its items, scaled up), pandas objects by their deep memory use, and anything with an
    integer `nbytes` (numpy arrays, a rendered answer) by that."""
    kind = type(value)
    if kind in _LEAVES:
        return sys.getsizeof(value)
    seen = set() if _seen is None else _seen
    if id(value) in seen or _depth > 40:
        return 0
    seen.add(id(value))
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index):
        usage = value.memory_usage(deep=True)
        return int(usage.sum() if hasattr(usage, "sum") else usage)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    own = sys.getsizeof(value)
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    elif hasattr(value, "__dict__"):
        items = list(vars(value).values())
    elif hasattr(kind, "__slots__"):
        items = [getattr(value, name) for name in kind.__slots__ if hasattr(value, name)]
    else:
        return own
    if not items:
        return own
    sample = items if len(items) <= 2 * _SAMPLE else items[::len(items) // _SAMPLE][:_SAMPLE]
    weighed = sum(approximate_size(item, seen, _depth + 1) for item in sample)
    return own + weighed * len(items) // len(sample)


class PanelCache:
    """Least-recently-used, thread-safe, and single-flight: when several requests ask for the same key at
    once (every dashboard, just after a return lands), one computes it and the others wait for its answer.

    Bounded by count (`size`) and by bytes (`max_bytes`, each value weighed once by `weigh`): the least
    recently used go first, and a value larger than the whole budget is returned but not kept."""

    def __init__(self, size: int = 256, max_bytes: int = 256 * 1024 * 1024,
                 weigh: Callable[[Any], int] = approximate_size):
        self.size = size
        self.max_bytes = max_bytes
        self._weigh = weigh
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self.kept_bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key][0]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    break
            pending.wait()  # another thread is computing it; if that failed, the loop computes it here
        try:
            value = compute()
            weight = self._weigh(value)
            with self._lock:
                self.misses += 1
                if weight <= self.max_bytes:
                    self._items[key] = (value, weight)
                    self.kept_bytes += weight
                    while len(self._items) > self.size or self.kept_bytes > self.max_bytes:
                        _key, (_value, gone) = self._items.popitem(last=False)
                        self.kept_bytes -= gone
                else:
                    log.warning("a panel answer of about %s bytes was not kept (the budget is %s)", weight,
                                self.max_bytes)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.set()


class RecentViews:
    """The views (any hashable description) asked for lately, at most `size`, the newest last, each with the
    readers who asked for it (at most `readers_kept` remembered per view). At most `ahead` are rendered ahead.

    Worth rendering ahead: a view any dashboard opens on (`canonical`), or one that at least `min_readers`
    different readers asked for. A view one reader made up (a hand-made request, an odd link) is computed when
    asked, and never again on their behalf."""

    def __init__(self, size: int = 256, ahead: int = 24, min_readers: int = 2, readers_kept: int = 8):
        self.size = size
        self.ahead = ahead
        self.min_readers = min_readers
        self.readers_kept = readers_kept
        self._views: OrderedDict[Hashable, tuple[bool, set[Hashable]]] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, view: Hashable, reader: Hashable = None, *, canonical: bool = False) -> None:
        with self._lock:
            was_canonical, readers = self._views.pop(view, (False, set()))
            if len(readers) < self.readers_kept:
                readers.add(reader)
            self._views[view] = (was_canonical or canonical, readers)
            while len(self._views) > self.size:
                self._views.popitem(last=False)

    def newest_first(self) -> list[Hashable]:
        """The views worth rendering ahead, newest first."""
        with self._lock:
            wanted = [view for view, (canonical, readers) in reversed(self._views.items())
                      if canonical or len(readers) >= self.min_readers]
        return wanted[:self.ahead]


class Warmer:
    """Renders ahead for a new data version, in a background thread, so that dashboards told of the new
    version find their panels ready. `ready(version)` starts the work if needed and says whether to tell
    them now: when the work is done, or once `hold_seconds` have passed since the version was first seen
    (the live promise, new figures within seconds, comes before speed)."""

    def __init__(self, warm: Callable[[int], None], hold_seconds: float):
        self._warm = warm
        self.hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._done = -1
        self._running: int | None = None
        self._first_seen: dict[int, float] = {}

    def ready(self, version: int) -> bool:
        with self._lock:
            if version <= self._done:
                return True
            now = time.monotonic()
            first = self._first_seen.setdefault(version, now)
            if self._running is None:
                self._running = version
                threading.Thread(target=self._run, args=(version,), name="maic-warm", daemon=True).start()
            return now - first >= self.hold_seconds

    def _run(self, version: int) -> None:
        try:
            self._warm(version)
        except Exception:  # noqa: BLE001  (rendering ahead is an optimisation: the request path still works)
            log.exception("rendering ahead for data version %s failed", version)
        finally:
            with self._lock:
                self._done = max(self._done, version)
                self._running = None
                self._first_seen = {v: t for v, t in self._first_seen.items() if v > version}
