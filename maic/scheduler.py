"""Scheduled jobs, run by `maic scheduler` as its own process (never inside web workers).

A registry of jobs other modules add to (`register_job`); each run is recorded in scheduler_run (start,
end, outcome, message); and a lock makes sure only one scheduler runs jobs at a time: a PostgreSQL
advisory lock held on a dedicated connection, or on SQLite an flock on a file beside the database. A
second scheduler waits on standby and takes over if the first one stops.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from maic import metrics
from maic.models import JobOutcome, SchedulerRun, utcnow

log = logging.getLogger(__name__)

# pg_try_advisory_lock takes a 64-bit key: "MAIC" "SCHD" as bytes.
ADVISORY_KEY = 0x4D41494353434844


@dataclass(frozen=True)
class JobContext:
    config: dict[str, Any]
    factory: orm.sessionmaker[orm.Session]


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], str]  # returns a one-line message for the run record
    interval_seconds: Callable[[dict[str, Any]], int]
    help: str = ""


JOBS: dict[str, Job] = {}


def register_job(name: str, run: Callable[[JobContext], str], interval_seconds: Callable[[dict[str, Any]], int],
                 help: str = "") -> Job:
    """Add a job (issue modules call this at import of maic.scheduler's users, e.g. federation pulls)."""
    job = Job(name, run, interval_seconds, help)
    JOBS[name] = job
    return job


def _scan_inbox(ctx: JobContext) -> str:
    from maic.inbox import scan_inbox
    from maic.returns.ingest import IngestSettings

    items = scan_inbox(ctx.factory, IngestSettings.from_config(ctx.config), Path(ctx.config["MAIC_DATA_DIR"]),
                       settle_seconds=float(ctx.config.get("MAIC_INBOX_SETTLE_SECONDS", 2)))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.outcome] = counts.get(item.outcome, 0) + 1
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "inbox empty"


def _pull_feeds(ctx: JobContext) -> str:
    from maic.feeds import FeedSettings, pull_due_feeds

    results = pull_due_feeds(ctx.factory, FeedSettings.from_config(ctx.config))
    return "; ".join(f"feed {r.feed_id}: {r.outcome}" for r in results) or "no feed due"


register_job("inbox-scan", _scan_inbox, lambda c: int(c["MAIC_SCAN_SECONDS"]), "scan the drop folder")
register_job("feeds-pull", _pull_feeds, lambda c: int(c.get("MAIC_FEED_CHECK_SECONDS", 60)),
             "pull the feeds that are due")


def _pull_federation(ctx: JobContext) -> str:  # issue 6
    from maic.fetch import FetchPolicy
    from maic.returns.ingest import IngestSettings
    from maic.sharing.federation import pull_all

    results = pull_all(ctx.factory, IngestSettings.from_config(ctx.config),
                       fetch=FetchPolicy.from_config(ctx.config))
    return "; ".join(f"{r.lrf_code}: {r.outcome}" for r in results) or "no neighbour instance configured"


register_job("federation-pull", _pull_federation, lambda c: int(c["MAIC_FEDERATION_SECONDS"]),
             "pull the configured neighbour instances' shared figures")


def _backup(ctx: JobContext) -> str:  # issue 12
    from maic.backup import Instance, scheduled_backup

    folder = str(ctx.config.get("MAIC_BACKUP_DIR") or "")
    if not folder:
        return "scheduled backups are off (MAIC_BACKUP_DIR is empty)"
    return scheduled_backup(Instance.from_config(ctx.config), Path(folder), keep=int(ctx.config["MAIC_BACKUP_KEEP"]),
                            interval_hours=float(ctx.config["MAIC_BACKUP_INTERVAL_HOURS"]))


register_job("backup", _backup, lambda c: max(60, int(float(c["MAIC_BACKUP_INTERVAL_HOURS"]) * 3600)),
             "back up the database, received files and reference data to MAIC_BACKUP_DIR; keep the newest "
             "MAIC_BACKUP_KEEP")


def _notify_check(ctx: JobContext) -> str:  # issue 14
    from maic.notify.checks import CheckSettings, run_checks

    made = run_checks(ctx.factory, CheckSettings.from_config(ctx.config))
    return ", ".join(f"{n} {k}" for k, n in made.items() if n) or "nothing new"


def _notify_send(ctx: JobContext) -> str:  # issue 14
    from maic.notify.send import SendSettings, deliver_due

    return str(deliver_due(ctx.factory, SendSettings.from_config(ctx.config)))


register_job("notify-check", _notify_check, lambda c: int(c.get("MAIC_NOTIFY_CHECK_SECONDS", 300)),
             "reminders, late notices, red services, shortfalls, quarantined files, failing pulls, shared weeks")
register_job("notify-send", _notify_send, lambda c: int(c.get("MAIC_NOTIFY_SEND_SECONDS", 30)),
             "send the outbox's emails and webhooks (retries with backoff)")


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def run_job(ctx: JobContext, job: Job) -> SchedulerRun:
    """Run one job now, recording its start before and its end after; a failure is recorded, not raised."""
    with ctx.factory() as session, session.begin():
        run = SchedulerRun(job=job.name, runner=runner_id(), started_at=utcnow(), outcome=JobOutcome.RUNNING)
        session.add(run)
    try:
        message, outcome = job.run(ctx), JobOutcome.OK
    except Exception as exc:  # noqa: BLE001  (a job's failure is recorded and the scheduler goes on)
        log.exception("job %s failed", job.name)
        message, outcome = f"{exc.__class__.__name__}: {exc}", JobOutcome.FAILED
    try:
        with ctx.factory() as session, session.begin():
            session.execute(sa.update(SchedulerRun).where(SchedulerRun.id == run.id).values(
                finished_at=utcnow(), outcome=outcome, message=str(message)[:4000]))
    except Exception:  # noqa: BLE001  (the database may be the thing that is down; the log keeps the story)
        log.exception("could not record the end of job %s", job.name)
    run.outcome, run.message = outcome, message
    metrics.SCHEDULER_JOB_RUNS.labels(job.name, str(outcome)).inc()
    return run


def last_runs(session: orm.Session, limit: int = 50) -> list[SchedulerRun]:
    return list(session.scalars(sa.select(SchedulerRun).order_by(SchedulerRun.started_at.desc(),
                                                                 SchedulerRun.id.desc()).limit(limit)))


class SchedulerLock:
    """One scheduler at a time: a PostgreSQL advisory lock, or an flock beside the SQLite file."""

    def __init__(self, engine: sa.Engine, data_dir: Path):
        self.engine = engine
        self.data_dir = data_dir
        self._conn: sa.Connection | None = None
        self._fh = None

    def acquire(self) -> bool:
        if self.engine.dialect.name == "postgresql":
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if conn.scalar(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}):
                self._conn = conn
                return True
            conn.close()
            return False
        database = self.engine.url.database
        path = Path(database + ".scheduler.lock") if database else self.data_dir / "scheduler.lock"
        fh = open(path, "a+")  # noqa: SIM115  (held open for as long as the lock is held)
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.seek(0)
        fh.truncate()
        fh.write(runner_id())
        fh.flush()
        self._fh = fh
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.scalar(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            finally:
                self._conn.close()
                self._conn = None
        if self._fh is not None:
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fh is not None


def run_once(ctx: JobContext, lock: SchedulerLock, names: list[str] | None = None) -> list[SchedulerRun] | None:
    """Run each job once if this process gets the lock; None when another scheduler holds it."""
    if not lock.acquire():
        return None
    try:
        return [run_job(ctx, JOBS[name]) for name in (names or list(JOBS))]
    finally:
        lock.release()


def serve(ctx: JobContext, lock: SchedulerLock, *, standby_seconds: float = 15.0,
          stop: Callable[[], bool] = lambda: False) -> None:
    """Wait for the lock (standby), then run every job on its interval until stopped."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    announced = False
    while not lock.acquire():
        if not announced:
            log.warning("another scheduler holds the lock; standing by (checking every %ss)", standby_seconds)
            announced = True
        if stop():
            return
        time.sleep(standby_seconds)
    log.info("scheduler lock taken by %s; jobs: %s", runner_id(), ", ".join(JOBS))
    scheduler = BlockingScheduler(timezone=dt.UTC)
    for job in JOBS.values():
        scheduler.add_job(run_job, "interval", args=(ctx, job), seconds=max(1, job.interval_seconds(ctx.config)),
                          id=job.name, name=job.name, max_instances=1, coalesce=True,
                          next_run_time=dt.datetime.now(dt.UTC))
    try:
        scheduler.start()
    finally:
        lock.release()
