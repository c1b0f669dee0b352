"""The panel cache (single flight under concurrency) and the warmer that renders ahead for a new version."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from maic.picture.cache import PanelCache, RecentViews, Warmer, approximate_size


def test_concurrent_requests_for_one_key_compute_it_once():
    cache, calls, started = PanelCache(), [], threading.Event()

    def slow():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "answer"

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert results == ["answer"] * 5 and len(calls) == 1


def test_a_failed_computation_is_not_kept_and_the_next_caller_computes_again():
    cache = PanelCache()

    def broken():
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError):
        cache.get("k", broken)
    assert cache.get("k", lambda: 42) == 42


def test_the_least_recently_used_answer_goes_first():
    cache = PanelCache(size=2)
    cache.get("a", lambda: 1)
    cache.get("b", lambda: 2)
    cache.get("a", lambda: 0)  # a used again
    cache.get("c", lambda: 3)  # b goes
    assert cache.get("a", lambda: "lost") == 1
    assert cache.get("b", lambda: "again") == "again"


def test_recent_views_newest_first_and_bounded():
    views = RecentViews(size=2)
    for view in ("a", "b", "a", "c"):
        views.seen(view, "reader", canonical=True)
    assert views.newest_first() == ["c", "a"]


def test_a_view_one_reader_made_up_is_not_rendered_ahead():
    views = RecentViews()
    views.seen("default", "alice", canonical=True)
    for _ in range(5):  # asking again and again is still one reader
        views.seen("odd", "mallory")
    assert views.newest_first() == ["default"]
    views.seen("odd", "bob")  # a second reader wants it: worth rendering ahead
    assert views.newest_first() == ["odd", "default"]


def test_odd_views_cannot_push_the_opening_views_out_of_the_rendering_ahead():
    views = RecentViews(ahead=3)
    views.seen("default", "alice", canonical=True)
    for n in range(100):
        views.seen(("odd", n), "mallory")
    assert views.newest_first() == ["default"]


def test_the_cache_keeps_at_most_its_budget_in_bytes_and_drops_the_least_recently_used():
    cache = PanelCache(size=100, max_bytes=3_000_000)
    for key in "abcd":
        cache.get(key, lambda: b"x" * 1_000_000)
    assert len(cache) == 2 and cache.kept_bytes <= 3_000_000
    assert cache.get("a", lambda: "recomputed") == "recomputed"  # a and b went first
    assert cache.get("d", lambda: "lost") == b"x" * 1_000_000


def test_a_value_larger_than_the_whole_budget_is_returned_but_not_kept():
    cache = PanelCache(max_bytes=1_000_000)
    cache.get("small", lambda: "s")
    huge = cache.get("huge", lambda: pd.DataFrame({"v": range(500_000)}))
    assert len(huge) == 500_000
    assert len(cache) == 1 and cache.get("huge", lambda: "again") == "again"
    assert cache.get("small", lambda: "lost") == "s"


def test_sizes_are_estimated_through_containers_dataclasses_and_frames():
    frame = pd.DataFrame({"area": ["E07000008"] * 10_000, "value": range(10_000)})
    assert approximate_size(frame) > 80_000
    nested = {"rows": [("E07000008", n) for n in range(10_000)], "frame": frame}
    assert approximate_size(nested) > approximate_size(frame) + 10_000 * 50


def wait_until(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_warmer_holds_the_news_until_the_new_version_is_rendered():
    release, warmed = threading.Event(), []

    def warm(version):
        release.wait(5)
        warmed.append(version)

    warmer = Warmer(warm, hold_seconds=60)
    assert warmer.ready(7) is False  # starts rendering ahead
    assert warmer.ready(7) is False
    release.set()
    wait_until(lambda: warmer.ready(7))
    assert warmed == [7] and warmer.ready(6) is True


def test_the_warmer_tells_anyway_once_the_hold_has_passed_and_survives_a_failure(caplog):
    def broken(version):
        time.sleep(0.3)
        raise RuntimeError("no database")

    warmer = Warmer(broken, hold_seconds=0.05)
    assert warmer.ready(3) is False
    time.sleep(0.1)
    assert warmer.ready(3) is True  # the hold passed while rendering
    wait_until(lambda: "rendering ahead for data version 3 failed" in caplog.text)


def test_peek_never_computes_and_put_keeps_within_the_budget():
    cache = PanelCache(size=2, max_bytes=1_000, weigh=len)
    assert cache.peek("a") is None and cache.misses == 0
    cache.put("a", "x" * 400)
    cache.put("b", "y" * 400)
    assert cache.peek("a") == "x" * 400  # now the most recently used
    cache.put("c", "z" * 400)  # over the byte budget: the least recently used ("b") goes
    assert cache.peek("b") is None and cache.peek("a") and cache.peek("c")
    cache.put("a", "w" * 100)  # replaced, weighed again
    assert cache.kept_bytes == 500
    cache.put("huge", "h" * 2_000)  # larger than the whole budget: not kept
    assert cache.peek("huge") is None


def test_a_view_is_worth_keeping_for_others_when_canonical_or_asked_by_two_readers():
    views = RecentViews(min_readers=2)
    views.seen("odd", "reader-a")
    views.seen("odd", "reader-a")
    assert not views.worth("odd") and not views.worth("never seen")
    views.seen("odd", "reader-b")
    views.seen("opening", "reader-a", canonical=True)
    assert views.worth("odd") and views.worth("opening")
