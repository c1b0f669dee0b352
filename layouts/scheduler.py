"""The scheduler page (admins): the last runs of every scheduled job, newest first."""

from __future__ import annotations

from dash import html

from layouts import ids
from layouts.components import scroll_box


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


def layout(runs: list[tuple[str, str, str, str, str, str, str]], jobs: list[tuple[str, str, str]]) -> html.Div:
    """jobs: (name, every, help)."""
    return html.Div([
        html.H1("Scheduled jobs"),
        html.P("Jobs run in the separate `maic scheduler` process; only one scheduler runs them at a time.",
               className="lede"),
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
