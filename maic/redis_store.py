"""The deployment's shared Redis (MAIC_REDIS_URL), used only as an optimisation that every caller can do without.

Redis holds nothing the picture needs to be right: kept answers, who computes what, which views to render
ahead. So when it stops, `call` returns `missing` at once (short socket timeouts), the app keeps answers per
process as it does without Redis, and the outage is logged once. It is tried again after a pause that
doubles up to `max_backoff` seconds, and when a ping answers, shared use resumes and that is logged too.

Never imports flask or dash.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

log = logging.getLogger(__name__)

T = TypeVar("T")
MISSING: Any = object()  # what `call` gives when Redis could not be asked
ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisStore:
    """One Redis client per process (redis-py's pool is thread-safe), with every key under `prefix`."""

    def __init__(self, url: str, prefix: str, *, timeout: float = 0.5, first_backoff: float = 0.5,
                 max_backoff: float = 15.0, clock: Callable[[], float] = time.monotonic):
        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                           health_check_interval=30)
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._backoff = first_backoff
        self._retry_at = 0.0
        self.failures = 0  # how many times it was found unreachable (each outage counts once)
        self._refusals: set[str] = set()

    def key(self, *parts: object) -> str:
        return ":".join((self.prefix, *(str(p) for p in parts)))

    @property
    def up(self) -> bool:
        return self._down_since is None

    def usable(self) -> bool:
        """Whether to ask Redis now: yes when it is up; when down, once per backoff period (and then only if a
        ping answers), so an outage costs a request nothing."""
        if self._down_since is None:
            return True
        with self._lock:
            if self._down_since is None:
                return True
            now = self._clock()
            if now < self._retry_at:
                return False
            self._retry_at = now + self._backoff  # one thread tries; the others go on without Redis
            self._backoff = min(self._backoff * 2, self.max_backoff)
        try:
            self.client.ping()
        except ERRORS:
            return False
        with self._lock:
            if self._down_since is not None:
                log.warning("Redis at %s is reachable again after %.0f s: answers are shared again",
                            _safe(self.url), self._clock() - self._down_since)
            self._down_since = None
            self._backoff = self.first_backoff
        return True

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = self._clock()
            self._retry_at = self._down_since + self._backoff
            self.failures += 1
        log.warning("Redis at %s is unreachable (%s): keeping answers per process until it is back",
                    _safe(self.url), exc.__class__.__name__)

    def call(self, action: Callable[[redis.Redis], T]) -> T:
        """action(client), or MISSING when Redis is down or fails now (unreachable: it is marked down; any other
        refusal, e.g. out of memory under `maxmemory`, is logged once per kind and the caller goes without)."""
        if not self.usable():
            return MISSING
        try:
            return action(self.client)
        except ERRORS as exc:
            self.failed(exc)
            return MISSING
        except redis.RedisError as exc:
            kind = f"{exc.__class__.__name__}: {str(exc)[:80]}"
            with self._lock:
                new = kind not in self._refusals and len(self._refusals) < 32
                self._refusals.add(kind)
            if new:
                log.warning("Redis at %s refused a command (%s): going on without it", _safe(self.url), kind)
            return MISSING

    def close(self) -> None:
        self.client.close()


def _safe(url: str) -> str:
    """The URL without a password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rpartition("@")[2]
    return scheme + sep + rest


def prefix_for(config_prefix: str, database_url: str) -> str:
    """The deployment's prefix: the configured one and the database it serves, so that two databases (a test,
    a restore beside the live one) never read each other's kept answers from one Redis."""
    return f"{config_prefix}:{hashlib.sha256(database_url.encode()).hexdigest()[:12]}"


def for_app(app: Any) -> RedisStore | None:
    """The app's RedisStore (made on first use), or None when MAIC_REDIS_URL is not set (a laptop)."""
    url = app.config.get("MAIC_REDIS_URL")
    if not url:
        return None
    store = app.extensions.get("maic.redis")
    if store is None:
        prefix = prefix_for(app.config["MAIC_REDIS_PREFIX"], str(app.config["MAIC_DATABASE_URL"]))
        store = app.extensions.setdefault("maic.redis", RedisStore(url, prefix))
    return store
