"""Each overview panel's callback through the real Dash endpoint, against a no-op callback on the same server.

Builds a national-scale database (benchmarks/national.py) on SQLite and on PostgreSQL
(MAIC_TEST_DATABASE_URL; a database of our own, dropped afterwards), signs in a viewer, and POSTs
/dash/_dash-update-component with the session cookie and the X-CSRFToken header, as the browser does.
Each panel is timed cold (the panel cache emptied before every request: the cost when a return has just
landed) and warm (every other dashboard asking for the same view before the next return); p50 and p95 in
milliseconds, and the ratio of p95 to the no-op's p95.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from dash import Input, Output

from benchmarks.national import Size, generate

PG_URL = os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PANELS = {
    "headlines": ("..headline-asat.children...headline-tiles.children..",
                  [{"id": "headline-asat", "property": "children"}, {"id": "headline-tiles", "property": "children"}]),
    "releases": ("releases-panel.children", {"id": "releases-panel", "property": "children"}),
    "shortfall": ("shortfall-panel.children", {"id": "shortfall-panel", "property": "children"}),
    "pressure": ("pressure-panel.children", {"id": "pressure-panel", "property": "children"}),
    "completeness": ("completeness-panel.children", {"id": "completeness-panel", "property": "children"}),
    "forward": ("forward-panel.children", {"id": "forward-panel", "property": "children"}),
}
VIEWS = {"home, all weeks": {}, "home + neighbours, all weeks": {"scope": "neighbours"}}


def _body(panel: str, filters: dict) -> dict:
    output, outputs = PANELS[panel]
    inputs = [{"id": "picture-filters", "property": "data", "value": filters}]
    if panel == "releases":
        inputs.append({"id": "map-measure", "property": "value", "value": "count"})
    inputs.append({"id": "data-version", "property": "data", "value": 1})
    return {"output": output, "outputs": outputs, "inputs": inputs, "changedPropIds": ["picture-filters.data"],
            "state": []}


NOOP = {"output": "bench-noop.children", "outputs": {"id": "bench-noop", "property": "children"},
        "inputs": [{"id": "bench-noop-in", "property": "value", "value": "x"}], "changedPropIds": ["bench-noop-in.value"],
        "state": []}


def _client(url: str, data_dir: Path):
    from app import create_app
    from callbacks import _guard
    from maic import permissions
    from maic.auth import create_user
    from maic.db import make_session_factory, transaction
    from tests.fixtures import PASSWORD, login

    app = create_app({"MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(data_dir), "MAIC_SECRET_KEY": "bench-" * 6})
    dash_app = app.extensions["maic.dash"]
    _guard.rule("bench-noop.children", permissions.VIEW_PICTURE)
    dash_app.callback(Output("bench-noop", "children"), Input("bench-noop-in", "value"))(lambda value: value)
    with transaction(make_session_factory(app.extensions["maic.db"]["engine"])) as session:
        create_user(session, "bench-viewer", PASSWORD, "viewer")
    client = app.test_client()
    assert login(client, "bench-viewer").status_code == 302
    client.get("/dash/")
    return app, client, client.get_cookie("_csrf_token").value


def _time(client, token: str, body: dict, n: int, before=None) -> list[float]:
    out = []
    for _ in range(n):
        if before:
            before()
        start = time.perf_counter()
        response = client.post("/dash/_dash-update-component", json=body, headers={"X-CSRFToken": token})
        out.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (body["output"], response.status_code, response.get_data(as_text=True)[:300])
    return out


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(url: str, label: str, n: int, data_dir: Path) -> list[str]:
    app, client, token = _client(url, data_dir)
    cache = lambda: app.extensions.get("maic.picture_cache")  # noqa: E731  (created on the first panel request)
    noop = _time(client, token, NOOP, n * 3)
    noop_p95 = _p(noop, 0.95)
    lines = [f"{label:<10} {'no-op':<34} {'':<5} {statistics.median(noop):>8.1f} {noop_p95:>8.1f} {1.0:>7.2f}"]
    for view, filters in VIEWS.items():
        for panel in PANELS:
            body = _body(panel, filters)
            _time(client, token, body, 1)  # first use: imports, plotly templates
            cold = _time(client, token, body, n, before=lambda: cache() and cache().clear())
            warm = _time(client, token, body, n * 2)
            for kind, values in (("cold", cold), ("warm", warm)):
                p95 = _p(values, 0.95)
                lines.append(f"{label:<10} {panel + ' (' + view + ')':<34} {kind:<5} {statistics.median(values):>8.1f} "
                             f"{p95:>8.1f} {p95 / noop_p95:>7.2f}")
    app.extensions["maic.db"]["engine"].dispose()
    return lines


def run(args) -> str:
    size = Size.quick() if getattr(args, "quick", False) else Size()
    n = 5 if getattr(args, "quick", False) else 7
    header = [f"Panel callbacks via POST /dash/_dash-update-component: {size.areas} areas x {size.metrics} metrics x "
              f"{size.weeks} weeks (+{size.superseded_share:.0%} superseded history); ms; ratio = p95 / no-op p95",
              f"{'database':<10} {'callback (view)':<34} {'cache':<5} {'p50':>8} {'p95':>8} {'ratio':>7}"]
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="maic-bench-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        counts = generate(f"sqlite:///{tmp_path / 'national.db'}", size)
        header.insert(1, f"generated on SQLite in {time.perf_counter() - started:.0f} s: {counts}")
        lines += measure(f"sqlite:///{tmp_path / 'national.db'}", "sqlite", n, tmp_path)
        if not getattr(args, "no_postgres", False):
            lines += _postgres(size, n, tmp_path, header)
    return "\n".join(header + lines)


def _postgres(size: Size, n: int, tmp_path: Path, header: list[str]) -> list[str]:
    admin_url = sa.engine.make_url(PG_URL)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"maic_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001  (no PostgreSQL here: say so in the table, measure SQLite only)
        return [f"postgres   not measured: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"]
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        generate(url, size)
        header.insert(2, f"generated on PostgreSQL in {time.perf_counter() - started:.0f} s")
        return measure(url, "postgres", n, tmp_path)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
