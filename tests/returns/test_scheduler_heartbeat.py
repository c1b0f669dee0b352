"""The scheduler's heartbeat: recorded by every scheduler, read by heartbeat_age() (/readyz) and shown to admins."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from callbacks import admin as admin_cb
from callbacks import scheduler as sched_cb
from maic import scheduler as sched
from maic.db import session_for
from maic.models import SchedulerHeartbeat, utcnow
from tests.returns.test_scheduler import config_for
from tests.returns.test_upload_callbacks import as_user


def text_of(component) -> str:
    """Every string in a Dash component tree, in order."""
    if component is None:
        return ""
    if isinstance(component, str | int | float):
        return str(component)
    if isinstance(component, list | tuple):
        return " ".join(text_of(c) for c in component)
    return text_of(getattr(component, "children", None))


def find(component, ident: str):
    if isinstance(component, list | tuple):
        return next((f for c in component if (f := find(c, ident)) is not None), None)
    if component is None or isinstance(component, str | int | float):
        return None
    if getattr(component, "id", None) == ident:
        return component
    return find(getattr(component, "children", None), ident)


def test_only_a_beat_while_holding_the_lock_counts(factory):
    with factory() as session:
        assert sched.heartbeat_age(session) is None
        assert sched.status(session).level == "red"
    heart = sched.Heartbeat(factory)
    assert heart.beat(holds_lock=False, state="standing by")
    with factory() as session:
        assert sched.heartbeat_age(session) is None  # a standby runs nothing
        assert sched.status(session).standbys == [sched.runner_id()]
    assert heart.beat(holds_lock=True, state="running jobs")
    with factory() as session:
        age = sched.heartbeat_age(session)
        assert dt.timedelta(0) <= age < dt.timedelta(seconds=30)
        later = sched.heartbeat_age(session, utcnow() + dt.timedelta(minutes=7))
        assert dt.timedelta(minutes=6) < later <= dt.timedelta(minutes=7, seconds=30)
    # Losing the lock keeps the time it last led: the age goes on growing, it does not vanish.
    assert heart.beat(holds_lock=False, state="lost the lock")
    with factory() as session:
        assert sched.heartbeat_age(session) is not None
        status = sched.status(session)
        assert (status.leader, status.leading_now, status.level) == (sched.runner_id(), False, "ok")
        assert sched.status(session, utcnow() + dt.timedelta(minutes=2)).level == "amber"
        assert sched.status(session, utcnow() + dt.timedelta(minutes=6)).level == "red"
        rows = session.scalars(sa.select(SchedulerHeartbeat)).all()
    assert len(rows) == 1 and rows[0].pid > 0 and rows[0].state == "lost the lock"


def test_run_once_beats_and_a_gone_schedulers_run_is_marked_interrupted(factory, engine, db_url, data_dir):
    ctx = sched.JobContext(config_for(db_url, data_dir), factory)
    lock = sched.SchedulerLock(engine, data_dir)
    try:
        runs = sched.run_once(ctx, lock, ["inbox-scan"])
    finally:
        lock.dispose()
    assert [r.outcome for r in runs] == ["ok"]
    with factory() as session:
        assert sched.heartbeat_age(session) < dt.timedelta(seconds=30)
    from maic.models import JobOutcome, SchedulerRun

    long_ago = utcnow() - dt.timedelta(minutes=5)
    with factory() as session, session.begin():
        session.add(SchedulerHeartbeat(runner="gone:1", host="gone", pid=1, started_at=long_ago, beat_at=long_ago,
                                       holds_lock=True, leading_at=long_ago))
        session.add(SchedulerRun(job="inbox-scan", runner="gone:1", started_at=long_ago,
                                 outcome=JobOutcome.RUNNING))
        session.add(SchedulerHeartbeat(runner="alive:2", host="alive", pid=2, started_at=utcnow(),
                                       beat_at=utcnow(), holds_lock=False))
        session.add(SchedulerRun(job="feeds-pull", runner="alive:2", started_at=utcnow(),
                                 outcome=JobOutcome.RUNNING))
    going = sched.runs_in_progress(factory, dt.timedelta(seconds=30))
    assert [(r.job, r.runner) for r in going] == [("feeds-pull", "alive:2")]
    with factory() as session:
        gone = session.scalar(sa.select(SchedulerRun).where(SchedulerRun.runner == "gone:1"))
    assert gone.outcome == JobOutcome.INTERRUPTED and gone.finished_at is not None
    assert "stopped beating" in gone.message


def test_a_guard_that_says_no_runs_nothing_and_says_so(factory, db_url, data_dir):
    ctx = sched.JobContext(config_for(db_url, data_dir), factory)
    ran = []
    job = sched.Job("probe", lambda _ctx: ran.append(1) or "ran", lambda _c: 60)
    run = sched.run_job(ctx, job, guard=lambda: False)
    assert ran == [] and run.outcome == "skipped" and "no longer holds the lock" in run.message
    assert sched.run_job(ctx, job, guard=lambda: True).outcome == "ok" and ran == [1]


def test_the_lock_is_checked_while_held_and_refused_after_release(engine, data_dir):
    lock = sched.SchedulerLock(engine, data_dir)
    try:
        assert not lock.check()
        assert lock.acquire() and lock.check() and lock.held
        lock.release()
        assert not lock.check() and not lock.held
    finally:
        lock.dispose()


def test_admins_see_when_the_scheduler_last_ran_and_how_stale(app):
    factory = app.extensions["maic.db"]["factory"]
    context = as_user(app, "admin")
    try:
        page = admin_cb.render_page()
        box = find(page, "admin-scheduler")
        assert "The scheduler has never run on this database" in text_of(box)
        assert "status-red" in box.children[0].className
        three_minutes_ago = utcnow() - dt.timedelta(minutes=3, seconds=10)
        with factory() as session, session.begin():
            session.add(SchedulerHeartbeat(runner="sched-host:4242", host="sched-host", pid=4242,
                                           started_at=three_minutes_ago, beat_at=three_minutes_ago,
                                           holds_lock=True, leading_at=three_minutes_ago))
        session_for(app).rollback()  # the request's session: as a new request would, see what was written
        box = find(admin_cb.render_page(), "admin-scheduler")
        assert "Scheduler last ran 3 minutes ago (sched-host:4242)" in text_of(box)
        assert "status-amber" in box.children[0].className
        sched.Heartbeat(factory).beat(holds_lock=True, state="running jobs")
        session_for(app).rollback()
        status = find(sched_cb.render_page(), "scheduler-status")
        assert f"Scheduler last ran less than a minute ago ({sched.runner_id()})" in text_of(status)
        assert "status-ok" in status.children.className
        runs, refreshed = sched_cb.refresh(1)
        assert "less than a minute ago" in text_of(refreshed)
    finally:
        context.pop()


def test_readyz_reads_the_real_heartbeat(app, client):
    """No fakes: /readyz fails before any scheduler ran, passes once one beats holding the lock, fails when stale."""
    factory = app.extensions["maic.db"]["factory"]
    assert client.get("/readyz").get_json()["checks"]["scheduler"] == "failed"
    heart = sched.Heartbeat(factory)
    heart.beat(holds_lock=False, state="standing by")
    assert client.get("/readyz").get_json()["checks"]["scheduler"] == "failed"  # a standby runs nothing
    heart.beat(holds_lock=True, state="running jobs")
    assert client.get("/readyz").get_json()["checks"]["scheduler"] == "ok"
    stale = utcnow() - dt.timedelta(seconds=int(app.config["MAIC_SCHEDULER_STALE_SECONDS"]) + 5)
    with factory() as session, session.begin():
        session.execute(sa.update(SchedulerHeartbeat).values(leading_at=stale, beat_at=stale))
    assert client.get("/readyz").get_json()["checks"]["scheduler"] == "failed"
