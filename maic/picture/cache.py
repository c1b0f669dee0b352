"""A small per-process cache of panel results, keyed by the data version and the exact question.

Exactness: a key holds the data version read before computing, the filters and the as-at time, so a cached
answer is only reused while no return has landed since; a past as-at is part of the key. Results are the
same for every user who may see the picture (no per-user data goes in), so one worker computes a panel once
per data version however many dashboards are open.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class PanelCache:
    def __init__(self, size: int = 256):
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
        value = compute()  # outside the lock: two workers threads may compute the same key once each, harmlessly
        with self._lock:
            self.misses += 1
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
