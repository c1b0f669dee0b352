"""Per-process keeping of panel results and answers, and rendering them ahead for a new data version.

Exactness: a key holds the data version read before computing, the filters and the as-at time, so a kept
answer is only reused while no return has landed since; a past as-at is part of the key. Results are the
same for every user who may see the picture (what a reader may do, e.g. drill down, is part of the key where
it changes the answer), so one worker computes a panel once per data version however many dashboards are open.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger(__name__)


class PanelCache:
    """Least-recently-used, thread-safe, and single-flight: when several requests ask for the same key at
    once (every dashboard, just after a return lands), one computes it and the others wait for its answer."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    break
            pending.wait()  # another thread is computing it; if that failed, the loop computes it here
        try:
            value = compute()
            with self._lock:
                self.misses += 1
                self._items[key] = value
                self._items.move_to_end(key)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.set()


class RecentViews:
    """The views (any hashable description) asked for lately, at most `size`, the newest last."""

    def __init__(self, size: int = 24):
        self.size = size
        self._views: OrderedDict[Hashable, None] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, view: Hashable) -> None:
        with self._lock:
            self._views[view] = None
            self._views.move_to_end(view)
            while len(self._views) > self.size:
                self._views.popitem(last=False)

    def newest_first(self) -> list[Hashable]:
        with self._lock:
            return list(reversed(self._views))


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
