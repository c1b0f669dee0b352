"""The scheduler page (admins): the last runs of every scheduled job, newest first."""

from __future__ import annotations

from dataclasses import dataclass

from dash import html

from layouts import ids
from layouts.components import scroll_box

LEVEL_WORDS = {"ok": "Running", "amber": "Late", "red": "Stopped"}


@dataclass(frozen=True)
class HeartbeatView:
    """The scheduler's last beat as plain data: who led, how many seconds ago, how stale (ok, amber, red)."""

    leader: str | None
    age_seconds: float | None
    level: str
    leading_now: bool
    standbys: tuple[str, ...] = ()


def heartbeat_text(beat: HeartbeatView) -> str:
    if beat.leader is None or beat.age_seconds is None:
        text = "The scheduler has never run on this database: start `maic scheduler`."
        return text + (f" Standing by: {', '.join(beat.standbys)}." if beat.standbys else "")
    minutes = int(beat.age_seconds // 60)
    when = "less than a minute" if minutes < 1 else "1 minute" if minutes == 1 else f"{minutes:,} minutes"
    text = f"Scheduler last ran {when} ago ({beat.leader})."
    if not beat.leading_now:
        text += " It has let go of the lock: no job runs until a scheduler takes it again."
    if beat.level != "ok":
        text += " Check that `maic scheduler` is running and can reach the database."
    if beat.standbys:
        text += f" Standing by: {', '.join(beat.standbys)}."
    return text


def heartbeat_box(beat: HeartbeatView) -> html.Div:
    return html.Div(className=f"scheduler-status status-{beat.level}",
                    children=[html.Strong(LEVEL_WORDS.get(beat.level, beat.level) + ": "), heartbeat_text(beat)])


def heartbeat_status(beat: HeartbeatView) -> html.Div:
    """The box, in a region a refresh can re-draw."""
    return html.Div(id=ids.SCHEDULER_STATUS, role="status", children=heartbeat_box(beat))


def runs_table(runs: list[tuple[str, str, str, str, str, str, str]]) -> html.Div:
    """runs: (job, runner, started, finished, duration, outcome, message), already formatted."""
    if not runs:
        return html.P("No job has run yet: start `maic scheduler`.", className="muted")
    return scroll_box("Last runs", html.Table(className="history runs", children=[
        html.Thead(html.Tr([html.Th(h) for h in ("Job", "Runner", "Started", "Finished", "Took", "Outcome",
                                                 "Message")])),
        html.Tbody([html.Tr(className=f"run-{outcome}", children=[
            html.Td(job), html.Td(runner), html.Td(started), html.Td(finished), html.Td(took), html.Td(outcome),
            html.Td(message)]) for job, runner, started, finished, took, outcome, message in runs]),
    ]))


def layout(runs: list[tuple[str, str, str, str, str, str, str]], jobs: list[tuple[str, str, str]],
           beat: HeartbeatView) -> html.Div:
    """jobs: (name, every, help)."""
    return html.Div([
        html.H1("Scheduled jobs"),
        html.P("Jobs run in the separate `maic scheduler` process; only one scheduler runs them at a time.",
               className="lede"),
        heartbeat_status(beat),
        scroll_box("Jobs", html.Table(className="history", children=[
            html.Thead(html.Tr([html.Th("Job"), html.Th("Every"), html.Th("What it does")])),
            html.Tbody([html.Tr([html.Td(n), html.Td(e), html.Td(h)]) for n, e, h in jobs]),
        ])),
        html.Div(className="controls", children=[
            html.H2("Last runs"),
            html.Button("Refresh", id=ids.SCHEDULER_REFRESH, className="button secondary"),
        ]),
        html.Div(id=ids.SCHEDULER_RUNS, children=runs_table(runs)),
    ])
