"""The scheduler cannot silently stop: its leader killed, its lock's connection cut, its database restarted.

Real `maic scheduler` processes on a private PostgreSQL. Their one job records, in the database, when it
really started and ended and in which process; at the end no two of those intervals from different
processes may overlap, whatever was done to the leader.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from maic.models import JobOutcome, SchedulerHeartbeat, SchedulerRun
from maic.scheduler import ADVISORY_KEY

ROOT = Path(__file__).resolve().parents[2]

# The scheduler a test starts: only a probe job, which records its own real start and end (the database's
# clock, so that every process is measured by one clock) and takes a while, so that faults land mid-job.
SCHEDULER = """
import sys, time
import sqlalchemy as sa
from maic import scheduler as sched
from maic.cli import main

def probe(ctx):
    with ctx.factory() as session, session.begin():
        row = session.execute(sa.text("INSERT INTO fault_probe (runner, started) VALUES (:r, clock_timestamp())"
                                      " RETURNING id"), {"r": sched.runner_id()}).scalar_one()
    time.sleep(float(sys.argv[1]))
    with ctx.factory() as session, session.begin():
        session.execute(sa.text("UPDATE fault_probe SET finished = clock_timestamp() WHERE id = :i"), {"i": row})
    return "probed"

sched.JOBS.clear()
sched.register_job("probe", probe, lambda c: 1, "records its own start and end")
main(["scheduler"])
"""


class Schedulers:
    """`maic scheduler` processes on one database, each logging to its own file."""

    def __init__(self, db_url: str, data_dir: Path, log_dir: Path, *, job_seconds: float, **settings: str):
        self.env = {**os.environ, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir),
                    "PYTHONPATH": str(ROOT), **settings}
        self.job_seconds = job_seconds
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self) -> subprocess.Popen:
        log = self.log_dir / f"scheduler-{len(self.procs)}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, "-c", SCHEDULER, str(self.job_seconds)], cwd=ROOT, env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.logs.append(log)
        return proc

    def output(self, proc: subprocess.Popen) -> str:
        return self.logs[self.procs.index(proc)].read_text()

    def everything(self) -> str:
        return "\n".join(f"--- scheduler pid {p.pid}\n{log.read_text()}" for p, log in zip(self.procs, self.logs,
                                                                                             strict=True))

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_until(predicate, timeout: float, what: str, poll: float = 0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = predicate()
        except sa.exc.OperationalError:
            found = None  # the database is restarting: ask again
        if found:
            return found
        time.sleep(poll)
    raise AssertionError(f"not within {timeout}s: {what}")


def leader_pid(engine: sa.Engine) -> int | None:
    """The process whose heartbeat, the latest to say so, says it holds the lock and runs jobs.

    (A process killed with SIGKILL leaves its last word, "holds the lock", behind: the latest beat decides.)
    """
    with engine.connect() as conn:
        return conn.scalar(sa.select(SchedulerHeartbeat.pid).where(SchedulerHeartbeat.holds_lock)
                           .order_by(SchedulerHeartbeat.beat_at.desc()).limit(1))


def lock_backend(engine: sa.Engine) -> int | None:
    """The PostgreSQL backend that holds the scheduler's advisory lock now."""
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                                   " AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1"),
                           {"hi": ADVISORY_KEY >> 32, "lo": ADVISORY_KEY & 0xFFFFFFFF})


def probe_runs(engine: sa.Engine, runner_pid: int | None = None, after=None) -> int:
    query = "SELECT count(*) FROM fault_probe WHERE finished IS NOT NULL"
    if runner_pid is not None:
        query += " AND runner = :runner"
    if after is not None:
        query += " AND started > :after"
    with engine.connect() as conn:
        return conn.scalar(sa.text(query), {"after": after, "runner": sched_runner(runner_pid or 0)})


def db_now(engine: sa.Engine):
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT clock_timestamp()"))


def assert_never_two_at_once(engine: sa.Engine, killed: dict[str, object] | None = None) -> int:
    """Every probe interval, from every process, against every other process's: none overlap.

    killed maps the runner of a process killed with SIGKILL to when it was killed (its last probe has no end).
    """
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT runner, started, finished FROM fault_probe ORDER BY started")).all()
    intervals = []
    for runner, started, finished in rows:
        if finished is None:
            assert killed and runner in killed, f"a probe by {runner} never ended and that process was not killed"
            finished = killed[runner]
        intervals.append((started, finished, runner))
    for (s1, f1, r1), (s2, f2, r2) in zip(intervals, intervals[1:], strict=False):
        assert s2 >= f1 or r1 == r2, f"{r1} ran {s1}..{f1} while {r2} ran {s2}..{f2}"
    # Within one process the job never runs twice at once either (APScheduler's max_instances=1).
    for runner in {r for *_x, r in intervals}:
        own = [(s, f) for s, f, r in intervals if r == runner]
        assert all(later[0] >= earlier[1] for earlier, later in zip(own, own[1:], strict=False)), runner
    return len({r for *_x, r in intervals})


@pytest.fixture
def probed(fault_db_url) -> Iterator[sa.Engine]:
    """The test's own connections to the private database, with the probe's table."""
    engine = sa.create_engine(fault_db_url, pool_pre_ping=True)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE fault_probe (id serial PRIMARY KEY, runner text NOT NULL,"
                             " started timestamptz NOT NULL, finished timestamptz)"))
    yield engine
    engine.dispose()


def test_a_killed_leader_is_replaced_within_a_minute(fault_db_url, probed, data_dir, tmp_path):
    """Default timings (check 5 s, standby 10 s); the leader is killed with SIGKILL in the middle of a job."""
    engine = probed
    scheds = Schedulers(fault_db_url, data_dir, tmp_path, job_seconds=2.0)
    try:
        first = scheds.start()
        wait_until(lambda: leader_pid(engine) == first.pid and probe_runs(engine) >= 1, 60, "a first leader")
        second = scheds.start()
        wait_until(lambda: "standing by" in scheds.output(second), 30, "the second scheduler standing by")
        # Mid-job: a probe has started and not ended.
        wait_until(lambda: _probe_in_progress(engine), 30, "a probe in progress")
        killed_at = db_now(engine)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        took_over = wait_until(lambda: _first_probe_after(engine, second.pid, killed_at), 75,
                               "the standby running the job after the leader was killed")
        waited = (took_over - killed_at).total_seconds()
        print(f"the standby took over {waited:.1f}s after the leader was killed")
        assert waited <= 60, f"the standby took {waited:.1f}s to take over\n{scheds.everything()}"
        wait_until(lambda: probe_runs(engine, second.pid) >= 2, 30, "the new leader running the job again")
        assert leader_pid(engine) == second.pid
    finally:
        scheds.stop()
    outputs = scheds.everything()
    assert "scheduler lock taken by" in scheds.output(second), outputs
    with engine.connect() as conn:
        runs = conn.execute(sa.select(SchedulerRun.runner, SchedulerRun.outcome, SchedulerRun.message)).all()
    # The run the killed leader left 'running' is marked by the one that took over, not left for ever.
    left = [r for r in runs if r.runner.endswith(f":{first.pid}") and r.outcome != JobOutcome.OK]
    assert [r.outcome for r in left] == [JobOutcome.INTERRUPTED], (left, outputs)
    assert f"marked by {sched_runner(second.pid)}" in left[0].message
    assert not [r for r in runs if r.outcome == JobOutcome.RUNNING], runs
    killed_runner = sched_runner(first.pid)
    assert assert_never_two_at_once(engine, {killed_runner: killed_at}) == 2


def sched_runner(pid: int) -> str:
    import socket

    return f"{socket.gethostname()}:{pid}"[:120]


def _probe_in_progress(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(sa.text("SELECT count(*) FROM fault_probe WHERE finished IS NULL")))


def _first_probe_after(engine: sa.Engine, pid: int, moment):
    with engine.connect() as conn:
        return conn.scalar(sa.text("SELECT min(started) FROM fault_probe WHERE runner = :r AND started > :m"),
                           {"r": sched_runner(pid), "m": moment})


def test_a_cut_lock_connection_is_noticed_and_the_lock_taken_again_never_two_leaders(fault_db_url, probed, data_dir,
                                                                                      tmp_path, private_pg):
    engine = probed
    scheds = Schedulers(fault_db_url, data_dir, tmp_path, job_seconds=1.5, MAIC_SCHEDULER_CHECK_SECONDS="1",
                        MAIC_SCHEDULER_STANDBY_SECONDS="2")
    try:
        # Alone: the cut is noticed, logged, and the same process takes the lock again on a new connection.
        only = scheds.start()
        wait_until(lambda: leader_pid(engine) == only.pid and probe_runs(engine) >= 1, 60, "a leader")
        backend = lock_backend(engine)
        assert private_pg.terminate(backend)
        wait_until(lambda: "LOST its lock" in scheds.output(only), 15, "the scheduler noticing the cut")
        wait_until(lambda: lock_backend(engine) not in (None, backend), 15, "the lock taken again")
        cut_at = db_now(engine)
        wait_until(lambda: probe_runs(engine, only.pid, after=cut_at) >= 1, 15, "jobs running again")

        # With a standby: the lock's connection cut three times, mid-job; whoever takes the lock, the job
        # never runs in two processes at once.
        other = scheds.start()
        wait_until(lambda: "standing by" in scheds.output(other), 30, "the standby")
        leaders = set()
        for _ in range(3):
            wait_until(lambda: _probe_in_progress(engine), 15, "a probe in progress")
            backend = wait_until(lambda: lock_backend(engine), 15, "a lock holder")
            leaders.add(leader_pid(engine))
            assert private_pg.terminate(backend)
            wait_until(lambda b=backend: lock_backend(engine) not in (None, b), 20, "the lock taken again")
            moment = db_now(engine)
            wait_until(lambda m=moment: probe_runs(engine, after=m) >= 1, 20, "jobs running after the cut")
        assert all(p.poll() is None for p in scheds.procs), scheds.everything()
    finally:
        scheds.stop()
    outputs = scheds.everything()
    assert [p.returncode for p in scheds.procs] == [0, 0], outputs
    assert outputs.count("LOST its lock") >= 4, outputs
    assert_never_two_at_once(engine)
    with engine.connect() as conn:
        left = conn.scalar(sa.select(sa.func.count()).select_from(SchedulerRun)
                           .where(SchedulerRun.outcome == JobOutcome.RUNNING))
    assert left == 0


def test_a_database_restart_pauses_the_scheduler_and_it_carries_on_after(fault_db_url, probed, data_dir, tmp_path,
                                                                          private_pg):
    engine = probed
    scheds = Schedulers(fault_db_url, data_dir, tmp_path, job_seconds=1.0, MAIC_SCHEDULER_CHECK_SECONDS="1",
                        MAIC_SCHEDULER_STANDBY_SECONDS="2")
    try:
        procs = [scheds.start(), scheds.start()]
        wait_until(lambda: leader_pid(engine) in {p.pid for p in procs} and probe_runs(engine) >= 2, 60,
                   "a leader running the job")
        engine.dispose()
        private_pg.restart(down_seconds=4)
        restarted_at = db_now(engine)
        wait_until(lambda: probe_runs(engine, after=restarted_at) >= 2, 40, "jobs running after the restart")
        wait_until(lambda: leader_pid(engine) in {p.pid for p in procs}, 20, "a leader's heartbeat")
    finally:
        scheds.stop()
    outputs = scheds.everything()
    assert "LOST its lock" in outputs, outputs
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert_never_two_at_once(engine, _killed_by_restart(engine))


def _killed_by_restart(engine: sa.Engine) -> dict[str, object]:
    """A probe cut off by the restart itself (its end could not be written) ended, at the latest, then."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT runner, pg_postmaster_start_time() FROM fault_probe"
                                    " WHERE finished IS NULL")).all()
    return dict(rows)
