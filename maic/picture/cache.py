"""Keeping panel results and answers, and rendering them ahead for a new data version: per process, and (the
Shared* classes, with MAIC_REDIS_URL) for every worker of the deployment through Redis.

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
import hashlib
import logging
import sys
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

from maic import metrics

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

    def get(self, key: Hashable, compute: Callable[[], Any], *, share: bool = True) -> Any:
        """`share` is for SharedCache (one process keeps everything it computes, within its budget)."""
        while True:
            with self._lock:
                if key in self._items:
                    return self._hit(key)
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = threading.Event()
                    break
            pending.wait()  # another thread is computing it; if that failed, the loop computes it here
        try:
            value = compute()
            self.put(key, value, miss=True)
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.set()

    def peek(self, key: Hashable) -> Any:
        """The value kept for `key`, or None: never computes (a request's fast path)."""
        with self._lock:
            if key in self._items:
                return self._hit(key)
        return None

    def _hit(self, key: Hashable) -> Any:
        """Called with the lock held and `key` kept."""
        self._items.move_to_end(key)
        self.hits += 1
        metrics.PANEL_CACHE.labels("hit").inc()
        return self._items[key][0]

    def put(self, key: Hashable, value: Any, *, miss: bool = False) -> None:
        weight = self._weigh(value)
        if miss:
            metrics.PANEL_CACHE.labels("miss").inc()
        with self._lock:
            self.misses += miss
            if weight > self.max_bytes:
                log.warning("a panel answer of about %s bytes was not kept (the budget is %s)", weight,
                            self.max_bytes)
                return
            if key in self._items:
                self.kept_bytes -= self._items.pop(key)[1]
            self._items[key] = (value, weight)
            self.kept_bytes += weight
            while len(self._items) > self.size or self.kept_bytes > self.max_bytes:
                _key, (_value, gone) = self._items.popitem(last=False)
                self.kept_bytes -= gone


def panel_cache_for(app: Any) -> PanelCache:
    """The app's per-process cache (made on first use, bounded by MAIC_PANEL_CACHE_BYTES): the dashboards' panels
    and answers and the shared API's pictures all take room from the same budget."""
    cache = app.extensions.get("maic.picture_cache")
    if cache is None:
        cache = app.extensions.setdefault("maic.picture_cache",
                                          PanelCache(max_bytes=int(app.config["MAIC_PANEL_CACHE_BYTES"])))
    return cache


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

    def worth(self, view: Hashable) -> bool:
        """Whether a view is worth keeping for others and rendering ahead: a dashboard's opening view, or one
        that more than one reader asked for."""
        with self._lock:
            canonical, readers = self._views.get(view, (False, set()))
        return canonical or len(readers) >= self.min_readers

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


# --- shared by every worker, through Redis (maic.redis_store) ---------------------------------------------
#
# Only rendered answers go to Redis, as their JSON bytes (the caller's encode/decode): nothing there is ever
# unpickled, and an answer is what a callback would send anyway. Results used by exports and drill-downs stay
# per process. When Redis cannot be asked, each of these does what its per-process twin does.

# Keep one answer: expire the old (past their TTL) from the index, add this one, then drop the oldest until the
# deployment's answers fit in the byte and count budgets. Members are "<bytes>|<key>" so sizes need no lookup.
_KEEP = """
local index, total = KEYS[1], KEYS[2]
local now, ttl, max_bytes, max_count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local name, value = ARGV[5], ARGV[6]
local function forget(member)
  local bar = string.find(member, '|', 1, true)
  redis.call('decrby', total, tonumber(string.sub(member, 1, bar - 1)))
  redis.call('del', string.sub(member, bar + 1))
end
for _, member in ipairs(redis.call('zrangebyscore', index, '-inf', now - ttl)) do
  forget(member)
  redis.call('zrem', index, member)
end
redis.call('set', name, value, 'EX', ttl)
local member = string.len(value) .. '|' .. name
if redis.call('zadd', index, now, member) == 1 then redis.call('incrby', total, string.len(value)) end
redis.call('expire', index, ttl * 2)
redis.call('expire', total, ttl * 2)
while redis.call('zcard', index) > max_count or tonumber(redis.call('get', total) or '0') > max_bytes do
  local oldest = redis.call('zpopmin', index)
  if #oldest == 0 then break end
  forget(oldest[1])
end
return 1
"""
def _digest(key: Hashable) -> str:
    """A key's name in Redis: its repr (the same in every process: dates, strings, numbers, dataclasses), hashed."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:40]


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"
# Extend a claim's life (ARGV[2] ms), only while this holder (ARGV[1]) still holds it.
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"


class Renewal:
    """While its holder works, a daemon thread extends a Redis claim (`name` holding `token`) to `seconds` from
    now, every third of `seconds`. So the claim outlives a slow holder that is alive, and dies within `seconds`
    of a holder killed outright (SIGKILL, the OOM killer: no `finally` runs), when another process takes it
    instead of waiting for an answer that will never come. `stop()` (in the holder's `finally`) ends it.

    If the claim was lost (the holder stalled longer than `seconds`, Redis restarted), renewing stops: another
    process may then compute the same answer, which costs time but is never wrong."""

    def __init__(self, store: Any, name: str, token: str, seconds: float):
        self.store, self.name, self.token = store, name, token
        self.milliseconds = max(int(seconds * 1000), 1)
        self.renewals = 0
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(seconds / 3,), name="maic-claim", daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        from maic.redis_store import MISSING

        while not self._stopped.wait(every):
            held = self.store.call(lambda r: r.eval(_RENEW, 1, self.name, self.token, self.milliseconds))
            if held is MISSING:
                continue  # Redis is down: nobody can take the claim either; try again next time
            if not held:
                log.info("a claim (%s) was lost while its holder worked: another process may do it too",
                         self.name)
                return
            self.renewals += 1

    def stop(self) -> None:
        self._stopped.set()


# SharedCache's own counts that /metrics shows beside this process's hits and misses.
_COUNTED = {"shared_hits": "shared_hit", "computed": "computed"}


class SharedCache:
    """Answers kept for the whole deployment: this process's PanelCache first (a kept answer costs a dict
    lookup), then Redis, then a single flight across processes: one process takes a lock and computes; the others
    wait for its answer in Redis. The lock lives `lock_seconds` (a few) and its holder renews it while it computes
    (Renewal): a holder that is slow but alive keeps it however long it takes, and one that was killed loses it
    within `lock_seconds`, when a waiter takes it and computes. A waiter computes the answer beside a live holder
    only after `wait_seconds`.

    Bounded: each answer expires after `ttl` seconds, one larger than `max_value_bytes` is not shared, and the
    oldest go first once the deployment's answers pass `max_bytes` or `max_count`."""

    def __init__(self, local: PanelCache, store: Any, encode: Callable[[Any], bytes],
                 decode: Callable[[bytes], Any], *, ttl: int = 3600, max_bytes: int = 256 * 1024 * 1024,
                 max_count: int = 2048, max_value_bytes: int = 8 * 1024 * 1024, lock_seconds: float = 5.0,
                 wait_seconds: float = 30.0):
        self.local = local
        self.store = store
        self._encode, self._decode = encode, decode
        self.ttl, self.max_bytes, self.max_count = ttl, max_bytes, max_count
        self.max_value_bytes = max_value_bytes
        self.lock_seconds, self.wait_seconds = lock_seconds, wait_seconds
        self.shared_hits = self.computed = self.waited = 0
        self._count_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.local)

    @property
    def hits(self) -> int:
        return self.local.hits

    @property
    def misses(self) -> int:
        return self.local.misses

    @property
    def kept_bytes(self) -> int:
        return self.local.kept_bytes

    def get(self, key: Hashable, compute: Callable[[], Any], *, share: bool = True) -> Any:
        """The answer for `key`. With `share` false (a view only one reader has asked for), an answer already in
        Redis is still used, but one computed here is kept by this process only: one odd request never takes
        room in the deployment's cache."""
        return self.local.get(key, lambda: self._shared(key, compute, share))

    def peek(self, key: Hashable) -> Any:
        """The answer kept for `key` in this process or in Redis, or None: never computes, never waits."""
        from maic.redis_store import MISSING

        found = self.local.peek(key)
        if found is not None:
            return found
        data = self.store.call(lambda r: r.get(self._name(key)))
        if data is MISSING or data is None:
            return None
        value = self._read(data)
        if value is not None:
            self._count("shared_hits")
            self.local.put(key, value)
        return value

    def _read(self, data: bytes) -> Any:
        """A shared answer decoded, or None if it cannot be (then it is computed again, never an error page)."""
        try:
            return self._decode(data)
        except (ValueError, KeyError, TypeError):
            log.warning("a shared answer could not be read back: computing it again")
            return None

    def _name(self, key: Hashable) -> str:
        return self.store.key("answer", _digest(key))

    def _count(self, name: str) -> None:
        with self._count_lock:
            setattr(self, name, getattr(self, name) + 1)
        if name in _COUNTED:
            metrics.PANEL_CACHE.labels(_COUNTED[name]).inc()

    def _shared(self, key: Hashable, compute: Callable[[], Any], share: bool) -> Any:
        from maic.redis_store import MISSING

        digest = _digest(key)
        name, lock = self.store.key("answer", digest), self.store.key("computing", digest)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait_seconds
        pause = 0.005
        while True:
            found = self.store.call(lambda r: r.get(name))
            if found is MISSING:
                break  # Redis is down: compute here, as without it
            value = None if found is None else self._read(found)
            if value is not None:
                self._count("shared_hits")
                return value
            if not share:
                value = compute()
                self._keep(name, None, key)
                return value
            taken = self.store.call(lambda r: r.set(lock, token, nx=True, px=int(self.lock_seconds * 1000)))
            if taken is MISSING:
                break
            if taken:
                renewal = Renewal(self.store, lock, token, self.lock_seconds)
                try:
                    # Looked at again under the lock: the process that held it may have kept the answer and
                    # let go between this process's look above and its taking the lock (seen under load: the
                    # same answer computed twice).
                    again = self.store.call(lambda r: r.get(name))
                    value = None if again is MISSING or again is None else self._read(again)
                    if value is not None:
                        self._count("shared_hits")
                        return value
                    value = compute()
                    self._keep(name, self._encode(value), key)
                    return value
                finally:
                    renewal.stop()
                    self.store.call(lambda r: r.eval(_RELEASE, 1, lock, token))
            if time.monotonic() > deadline:
                break  # the process computing it is alive but slow: do not keep this reader waiting longer
            if pause == 0.005:
                self._count("waited")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
        self._count("computed")
        return compute()

    def _keep(self, name: str, data: bytes | None, key: Hashable) -> None:
        """Count the computation (the deployment's count, per panel, in Redis) and share `data` if given."""
        self._count("computed")
        panel = key[1] if isinstance(key, tuple) and len(key) > 1 else "answer"

        def keep(r):
            pipe = r.pipeline(transaction=False)
            pipe.hincrby(self.store.key("stats"), f"computed:{panel}", 1)
            if data is not None and len(data) <= self.max_value_bytes:
                pipe.eval(_KEEP, 2, self.store.key("answers"), self.store.key("answers-bytes"), time.time(),
                          self.ttl, self.max_bytes, self.max_count, name, data)
            return pipe.execute()

        self.store.call(keep)
        if data is not None and len(data) > self.max_value_bytes:
            log.warning("an answer of %s bytes was not shared (the most one may be is %s)", len(data),
                        self.max_value_bytes)


# Note a reader's view: newest last, at most `readers` readers remembered for it, the oldest views forgotten.
_SEEN = """
local views, canonical, readers = KEYS[1], KEYS[2], KEYS[3]
local view, reader, now, is_canonical = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local kept, size, ttl, base = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
redis.call('zadd', views, now, view)
if redis.call('scard', readers) < kept then redis.call('sadd', readers, reader) end
redis.call('expire', readers, ttl)
if is_canonical then redis.call('sadd', canonical, view) end
while redis.call('zcard', views) > size do
  local oldest = redis.call('zpopmin', views)
  if #oldest == 0 then break end
  redis.call('srem', canonical, oldest[1])
  redis.call('del', base .. redis.sha1hex(oldest[1]))
end
redis.call('expire', views, ttl)
redis.call('expire', canonical, ttl)
return 1
"""


class SharedRecentViews:
    """RecentViews for the whole deployment: a view two readers asked for on two workers is rendered ahead
    once, by whichever worker claims the new data version (SharedWarmer). Views are stored as the caller's
    text (`encode`/`decode`); each (view, reader) is sent to Redis once per `refresh_seconds`, so a reader's
    requests cost no Redis call of their own. The per-process list is kept too, for when Redis is down."""

    def __init__(self, local: RecentViews, store: Any, encode: Callable[[Hashable], str],
                 decode: Callable[[str], Hashable], *, ttl: int = 7 * 24 * 3600, refresh_seconds: float = 60.0,
                 kind: str = "views"):
        self.local = local
        self.kind = kind  # Redis keys' name: the dashboards' views, or the API's questions, each their own
        self.store = store
        self._encode, self._decode = encode, decode
        self.ttl, self.refresh_seconds = ttl, refresh_seconds
        self._sent: OrderedDict[tuple[Hashable, Hashable], float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, view: Hashable, reader: Hashable = None, *, canonical: bool = False) -> None:
        self.local.seen(view, reader, canonical=canonical)
        now = time.monotonic()
        with self._lock:
            last = self._sent.get((view, reader))
            if last is not None and now - last < self.refresh_seconds:
                return
            self._sent[(view, reader)] = now
            self._sent.move_to_end((view, reader))
            while len(self._sent) > 4 * self.local.size:
                self._sent.popitem(last=False)
        text = self._encode(view)
        base = self.store.key(self.kind, "readers", "")
        self.store.call(lambda r: r.eval(
            _SEEN, 3, self.store.key(self.kind), self.store.key(self.kind, "canonical"),
            base + hashlib.sha1(text.encode()).hexdigest(), text, str(reader), time.time(),  # noqa: S324
            "1" if canonical else "0", self.local.readers_kept, self.local.size, self.ttl, base))

    def worth(self, view: Hashable) -> bool:
        """As RecentViews.worth, counting the readers every worker has seen."""
        from maic.redis_store import MISSING

        if self.local.worth(view):
            return True
        text = self._encode(view)

        def read(r):
            pipe = r.pipeline(transaction=False)
            pipe.sismember(self.store.key(self.kind, "canonical"), text)
            pipe.scard(self.store.key(self.kind, "readers", "") + hashlib.sha1(text.encode()).hexdigest())  # noqa: S324
            return pipe.execute()

        found = self.store.call(read)
        return found is not MISSING and (bool(found[0]) or found[1] >= self.local.min_readers)

    def newest_first(self) -> list[Hashable]:
        from maic.redis_store import MISSING

        def read(r):
            views = [v.decode() for v in r.zrevrange(self.store.key(self.kind), 0, self.local.size - 1)]
            if not views:
                return []
            base = self.store.key(self.kind, "readers", "")
            pipe = r.pipeline(transaction=False)
            for text in views:
                pipe.scard(base + hashlib.sha1(text.encode()).hexdigest())  # noqa: S324
            pipe.smismember(self.store.key(self.kind, "canonical"), views)
            *counts, canonical = pipe.execute()
            return [text for text, count, is_canonical in zip(views, counts, canonical, strict=True)
                    if is_canonical or count >= self.local.min_readers]

        wanted = self.store.call(read)
        if wanted is MISSING:
            return self.local.newest_first()
        return [self._decode(text) for text in wanted[:self.local.ahead]]


# A worker's look at a new version, in one step: done already (1), or when it was first seen (noted now if no
# worker saw it before) and whether this worker now claims rendering it ahead. One step, so that no claim is
# taken after the version was marked done (_run marks it and lets go of its claim in one transaction too).
_LOOK = """
if redis.call('exists', KEYS[1]) == 1 then return {1, false, 0} end
redis.call('set', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2])
local claimed = redis.call('set', KEYS[3], ARGV[3], 'NX', 'PX', ARGV[4]) and 1 or 0
return {0, redis.call('get', KEYS[2]), claimed}
"""


class SharedWarmer:
    """Warmer for the whole deployment: the first worker to see a new data version claims its rendering ahead
    and renews the claim while it renders (Renewal, `claim_seconds`): if it is killed doing it, the claim lapses
    within seconds and the next worker to look claims it and renders instead. Every worker tells its dashboards
    when that is done, or once `hold_seconds` have passed since any worker first saw the version (so a dead
    claimant never delays the announcement beyond the hold). What was first seen and done is remembered for
    `remember_seconds`. Falls back to a per-process Warmer while Redis is down."""

    def __init__(self, warm: Callable[[int], None], hold_seconds: float, store: Any, *, claim_seconds: float = 5.0,
                 remember_seconds: int = 300):
        self.local = Warmer(warm, hold_seconds)
        self._warm = warm
        self.hold_seconds = hold_seconds
        self.store = store
        self.claim_seconds = claim_seconds
        self.remember_seconds = remember_seconds
        self._done = -1
        self._lock = threading.Lock()

    def ready(self, version: int) -> bool:
        from maic.redis_store import MISSING

        if version <= self._done:
            return True
        token = uuid.uuid4().hex

        def look(r):
            return r.eval(_LOOK, 3, self.store.key("warmed", version), self.store.key("first-seen", version),
                          self.store.key("warming", version), repr(time.time()), self.remember_seconds, token,
                          int(self.claim_seconds * 1000))

        found = self.store.call(look)
        if found is MISSING:
            return self.local.ready(version)
        warmed, first_seen, claimed = found
        if warmed:
            with self._lock:
                self._done = max(self._done, version)
            return True
        if claimed:
            renewal = Renewal(self.store, self.store.key("warming", version), token, self.claim_seconds)
            threading.Thread(target=self._run, args=(version, token, renewal), name="maic-warm", daemon=True).start()
        return time.time() - float(first_seen or time.time()) >= self.hold_seconds

    def _run(self, version: int, token: str, renewal: Renewal) -> None:
        try:
            self._warm(version)
        except Exception:  # noqa: BLE001  (rendering ahead is an optimisation: the request path still works)
            log.exception("rendering ahead for data version %s failed", version)
        finally:
            renewal.stop()

            def done(r):
                pipe = r.pipeline(transaction=True)
                pipe.set(self.store.key("warmed", version), "1", ex=self.remember_seconds)
                pipe.eval(_RELEASE, 1, self.store.key("warming", version), token)
                return pipe.execute()

            self.store.call(done)
