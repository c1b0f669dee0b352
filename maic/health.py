"""Readiness: a registry of named checks that /readyz runs (database, schema, Redis, scheduler heartbeat).

Each check answers "ok", "failed", or a word saying it was not checked ("not configured", "not checked"); only
"failed" makes the deployment not ready. What went wrong is logged here, never answered: the answer is read by
anyone who can reach the server, so it carries no host, URL, error text or figure. Never imports flask or dash.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

log = logging.getLogger(__name__)

OK = "ok"
FAILED = "failed"
NOT_CONFIGURED = "not configured"
NOT_CHECKED = "not checked"
# Redis is asked with this timeout: a readiness probe must answer before the load balancer's own timeout.
REDIS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True)
class CheckContext:
    config: dict[str, Any]
    factory: orm.sessionmaker[orm.Session]


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[CheckContext], str]


CHECKS: list[Check] = []


def register_check(name: str, run: Callable[[CheckContext], str]) -> Check:
    check = Check(name, run)
    CHECKS[:] = [c for c in CHECKS if c.name != name] + [check]
    return check


def run_checks(ctx: CheckContext) -> tuple[bool, dict[str, str]]:
    """(ready, {check name: result}) with every check run, in registration order."""
    results: dict[str, str] = {}
    for check in CHECKS:
        try:
            results[check.name] = check.run(ctx)
        except Exception:  # noqa: BLE001  (a failing check is the answer "failed"; the log keeps why)
            log.exception("readiness check %s failed", check.name)
            results[check.name] = FAILED
    return all(r != FAILED for r in results.values()), results


def _database(ctx: CheckContext) -> str:
    with ctx.factory() as session:
        session.execute(sa.text("SELECT 1"))
    return OK


@functools.cache
def _head_revisions() -> frozenset[str]:
    """The migrations' heads, read from the migration files once per process (they do not change under it)."""
    from alembic.script import ScriptDirectory

    from maic.migrate import alembic_config

    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _schema(ctx: CheckContext) -> str:
    from alembic.runtime.migration import MigrationContext

    with ctx.factory() as session:
        current = frozenset(MigrationContext.configure(session.connection()).get_current_heads())
    if current != _head_revisions():
        log.error("the database schema is at %s, the code expects %s: run `maic db upgrade`",
                  sorted(current) or "nothing", sorted(_head_revisions()))
        return FAILED
    return OK


def _redis(ctx: CheckContext) -> str:
    url = ctx.config.get("MAIC_REDIS_URL") or ""
    if not url:
        return NOT_CONFIGURED
    import redis

    client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                  socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return OK


def _scheduler(ctx: CheckContext) -> str:
    """Fails when the scheduler's last heartbeat is older than MAIC_SCHEDULER_STALE_SECONDS, or it has none."""
    from maic import scheduler

    heartbeat_age: Callable[[orm.Session], dt.timedelta | None] | None = getattr(scheduler, "heartbeat_age", None)
    if heartbeat_age is None:
        return NOT_CHECKED
    with ctx.factory() as session:
        age = heartbeat_age(session)
    stale = dt.timedelta(seconds=int(ctx.config["MAIC_SCHEDULER_STALE_SECONDS"]))
    if age is None or age > stale:
        log.error("the scheduler's heartbeat is %s (stale after %s): is `maic scheduler` running?",
                  "missing" if age is None else f"{age} old", stale)
        return FAILED
    return OK


register_check("database", _database)
register_check("schema", _schema)
register_check("redis", _redis)
register_check("scheduler", _scheduler)
