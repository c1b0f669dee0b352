"""Scheduled jobs, run by `maic scheduler` as its own process (never inside web workers).

A registry of jobs other modules add to (`register_job`); each run is recorded in scheduler_run (start,
end, outcome, message); a lock makes sure only one scheduler runs jobs at a time (a PostgreSQL advisory
lock on a dedicated, watched connection, or on SQLite an flock on a file beside the database); and every
scheduler process beats a heartbeat row, so that a scheduler that stopped is seen (admin page, /readyz).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.pool import NullPool

from maic import metrics
from maic.models import JobOutcome, SchedulerHeartbeat, SchedulerRun, utcnow

log = logging.getLogger(__name__)

# pg_try_advisory_lock takes a 64-bit key: "MAIC" "SCHD" as bytes. pg_locks shows it as two 32-bit halves.
ADVISORY_KEY = 0x4D41494353434844
LOCK_APPLICATION_NAME = "maic-scheduler-lock"

# The leader beats every MAIC_SCHEDULER_CHECK_SECONDS; a heartbeat older than these is shown amber / red.
HEARTBEAT_AMBER = dt.timedelta(minutes=1)
HEARTBEAT_RED = dt.timedelta(minutes=5)


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

def _weekly_pack(ctx: JobContext) -> str:  # issue 13
    from maic.briefing import scheduled_pack

    return scheduled_pack(ctx.factory, ctx.config)


def _pack_revisions(ctx: JobContext) -> str:  # issue 13
    from maic.briefing.schedule import revision_notices

    return revision_notices(ctx.factory)


register_job("briefing-revisions", _pack_revisions, lambda c: int(c.get("MAIC_BRIEFING_CHECK_SECONDS", 600)),
             "tell the MAIC when a correction changed a figure in a briefing pack already issued")
register_job("briefing-weekly", _weekly_pack, lambda c: int(c.get("MAIC_BRIEFING_CHECK_SECONDS", 600)),
             "make the week's SCG briefing pack once its returns are due (deadline + MAIC_BRIEFING_OFFSET_HOURS)")


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


def run_job(ctx: JobContext, job: Job, guard: Callable[[], bool] | None = None) -> SchedulerRun:
    """Run one job now, recording its start before and its end after; a failure is recorded, not raised.

    guard (the lock's check) is asked after the start is recorded and before the job runs: a scheduler that
    takes the lock over afterwards then always sees this run as running and waits for it, so two runs never
    overlap. When the guard says no, the run is recorded as skipped and the job is not run.
    """
    with ctx.factory() as session, session.begin():
        run = SchedulerRun(job=job.name, runner=runner_id(), started_at=utcnow(), outcome=JobOutcome.RUNNING)
        session.add(run)
    if guard is not None and not guard():
        message, outcome = "not run: this scheduler no longer holds the lock", JobOutcome.SKIPPED
    else:
        try:
            message, outcome = job.run(ctx), JobOutcome.OK
        except Exception as exc:  # noqa: BLE001  (a job's failure is recorded and the scheduler goes on)
            log.exception("job %s failed", job.name)
            message, outcome = f"{exc.__class__.__name__}: {exc}", JobOutcome.FAILED
    _finish(ctx.factory, run, outcome, message)
    metrics.SCHEDULER_JOB_RUNS.labels(job.name, str(outcome)).inc()
    return run


def _finish(factory: orm.sessionmaker[orm.Session], run: SchedulerRun, outcome: str, message: str) -> None:
    # The database may be restarting just now: keep trying for a while, so that a finished run is not left
    # 'running' (which would hold up a scheduler taking over).
    for attempt in range(6):
        try:
            with factory() as session, session.begin():
                session.execute(sa.update(SchedulerRun).where(SchedulerRun.id == run.id).values(
                    finished_at=utcnow(), outcome=outcome, message=str(message)[:4000]))
            break
        except sa.exc.DBAPIError:
            if attempt == 5:
                log.exception("could not record the end of job %s (run %s)", run.job, run.id)
            else:
                time.sleep(2 ** attempt * 0.5)
    run.outcome, run.message = outcome, message


def last_runs(session: orm.Session, limit: int = 50) -> list[SchedulerRun]:
    return list(session.scalars(sa.select(SchedulerRun).order_by(SchedulerRun.started_at.desc(),
                                                                 SchedulerRun.id.desc()).limit(limit)))


class SchedulerLock:
    """One scheduler at a time: a PostgreSQL advisory lock, or an flock beside the SQLite file.

    On PostgreSQL the lock lives as long as one connection, opened for it alone (no pool, short timeouts,
    TCP keepalives) and watched: `check()` asks the server whether that very backend still holds the lock.
    A database restart or a terminated backend ends the lock silently on the server; `check()` is how this
    process finds out, and then it gives the lock up on its side too (`held` becomes False).
    """

    def __init__(self, engine: sa.Engine, data_dir: Path, *, timeout_seconds: int = 5):
        self.engine = engine
        self.data_dir = data_dir
        self._conn: sa.Connection | None = None
        self._fh = None
        self._mutex = threading.Lock()  # the lock's connection is checked from job threads too
        self.backend_pid: int | None = None
        self.last_error = ""
        self._lock_engine: sa.Engine | None = None
        if engine.dialect.name == "postgresql":
            self._lock_engine = sa.create_engine(
                engine.url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                connect_args={"connect_timeout": timeout_seconds, "application_name": LOCK_APPLICATION_NAME,
                              "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
                              "keepalives_count": 3, "options": f"-c statement_timeout={timeout_seconds * 1000}"})

    def acquire(self) -> bool:
        """Take the lock if nobody holds it; False when another scheduler does or the database is unreachable."""
        with self._mutex:
            if self._lock_engine is not None:
                return self._acquire_pg(self._lock_engine)
            return self._acquire_flock()

    def _acquire_pg(self, lock_engine: sa.Engine) -> bool:
        try:
            conn = lock_engine.connect()
        except sa.exc.DBAPIError as exc:
            self.last_error = _one_line(exc)
            return False
        try:
            got, pid = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"),
                                    {"k": ADVISORY_KEY}).one()
        except sa.exc.DBAPIError as exc:
            self.last_error = _one_line(exc)
            conn.invalidate()
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn, self.backend_pid, self.last_error = conn, pid, ""
        return True

    def _acquire_flock(self) -> bool:
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

    def check(self) -> bool:
        """True while this process still holds the lock; on PostgreSQL one round trip on the lock's connection.

        When the connection is gone, or its backend no longer holds the lock, the lock is given up here too
        and False is returned (the caller stops running jobs until `acquire()` succeeds again).
        """
        with self._mutex:
            if self._fh is not None:
                return True  # an flock lasts as long as this process keeps the file open
            if self._conn is None:
                return False
            try:
                pid, holds = self._conn.execute(sa.text(
                    "SELECT pg_backend_pid(), EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND granted AND pid = pg_backend_pid() AND classid::bigint = :hi"
                    " AND objid::bigint = :lo AND objsubid = 1)"),
                    {"hi": ADVISORY_KEY >> 32, "lo": ADVISORY_KEY & 0xFFFFFFFF}).one()
            except sa.exc.DBAPIError as exc:
                self.last_error = _one_line(exc)
                self._drop()
                return False
            if pid != self.backend_pid or not holds:
                self.last_error = f"backend {self.backend_pid} no longer holds the lock"
                self._drop()
                return False
            return True

    def _drop(self) -> None:
        # Never back to a pool (it has none): the connection is closed, whatever state it was left in.
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except sa.exc.SQLAlchemyError:
                pass
        self._conn, self.backend_pid = None, None

    def release(self) -> None:
        with self._mutex:
            if self._conn is not None:
                with contextlib.suppress(sa.exc.DBAPIError):  # if the connection is gone, so is the lock
                    self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                self._drop()
            if self._fh is not None:
                fcntl.flock(self._fh, fcntl.LOCK_UN)
                self._fh.close()
                self._fh = None

    def dispose(self) -> None:
        self.release()
        if self._lock_engine is not None:
            self._lock_engine.dispose()

    @property
    def held(self) -> bool:
        return self._conn is not None or self._fh is not None


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{exc.__class__.__name__}: {text[0] if text else ''}"[:200]


# --- heartbeat ------------------------------------------------------------------------------------------------


class Heartbeat:
    """This process's row in scheduler_heartbeat, beaten by the scheduler's loop."""

    def __init__(self, factory: orm.sessionmaker[orm.Session]):
        self.factory = factory
        self.runner = runner_id()
        self.started_at = utcnow()
        self.failing = False

    def beat(self, *, holds_lock: bool, state: str) -> bool:
        """Record a beat; False (and a log line) when the database cannot be written just now."""
        now = utcnow()
        values = {"beat_at": now, "holds_lock": holds_lock, "state": state[:200]}
        if holds_lock:
            values["leading_at"] = now
        try:
            with self.factory() as session, session.begin():
                updated = session.execute(sa.update(SchedulerHeartbeat)
                                          .where(SchedulerHeartbeat.runner == self.runner).values(**values))
                if not updated.rowcount:
                    session.add(SchedulerHeartbeat(runner=self.runner, host=socket.gethostname()[:255],
                                                   pid=os.getpid(), started_at=self.started_at, **values))
                if holds_lock:  # the leader keeps the table short: processes gone for a day are forgotten
                    session.execute(sa.delete(SchedulerHeartbeat).where(
                        SchedulerHeartbeat.beat_at < now - dt.timedelta(days=1)))
        except sa.exc.DBAPIError as exc:
            if not self.failing:  # once per outage, not every few seconds
                log.warning("could not record the scheduler heartbeat: %s", _one_line(exc))
            self.failing = True
            return False
        if self.failing:
            log.warning("scheduler heartbeat recorded again")
        self.failing = False
        return True


def heartbeat_age(session: orm.Session, now: dt.datetime | None = None) -> dt.timedelta | None:
    """How long ago a scheduler last beat while holding the lock (running jobs); None if none ever did."""
    last = session.scalar(sa.select(sa.func.max(SchedulerHeartbeat.leading_at)))
    if last is None:
        return None
    return max(dt.timedelta(0), (now or utcnow()) - last)


@dataclass(frozen=True)
class SchedulerStatus:
    """What the admin pages say about the scheduler: the last leader's beat, its runner, how stale."""

    leader: str | None  # runner id of the last scheduler that held the lock
    age: dt.timedelta | None
    level: str  # "ok", "amber" or "red"
    leading_now: bool  # that scheduler's last beat said it holds the lock
    standbys: list[str]  # other scheduler processes beating recently


def status(session: orm.Session, now: dt.datetime | None = None,
           red_after: dt.timedelta = HEARTBEAT_RED) -> SchedulerStatus:
    """red_after: the age at which /readyz fails too (MAIC_SCHEDULER_STALE_SECONDS)."""
    now = now or utcnow()
    rows = list(session.scalars(sa.select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc())))
    leaders = sorted((r for r in rows if r.leading_at is not None), key=lambda r: r.leading_at, reverse=True)
    if not leaders:
        return SchedulerStatus(None, None, "red", False, [r.runner for r in rows if now - r.beat_at < HEARTBEAT_AMBER])
    leader = leaders[0]
    age = max(dt.timedelta(0), now - leader.leading_at)
    level = "red" if age > red_after else "amber" if age > min(HEARTBEAT_AMBER, red_after) else "ok"
    standbys = [r.runner for r in rows if r.runner != leader.runner and now - r.beat_at < HEARTBEAT_AMBER]
    return SchedulerStatus(leader.runner, age, level, leader.holds_lock, standbys)


# --- running --------------------------------------------------------------------------------------------------


def run_once(ctx: JobContext, lock: SchedulerLock, names: list[str] | None = None) -> list[SchedulerRun] | None:
    """Run each job once if this process gets the lock; None when another scheduler holds it."""
    if not lock.acquire():
        return None
    heart = Heartbeat(ctx.factory)
    try:
        heart.beat(holds_lock=True, state="running jobs once")
        runs = [run_job(ctx, JOBS[name], lock.check) for name in (names or list(JOBS))]
        heart.beat(holds_lock=True, state="ran jobs once")
        return runs
    finally:
        lock.release()


def _dead_after(check_seconds: float) -> dt.timedelta:
    """A scheduler whose heartbeat is this old is taken to be dead (it beats every check_seconds)."""
    return dt.timedelta(seconds=max(30.0, 6 * check_seconds))


def runs_in_progress(factory: orm.sessionmaker[orm.Session], dead_after: dt.timedelta) -> list[SchedulerRun]:
    """Runs still going in live schedulers; those left 'running' by dead ones are marked interrupted."""
    now = utcnow()
    with factory() as session, session.begin():
        running = list(session.scalars(sa.select(SchedulerRun).where(SchedulerRun.outcome == JobOutcome.RUNNING)))
        if not running:
            return []
        beats = {runner: beat for runner, beat in
                 session.execute(sa.select(SchedulerHeartbeat.runner, SchedulerHeartbeat.beat_at))}
        live = []
        for run in running:
            beat = beats.get(run.runner)
            if run.runner != runner_id() and (beat is None or now - beat > dead_after):
                run.outcome, run.finished_at = JobOutcome.INTERRUPTED, now
                run.message = f"left running by {run.runner}, which stopped beating; marked by {runner_id()}"
                log.warning("run %s of %s by %s: its scheduler is gone; marked interrupted", run.id, run.job,
                            run.runner)
            else:
                live.append(run)
        return live


def serve(ctx: JobContext, lock: SchedulerLock, *, check_seconds: float | None = None,
          standby_seconds: float | None = None, stop: Callable[[], bool] = lambda: False) -> None:
    """Stand by until the lock is free, then run every job on its interval, watching the lock, until stopped.

    Every check_seconds the leader asks the database whether it still holds the lock and beats its heartbeat.
    When the lock is lost (the database restarted, the connection was cut), the jobs are paused at once and
    logged, and the scheduler tries to take the lock again like any standby. A scheduler that takes the lock
    first waits for runs still going in other live schedulers, so two runs never overlap.
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    check = float(check_seconds or ctx.config.get("MAIC_SCHEDULER_CHECK_SECONDS", 5))
    standby = float(standby_seconds or ctx.config.get("MAIC_SCHEDULER_STANDBY_SECONDS", 10))
    dead_after = _dead_after(check)
    heart = Heartbeat(ctx.factory)
    scheduler = BackgroundScheduler(timezone=dt.UTC)
    scheduler.start(paused=True)
    announced = leading = False
    try:
        while not stop():
            if leading and not lock.check():
                scheduler.pause()
                scheduler.remove_all_jobs()
                leading = False
                log.error("scheduler LOST its lock (%s); no job runs until it holds the lock again",
                          lock.last_error or "connection lost")
                heart.beat(holds_lock=False, state=f"lost the lock: {lock.last_error}")
                # Not straight back: the database may be going down, and a standby may take over meanwhile.
                _sleep(standby, stop)
            if not leading:
                if not lock.acquire():
                    if not announced:
                        log.warning("another scheduler holds the lock, or the database cannot be reached (%s); "
                                    "standing by (checking every %ss)", lock.last_error or "lock taken", standby)
                        announced = True
                    heart.beat(holds_lock=False, state="standing by")
                    _sleep(standby, stop)
                    continue
                if not _wait_for_runs_elsewhere(ctx.factory, lock, heart, dead_after, check, stop):
                    continue
                _schedule_all(scheduler, ctx, lock)
                scheduler.resume()
                leading, announced = True, False
                log.warning("scheduler lock taken by %s; running jobs: %s", runner_id(), ", ".join(JOBS))
            heart.beat(holds_lock=True, state="running jobs")
            _sleep(check, stop)
    finally:
        scheduler.shutdown(wait=True)
        lock.release()
        heart.beat(holds_lock=False, state="stopped")


def _wait_for_runs_elsewhere(factory: orm.sessionmaker[orm.Session], lock: SchedulerLock, heart: Heartbeat,
                             dead_after: dt.timedelta, check: float, stop: Callable[[], bool]) -> bool:
    """Hold the lock without running anything until no live scheduler has a run going; False if it was lost."""
    while True:
        try:
            going = runs_in_progress(factory, dead_after)
        except sa.exc.DBAPIError as exc:
            log.warning("could not read the runs in progress: %s", _one_line(exc))
            going = None
        if going == []:
            return True
        if going:
            log.warning("lock taken; waiting for %s to finish before running anything",
                        ", ".join(f"{r.job} (run {r.id} by {r.runner})" for r in going))
        heart.beat(holds_lock=False, state="holds the lock; waiting for runs elsewhere to end")
        _sleep(min(check, 2.0), stop)
        if stop() or not lock.check():
            return False


def _schedule_all(scheduler, ctx: JobContext, lock: SchedulerLock) -> None:
    now = dt.datetime.now(dt.UTC)
    for job in JOBS.values():
        scheduler.add_job(run_job, "interval", args=(ctx, job, lock.check),
                          seconds=max(1, job.interval_seconds(ctx.config)), id=job.name, name=job.name,
                          max_instances=1, coalesce=True, next_run_time=now, replace_existing=True)


def _sleep(seconds: float, stop: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not stop() and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, 0.5))
