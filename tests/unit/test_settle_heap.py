"""settle_heap (maic/web/serving.py): what the process holds is kept out of the collector's way, and garbage made
afterwards is still collected."""

from __future__ import annotations

import gc
import weakref

from maic.web.serving import settle_heap


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_settled_objects_are_frozen_and_later_cycles_are_still_collected():
    try:
        held = [_Node() for _ in range(100)]
        settle_heap()
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(held)
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
