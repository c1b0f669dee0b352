"""The scheduler page (admins only): the registered jobs and their last runs."""

from __future__ import annotations

import datetime as dt

from dash import Input, Output
from flask import current_app

from callbacks import _guard
from callbacks._common import db, setting, user
from layouts import ids
from layouts import scheduler as view
from layouts.returns import format_local
from maic import permissions
from maic import scheduler as sched


def _runs() -> list[tuple[str, str, str, str, str, str, str]]:
    tz = setting("MAIC_TIMEZONE")
    out = []
    for run in sched.last_runs(db(), limit=100):
        took = f"{(run.finished_at - run.started_at).total_seconds():.1f}s" if run.finished_at else ""
        out.append((run.job, run.runner, format_local(run.started_at, tz), format_local(run.finished_at, tz), took,
                    run.outcome, run.message))
    return out


def heartbeat() -> view.HeartbeatView:
    """The scheduler's heartbeat for the admin pages (callers have checked permissions.ADMIN)."""
    # Red when /readyz fails too.
    status = sched.status(db(), red_after=dt.timedelta(seconds=int(setting("MAIC_SCHEDULER_STALE_SECONDS"))))
    return view.HeartbeatView(status.leader, None if status.age is None else status.age.total_seconds(),
                              status.level, status.leading_now, tuple(status.standbys))


def render_page():
    permissions.require(user(), permissions.ADMIN)
    config = current_app.config
    jobs = [(job.name, f"{job.interval_seconds(config)}s", job.help) for job in sched.JOBS.values()]
    return view.layout(_runs(), jobs, heartbeat())


def refresh(_clicks):
    permissions.require(user(), permissions.ADMIN)
    return view.runs_table(_runs()), view.heartbeat_box(heartbeat())


def register(app) -> None:
    _guard.rule(f"{ids.SCHEDULER_RUNS}.children", permissions.ADMIN)
    _guard.rule(f"{ids.SCHEDULER_STATUS}.children", permissions.ADMIN)
    app.callback(Output(ids.SCHEDULER_RUNS, "children"), Output(ids.SCHEDULER_STATUS, "children"),
                 Input(ids.SCHEDULER_REFRESH, "n_clicks"),
                 prevent_initial_call=True)(refresh)
