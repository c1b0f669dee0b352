"""The scheduler: every run recorded; a lock so two schedulers (two real processes) run each job once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from maic import scheduler as sched
from maic.models import SchedulerRun
from tests.fixtures import csv_bytes

ROOT = Path(__file__).resolve().parents[2]


def config_for(db_url, data_dir) -> dict:
    from maic import config

    return config.load({"MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir), "MAIC_SCAN_SECONDS": 1,
                        "MAIC_INBOX_SETTLE_SECONDS": 0, "MAIC_INCIDENT_START": "2024-08-05"})


def test_each_run_is_recorded_and_failures_do_not_stop_the_scheduler(factory, engine, db_url, data_dir):
    ctx = sched.JobContext(config_for(db_url, data_dir), factory)
    folder = data_dir / "inbox" / "probation-cambs"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(csv_bytes([("2024-09-09", "E07000008", "releases_total", 3)]))
    broken = sched.Job("broken", lambda _ctx: 1 / 0, lambda _c: 60)
    ok = sched.run_job(ctx, sched.JOBS["inbox-scan"])
    failed = sched.run_job(ctx, broken)
    assert (ok.outcome, ok.message) == ("ok", "1 accepted")
    assert failed.outcome == "failed" and "ZeroDivisionError" in failed.message
    with factory() as session:
        runs = sched.last_runs(session)
        assert [(r.job, r.outcome) for r in runs] == [("broken", "failed"), ("inbox-scan", "ok")]
        assert all(r.finished_at >= r.started_at for r in runs)


def test_a_second_lock_is_refused_while_the_first_is_held(engine, data_dir):
    first, second = sched.SchedulerLock(engine, data_dir), sched.SchedulerLock(engine, data_dir)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()
    assert second.acquire()
    second.release()


def test_federation_and_others_can_register_jobs():
    job = sched.register_job("test-extra", lambda _ctx: "done", lambda _c: 30, "a job from another module")
    try:
        assert sched.JOBS["test-extra"] is job
    finally:
        del sched.JOBS["test-extra"]


def test_two_scheduler_processes_run_each_job_once(db_url, data_dir, factory):
    env = {**os.environ, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir), "MAIC_SCAN_SECONDS": "1",
           "MAIC_FEED_CHECK_SECONDS": "1", "MAIC_INBOX_SETTLE_SECONDS": "0"}
    procs = [subprocess.Popen([sys.executable, "-m", "maic.cli", "scheduler"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with factory() as session:
                done = session.scalar(sa.select(sa.func.count()).select_from(SchedulerRun)
                                      .where(SchedulerRun.job == "inbox-scan", SchedulerRun.outcome == "ok"))
            if done >= 3:
                break
            time.sleep(0.5)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        outputs = [proc.communicate(timeout=30)[0] for proc in procs]
    with factory() as session:
        runs = session.execute(sa.select(SchedulerRun.job, SchedulerRun.runner, SchedulerRun.started_at,
                                         SchedulerRun.finished_at).order_by(SchedulerRun.id)).all()
    assert len(runs) >= 3, outputs
    assert len({r.runner for r in runs}) == 1, outputs  # only the process holding the lock ran anything
    assert any("standing by" in out for out in outputs), outputs
    for job in ("inbox-scan", "feeds-pull"):
        times = [(r.started_at, r.finished_at) for r in runs if r.job == job and r.finished_at]
        # Never two runs of one job at once: each starts after the one before it ended.
        assert all(later[0] >= earlier[1] for earlier, later in zip(times, times[1:], strict=False))


def test_cli_once_reports_when_another_scheduler_holds_the_lock(db_url, data_dir, engine, monkeypatch):
    from click.testing import CliRunner

    from maic.cli import main

    monkeypatch.setenv("MAIC_DATABASE_URL", db_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    holder = sched.SchedulerLock(engine, data_dir)
    assert holder.acquire()
    try:
        result = CliRunner().invoke(main, ["scheduler", "--once"])
    finally:
        holder.release()
    assert result.exit_code == 0 and "another scheduler holds the lock; nothing was run" in result.output
    result = CliRunner().invoke(main, ["scheduler", "--once", "--job", "inbox-scan"])
    assert result.exit_code == 0 and "inbox-scan: ok" in result.output
