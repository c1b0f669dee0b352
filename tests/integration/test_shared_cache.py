"""The cache shared by every worker through Redis (maic.picture.SharedCache, SharedRecentViews, SharedWarmer),
against a private redis-server: each 'worker' is its own per-process cache and its own Redis client, as two
processes are. Redis stopping mid-run costs a worker nothing but the sharing."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from layouts.plain import from_bytes, rendered, to_bytes
from maic.picture.cache import PanelCache, RecentViews, SharedCache, SharedRecentViews, SharedWarmer
from maic.redis_store import RedisStore
from tests import services

private_redis = services.private_redis  # the fixture, under its own name
ROOT = Path(__file__).resolve().parents[2]


def text(value: str) -> bytes:
    return value.encode()


def worker(server, prefix: str = "t", **options) -> SharedCache:
    store = RedisStore(server.url, prefix, first_backoff=0.2, max_backoff=0.4)
    return SharedCache(PanelCache(), store, text, bytes.decode, **options)


@pytest.fixture
def stores():
    made: list[SharedCache] = []
    yield made
    for cache in made:
        cache.store.close()


def ask_together(stores, threads_each: int, compute) -> list:
    """Every store (a worker) asked for the same answer by `threads_each` threads at once; their answers."""
    results: list = []
    threads = [threading.Thread(target=lambda c=cache: results.append(c.get(("rendered", "p", 1), compute)))
               for cache in stores for _ in range(threads_each)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_workers_asking_at_once_compute_an_answer_once_for_the_deployment(private_redis, stores):
    stores += [worker(private_redis) for _ in range(3)]
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.3)
        return "answer"

    results = ask_together(stores, 3, slow)
    assert results == ["answer"] * 9
    assert len(calls) == 1
    assert sum(c.computed for c in stores) == 1 and sum(c.shared_hits for c in stores) == 2
    assert private_redis.client().hget("t:stats", "computed:p") == b"1"
    # Kept in each worker too: asked again, nothing goes to Redis.
    hits = [c.shared_hits for c in stores]
    assert [c.get(("rendered", "p", 1), slow) for c in stores] == ["answer"] * 3
    assert [c.shared_hits for c in stores] == hits


class FinishesFirst:
    """A worker's Redis client that lets another worker compute, keep and let go of an answer right after this
    worker's first look found nothing: the moment a busy machine can put between the look and taking the lock."""

    def __init__(self, store: RedisStore, other: Callable[[], object]):
        self.store, self.other, self.calls = store, other, 0

    def call(self, action):
        found = self.store.call(action)
        self.calls += 1
        if self.calls == 1:
            self.other()
        return found

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_an_answer_kept_between_a_workers_look_and_its_lock_is_not_computed_again(private_redis, stores):
    first, second = worker(private_redis), worker(private_redis)
    stores += [first, second]
    calls: list[str] = []

    def compute(who: str):
        return lambda: calls.append(who) or "answer"

    first.store = FinishesFirst(first.store, lambda: second.get(("rendered", "p", 1), compute("second")))
    assert first.get(("rendered", "p", 1), compute("first")) == "answer"
    assert calls == ["second"]
    assert private_redis.client().hget("t:stats", "computed:p") == b"1"
    assert first.shared_hits == 1


def test_when_the_computing_worker_fails_another_computes_it(private_redis, stores):
    first, second = worker(private_redis), worker(private_redis)
    stores += [first, second]
    started = threading.Event()

    def broken():
        started.set()
        time.sleep(0.2)
        raise RuntimeError("database gone")

    failure: list[BaseException] = []

    def run_first():
        try:
            first.get("k", broken)
        except RuntimeError as exc:
            failure.append(exc)

    thread = threading.Thread(target=run_first)
    thread.start()
    started.wait(5)
    assert second.get("k", lambda: "second's answer") == "second's answer"  # waited, then computed it
    thread.join(5)
    assert failure and second.waited == 1


# Another worker, in a process of its own, that takes the lock on an answer (or the claim on rendering a version
# ahead), says so, and computes until it is killed.
_HOLDER = """
import sys, time
from maic.picture.cache import PanelCache, SharedCache, SharedWarmer
from maic.redis_store import RedisStore

store = RedisStore(sys.argv[1], "t")

def forever(*_):
    print("computing", flush=True)
    time.sleep(600)

if sys.argv[2] == "cache":
    SharedCache(PanelCache(), store, str.encode, bytes.decode).get(("rendered", "p", 1), forever)
else:
    SharedWarmer(forever, hold_seconds=30, store=store).ready(7)
    time.sleep(600)
"""


class Holder:
    """A worker process computing for good, until `kill()` sends it SIGKILL (no `finally` runs, as when the
    OOM killer or an operator's kill -9 takes a gunicorn worker)."""

    def __init__(self, server, kind: str):
        self.process = subprocess.Popen([sys.executable, "-c", _HOLDER, server.url, kind], cwd=ROOT,
                                        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE)
        line = self.process.stdout.readline() if self.process.stdout else b""
        if line.strip() != b"computing":
            self.kill()
            raise AssertionError(f"the holder did not start computing: {line!r}")

    def kill(self) -> float:
        """When it was killed (time.monotonic)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        if self.process.stdout:
            self.process.stdout.close()
        return time.monotonic()


def test_a_worker_killed_while_computing_is_replaced_within_the_locks_life_not_the_wait(private_redis, stores):
    waiting = worker(private_redis)  # the defaults: a lock of 5 s, a 30 s wait
    stores.append(waiting)
    holder = Holder(private_redis, "cache")
    found: list[tuple[str, float]] = []
    try:
        thread = threading.Thread(target=lambda: found.append(
            (waiting.get(("rendered", "p", 1), lambda: "answer"), time.monotonic())))
        thread.start()
        time.sleep(1)
        assert waiting.waited == 1 and not found  # the holder is alive: its answer is waited for
        killed = holder.kill()
    finally:
        if holder.process.poll() is None:
            holder.kill()
    thread.join(waiting.wait_seconds)
    assert found and found[0][0] == "answer"
    assert found[0][1] - killed < waiting.lock_seconds + 1.5  # not the 30 s wait
    assert waiting.computed == 1
    assert private_redis.client().get(waiting._name(("rendered", "p", 1))) == b"answer"  # shared for the others


def test_a_holder_computing_longer_than_its_lock_lives_keeps_it_and_computes_once(private_redis, stores):
    stores += [worker(private_redis, lock_seconds=1), worker(private_redis, lock_seconds=1)]
    calls = []

    def slow():
        calls.append(1)
        time.sleep(3)  # three times the lock's life: only its renewals keep it
        return "answer"

    results = ask_together(stores, 2, slow)
    assert results == ["answer"] * 4
    assert len(calls) == 1
    assert private_redis.client().hget("t:stats", "computed:p") == b"1"
    assert not private_redis.client().keys("t:computing:*")  # let go once done


def test_a_worker_killed_while_rendering_ahead_is_replaced_within_the_claims_life(private_redis, stores):
    stores.append(worker(private_redis))
    warmed: list[int] = []
    warmer = SharedWarmer(lambda version: warmed.append(version), hold_seconds=30, store=stores[0].store)
    holder = Holder(private_redis, "warmer")
    try:
        assert warmer.ready(7) is False and not warmed  # claimed by the holder, which is alive
        killed = holder.kill()
    finally:
        if holder.process.poll() is None:
            holder.kill()
    while not warmer.ready(7):  # as dashboards' live checks ask, every few seconds
        assert time.monotonic() - killed < warmer.claim_seconds + 1.5  # not the five minutes it was
        time.sleep(0.05)
    assert warmed == [7]


def test_a_worker_rendering_ahead_longer_than_its_claim_lives_keeps_it(private_redis, stores):
    stores += [worker(private_redis), worker(private_redis)]
    warmed: list[int] = []

    def warm(version):
        time.sleep(3)  # three times the claim's life
        warmed.append(version)

    warmers = [SharedWarmer(warm, hold_seconds=30, store=cache.store, claim_seconds=1) for cache in stores]
    deadline = time.monotonic() + 10
    while not all(w.ready(7) for w in warmers):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert warmed == [7]
    assert not private_redis.client().keys("t:warming:*")  # let go once done


def test_what_is_shared_is_bounded_by_count_bytes_and_time(private_redis, stores):
    cache = worker(private_redis, max_count=3, max_bytes=10_000, max_value_bytes=4_000, ttl=60)
    stores.append(cache)
    client = private_redis.client()
    for n in range(5):
        cache.get(("rendered", "p", n), lambda n=n: f"answer {n}")
    assert client.zcard("t:answers") == 3  # the two oldest were dropped
    assert 0 < client.ttl(client.zrange("t:answers", 0, 0)[0].decode().partition("|")[2]) <= 60
    assert len(client.keys("t:answer:*")) == 3
    cache.get(("rendered", "big", 0), lambda: "x" * 5_000)  # larger than one answer may be: not shared
    assert len(client.keys("t:answer:*")) == 3
    for n in range(3):
        cache.get(("rendered", "q", n), lambda: "y" * 3_900)
    assert int(client.get("t:answers-bytes")) <= 10_000  # the byte budget: the oldest went first
    assert len(client.keys("t:answer:*")) == client.zcard("t:answers") == 2
    client.close()


def test_redis_stopping_falls_back_to_each_process_logs_once_and_sharing_resumes(private_redis, stores, caplog):
    first, second = worker(private_redis), worker(private_redis)
    stores += [first, second]
    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return value
        return run

    assert first.get(("rendered", "p", 1), compute("v1")) == "v1"
    private_redis.stop()
    caplog.set_level(logging.WARNING, logger="maic.redis_store")
    # Version 2 lands while Redis is down: each worker computes it for itself, and keeps it.
    for _ in range(3):
        assert first.get(("rendered", "p", 2), compute("v2")) == "v2"
        assert second.get(("rendered", "p", 2), compute("v2")) == "v2"
    assert calls == ["v1", "v2", "v2"]
    down = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(down) == 2  # once per worker, not once per request
    private_redis.start()
    time.sleep(0.5)  # past the backoff
    assert first.get(("rendered", "p", 3), compute("v3")) == "v3"
    assert second.get(("rendered", "p", 3), compute("v3")) == "v3"
    assert calls == ["v1", "v2", "v2", "v3"]  # shared again: computed once
    assert any("reachable again" in r.getMessage() for r in caplog.records)


def test_a_view_two_readers_asked_for_on_two_workers_is_rendered_ahead(private_redis, stores):
    stores += [worker(private_redis), worker(private_redis)]
    views = [SharedRecentViews(RecentViews(), cache.store, str, str) for cache in stores]
    views[0].seen("week 36", "reader-a")
    views[1].seen("week 36", "reader-b")  # each worker saw one reader; together, two
    views[1].seen("odd", "reader-b")
    views[0].seen("opening", "reader-c", canonical=True)
    assert views[0].local.newest_first() == ["opening"]  # alone, a worker would not render week 36 ahead
    assert views[0].newest_first() == views[1].newest_first() == ["opening", "week 36"]


def test_a_new_version_is_rendered_ahead_by_one_worker_and_announced_by_all(private_redis, stores):
    stores += [worker(private_redis), worker(private_redis)]
    warmed: list[int] = []
    done = threading.Event()

    def warm(version):
        time.sleep(0.2)
        warmed.append(version)
        done.set()

    warmers = [SharedWarmer(warm, hold_seconds=30, store=cache.store) for cache in stores]
    assert [w.ready(7) for w in warmers] == [False, False]  # being rendered, not yet told
    assert done.wait(5)
    deadline = time.monotonic() + 5
    while not all(w.ready(7) for w in warmers):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert warmed == [7]


def test_a_redis_that_refuses_writes_or_holds_garbage_costs_nothing_but_the_sharing(private_redis, stores, caplog):
    first, second = worker(private_redis), worker(private_redis)
    stores += [first, second]
    client = private_redis.client()
    try:
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")  # every write refused: "OOM command not allowed"
        caplog.set_level(logging.WARNING, logger="maic.redis_store")
        for n in range(3):
            assert first.get(("rendered", "p", n), lambda n=n: f"answer {n}") == f"answer {n}"
        refused = [r.getMessage() for r in caplog.records if "refused a command" in r.getMessage()]
        assert len(refused) == 1 and "OutOfMemoryError" in refused[0]
        assert first.store.up  # refused, not unreachable: reads still go to Redis
        client.config_set("maxmemory", "0")
        answers = SharedCache(PanelCache(), second.store, to_bytes, from_bytes)  # as the app keeps its answers
        client.set(answers._name(("rendered", "p", 9)), b"not an answer")
        found = answers.get(("rendered", "p", 9), lambda: rendered("answer 9"))  # garbage: computed again
        assert orjson.dumps(found.value()) == b'"answer 9"' and answers.computed == 1
    finally:
        client.close()
