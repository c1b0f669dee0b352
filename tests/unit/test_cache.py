"""The panel cache (single flight under concurrency) and the warmer that renders ahead for a new version."""

from __future__ import annotations

import threading
import time

import pytest

from maic.picture.cache import PanelCache, RecentViews, Warmer


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
        views.seen(view)
    assert views.newest_first() == ["c", "a"]


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
