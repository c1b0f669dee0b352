"""The app as the panel benchmark serves it: a real threaded HTTP server on 127.0.0.1, in its own process,
with one extra callback that does nothing (the baseline), one per panel answering that panel alone (each
panel's own cost; the dashboard asks for them all in one request) and a viewer to sign in as.

python -m benchmarks.panel_server DATABASE_URL DATA_DIR USERNAME PASSWORD [old]: prints the port, then serves.
With "old", the live picture is read from the bitemporal rows instead of the current values (the path before
issue 17), for the benchmark's side-by-side run.
"""

from __future__ import annotations

import logging
import sys

from dash import Input, Output

from maic.web.serving import make_server

NOOP_OUTPUT = "bench-noop"
NOOP_INPUT = "bench-noop-in"
# One benchmark-only callback per panel, so that each panel's cost is measured on its own over HTTP: the
# dashboard itself asks for every panel at once (the filters callback, the live redraw).
PANELS = ("headlines", "releases", "shortfall", "pressure", "completeness", "forward")
BENCH_FILTERS = "bench-filters"
BENCH_MEASURE = "bench-measure"


def panel_output(name: str) -> str:
    return f"bench-{name}"


def panel_body(name: str, filters: dict, measure: str = "count") -> dict:
    """A request for one panel's answer (what the filters callback answers for it) for `filters`."""
    return {"output": f"{panel_output(name)}.children", "outputs": {"id": panel_output(name), "property": "children"},
            "inputs": [{"id": BENCH_FILTERS, "property": "data", "value": filters},
                       {"id": BENCH_MEASURE, "property": "value", "value": measure}],
            "changedPropIds": [f"{BENCH_FILTERS}.data"], "state": []}


def _panel_callback(name: str):
    from callbacks import overview
    from callbacks._common import user
    from maic import permissions

    def panel(data, measure):
        permissions.require(user(), permissions.VIEW_PICTURE)
        found = overview.panel_answer(name, data, measure)
        return list(found) if isinstance(found, tuple) else found  # the headline's two parts, as one child list

    return panel


def build(url: str, data_dir: str, username: str, password: str):
    from app import create_app
    from callbacks import _guard
    from maic import permissions
    from maic.auth import create_user
    from maic.db import make_session_factory, transaction
    from maic.models import User

    app = create_app({"MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": data_dir, "MAIC_SECRET_KEY": "bench-" * 6})
    dash_app = app.extensions["maic.dash"]
    _guard.rule(f"{NOOP_OUTPUT}.children", permissions.VIEW_PICTURE)
    dash_app.callback(Output(NOOP_OUTPUT, "children"), Input(NOOP_INPUT, "value"))(lambda value: value)
    for name in PANELS:
        _guard.rule(f"{panel_output(name)}.children", permissions.VIEW_PICTURE)
        dash_app.callback(Output(panel_output(name), "children"), Input(BENCH_FILTERS, "data"),
                          Input(BENCH_MEASURE, "value"), prevent_initial_call=True)(_panel_callback(name))
    with transaction(make_session_factory(app.extensions["maic.db"]["engine"])) as session:
        if session.query(User).filter_by(username=username).first() is None:
            create_user(session, username, password, "viewer")
    return app


def main(argv: list[str]) -> None:
    url, data_dir, username, password = argv[:4]
    if argv[4:] == ["old"]:
        from maic.picture import core

        core.LIVE_FROM_SUMMARY = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request in the benchmark's output
    server = make_server("127.0.0.1", 0, build(url, data_dir, username, password), threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
