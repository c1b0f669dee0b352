"""Each overview panel's callback through the real Dash endpoint, against a no-op callback on the same server.

Builds a national-scale database (benchmarks/national.py) on SQLite and on PostgreSQL
(MAIC_TEST_DATABASE_URL; a database of our own, dropped afterwards), starts the app as a real HTTP server in
its own process (benchmarks/panel_server.py), signs in a viewer and POSTs /dash/_dash-update-component with
the session cookie and the X-CSRFToken header, as the browser does.

Each panel is timed on its own through a benchmark-only callback answering that panel alone (benchmarks/
panel_server.py; the same panel_answer the dashboard's requests give), and every panel together as the
dashboard asks: "every panel, filters" (a change of filters: one request, the filters callback, since
8 December) and "every panel, live". Each is timed three ways:
- "new data": just after a return for the newest week lands. Before every request the data version is bumped
  and its change recorded (the newest week, written now) exactly as an ingest of such a return does, so every
  measured view (each shows the newest week) is computed again: its queries and rendering run from scratch,
  except what the return cannot have changed (the trends' earlier weeks, maic/picture/weekly.py). Before
  8 December the bump recorded no change, which now counts as a change to every week (as a reference load is).
- "new, live": what an open dashboard does when a return lands: the version is bumped, the dashboard's live
  check (the data-version callback) is asked until it announces the new version, and only then is the page's
  live redraw asked for, as the browser does: one request for every panel and the week picker's weeks (row
  "every panel, live"; before 8 December each panel was asked for on its own, six requests). The server renders the views open on it ahead while the announcement waits
  (at most MAIC_LIVE_RENDER_AHEAD_SECONDS); the time to the announcement is reported under the table.
- "same data": every other dashboard asking for the same view before the next return (what the live
  dashboards do between returns): the panel is served from the per-version cache.
p50 and p95 in milliseconds, and the ratio of p95 to the no-op's p95, all in one run against one server.

The live picture is read from the current values the database keeps (issue 17). With --old-path the same
measures are taken a second time on a server reading the live picture from the bitemporal rows, as before, and
shown beside the new ones ("sqlite-old", "pg-old"), so that the gain is measured, not claimed. The last line is
the summary of the new path: the worst ratios over every panel, view and database, and the slowest announce.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import orjson
import requests
import sqlalchemy as sa
from sqlalchemy.orm import Session

from benchmarks.national import Size, generate
from benchmarks.panel_server import NOOP_INPUT, NOOP_OUTPUT, PANELS, panel_body
from maic.models import DataVersion, Observation, bump_data_version, utcnow

PG_URL = os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
USERNAME, PASSWORD = "bench-viewer", "bench viewer pass phrase"
VIEWS = {"home": {}, "home+neighbours": {"scope": "neighbours"}}
RENDER_AHEAD_SETTLE_SECONDS = 4


def _body(panel: str, filters: dict) -> dict:
    """One panel's work on its own: the benchmark server's callback for it (panel_server.panel_body), which
    answers with the same panel_answer the filters callback and the live redraw give for that panel."""
    return panel_body(panel, filters)


CONTROLS = ("week-from", "week-picker", "area-picker", "scope-picker", "asat-date", "asat-time", "map-measure")
FILTER_OUTPUTS = [{"id": "picture-url", "property": "search"}, {"id": "picture-filters", "property": "data"},
                  *({"id": c, "property": "value"} for c in CONTROLS),
                  {"id": "asat-showing", "property": "children"}, {"id": "asat-message", "property": "children"},
                  {"id": {"n": ["ALL"], "type": "briefing-link"}, "property": "href"},
                  {"id": "headline-asat", "property": "children"}, {"id": "headline-tiles", "property": "children"},
                  *({"id": p, "property": "children"} for p in (
                      "releases-panel", "shortfall-panel", "pressure-panel", "completeness-panel", "forward-panel"))]


def _id_text(ident) -> str:
    return ident if isinstance(ident, str) else orjson.dumps(ident, option=orjson.OPT_SORT_KEYS).decode()


def filters_body(filters: dict, measure: str = "count", current: dict | None = None, links: int = 1) -> dict:
    """What a dashboard sends for a change of filters: one request (the filters callback), answered with the
    URL, the store, the controls, the pack link and every panel. Here the change is the address's (the back
    and forward buttons; a control's change is the same request with another trigger), to `filters` and the
    map's `measure`; `current` is the store the dashboard held (None: another view), `links` the pack links on
    its page (none for a role that may not export)."""
    wanted = {**filters, **({"measure": measure} if measure != "count" else {})}
    search = "?" + urlencode(wanted) if wanted else ""
    outputs = [dict(o) for o in FILTER_OUTPUTS]
    outputs[11] = [{"id": {"n": n, "type": "briefing-link"}, "property": "href"} for n in range(links)]
    values = {"picture-url.search": search, "map-measure.value": measure}
    inputs = [{"id": "picture-url", "property": "search"},
              *({"id": c, "property": "value"} for c in CONTROLS if not c.startswith("asat")),
              *({"id": c, "property": p} for c in ("asat-date", "asat-time") for p in ("n_submit", "n_blur")),
              {"id": "asat-now", "property": "n_clicks"}]
    return {"output": ".." + "...".join(f"{_id_text(o['id'])}.{o['property']}" for o in FILTER_OUTPUTS) + "..",
            "outputs": outputs,
            "inputs": [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in inputs],
            "changedPropIds": ["picture-url.search"],
            "state": [{"id": "asat-date", "property": "value", "value": None},
                      {"id": "asat-time", "property": "value", "value": None},
                      {"id": "picture-filters", "property": "data", "value": current}]}


def live_body(dependencies: list[dict], filters: dict, version: int = 1, measure: str = "count") -> dict:
    """What an open dashboard sends once the live check brings a new data version: the week picker's weeks and
    every panel in one request. Its output string is Dash's (outputs shared with the panels carry a hash), read
    from the app's dependencies as the browser reads it."""
    live = next(d for d in dependencies if d["inputs"] == [{"id": "data-version", "property": "data"}]
                and d["output"].startswith("..week-picker.options..."))
    outputs = [{"id": part.rpartition(".")[0], "property": part.rpartition(".")[2].split("@")[0]}
               for part in live["output"][2:-2].split("...")]
    return {"output": live["output"], "outputs": outputs,
            "inputs": [{"id": "data-version", "property": "data", "value": version}],
            "changedPropIds": ["data-version.data"],
            "state": [{"id": "picture-filters", "property": "data", "value": filters},
                      {"id": "map-measure", "property": "value", "value": measure}]}


def _version_body(known: int) -> dict:
    return {"output": "data-version.data", "outputs": {"id": "data-version", "property": "data"},
            "inputs": [{"id": "live-timer", "property": "n_intervals", "value": 1}],
            "changedPropIds": ["live-timer.n_intervals"],
            "state": [{"id": "data-version", "property": "data", "value": known}]}


NOOP = {"output": f"{NOOP_OUTPUT}.children", "outputs": {"id": NOOP_OUTPUT, "property": "children"},
        "inputs": [{"id": NOOP_INPUT, "property": "value", "value": "x"}], "changedPropIds": [f"{NOOP_INPUT}.value"],
        "state": []}


class Server:
    """benchmarks/panel_server.py in a process of its own, and a signed-in HTTP session against it."""

    def __init__(self, url: str, data_dir: Path, old_path: bool = False):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.panel_server", url, str(data_dir), USERNAME, PASSWORD,
             *(["old"] if old_path else [])],
            stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
        self.base = f"http://127.0.0.1:{int(self.process.stdout.readline())}"
        self.http = requests.Session()
        page = self.http.get(f"{self.base}/login").text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        signed_in = self.http.post(f"{self.base}/login", allow_redirects=False,
                                   data={"csrf_token": token, "username": USERNAME, "password": PASSWORD})
        assert signed_in.status_code == 302, signed_in.text[:300]
        self.http.get(f"{self.base}/dash/")
        self.csrf = self.http.cookies["_csrf_token"]

    def post(self, body: dict) -> float:
        start = time.perf_counter()
        response = self.http.post(f"{self.base}/dash/_dash-update-component", json=body,
                                  headers={"X-CSRFToken": self.csrf})
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, (body["output"], response.status_code, response.text[:300])
        assert "Something went wrong" not in response.text, response.text[:300]
        return elapsed

    def announced(self, known: int) -> int | None:
        """What the live check tells a dashboard that knows version `known`: a newer version, or None."""
        response = self.http.post(f"{self.base}/dash/_dash-update-component", json=_version_body(known),
                                  headers={"X-CSRFToken": self.csrf})
        if response.status_code == 204:
            return None
        return response.json().get("response", {}).get("data-version", {}).get("data")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(label: str, what: str, kind: str, values: list[float], baseline: float) -> str:
    p95 = _p(values, 0.95)
    return f"{label:<9} {what:<36} {kind:<9} {statistics.median(values):>8.1f} {p95:>8.1f} {p95 / baseline:>7.2f}"


@dataclass
class Worst:
    """The summary of one or more measures: the worst ratio of each kind and the slowest announce (p95)."""

    new_data: float = 0.0
    live: float = 0.0
    same: float = 0.0
    announce_ms: float = 0.0

    def add(self, other: Worst) -> None:
        self.new_data = max(self.new_data, other.new_data)
        self.live = max(self.live, other.live)
        self.same = max(self.same, other.same)
        self.announce_ms = max(self.announce_ms, other.announce_ms)

    def line(self) -> str:
        return (f"panels: worst_new_data_ratio={self.new_data:.2f} worst_live_ratio={self.live:.2f} "
                f"worst_same_ratio={self.same:.2f} announce_p95_ms={self.announce_ms:.0f}")


# The summary line of the last run of this benchmark in this process: python -m benchmarks prints it last.
LAST: list[str] = []


def measure(url: str, label: str, n: int, data_dir: Path, worst: Worst, old_path: bool = False) -> list[str]:
    engine = sa.create_engine(url)

    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(Observation.week))).scalar_one()

    def new_data() -> int:
        """What an ingest of a return for the newest week (the week every measured view shows) does to the data
        version in its transaction: the bump and its change, so the views are reached and computed again, as they
        are when such a return lands (the trends then compute only that week again: maic/picture/weekly.py)."""
        with Session(engine) as session, session.begin():
            bump_data_version(session, utcnow(), first_week=newest, written_at=utcnow())
            return session.scalar(sa.select(DataVersion.version).where(DataVersion.id == 1))

    server = Server(url, data_dir, old_path)
    announce_ms: list[float] = []

    def cold_and_warm(body: dict) -> tuple[list[float], None, list[float]]:
        """A request's times just after new data (each time) and then on the same data, over and over."""
        server.post(body)
        cold = []
        for _ in range(n):
            new_data()
            cold.append(server.post(body))
        return cold, None, [server.post(body) for _ in range(n * 4)]

    def new_data_live(body: dict) -> float:
        version = new_data()
        started = time.perf_counter()
        while server.announced(version - 1) is None:
            time.sleep(0.02)
        announce_ms.append((time.perf_counter() - started) * 1000)
        elapsed = server.post(body)
        # Returns land minutes apart, not back to back: let the rendering ahead finish (it may outlast the
        # hold) before the next measurement, so that one measure's work is not timed in another's.
        time.sleep(RENDER_AHEAD_SETTLE_SECONDS)
        return elapsed

    try:
        for _ in range(20):
            server.post(NOOP)  # first use: imports, connection pool
        noop = [server.post(NOOP) for _ in range(n * 10)]
        timings = {}
        dependencies = server.http.get(f"{server.base}/dash/_dash-dependencies").json()
        for view, filters in VIEWS.items():
            for panel in PANELS:
                timings[(view, panel)] = cold_and_warm(_body(panel, filters))
            # A change of filters is one request for every panel (the filters callback), as is new data.
            timings[(view, "every panel, filters")] = cold_and_warm(filters_body(filters))
            # A dashboard that is open asks for every panel at once when new figures land (one request).
            body = live_body(dependencies, filters)
            live = [new_data_live(body) for _ in range(max(3, n // 4))]
            warm = [server.post(body) for _ in range(n * 4)]
            timings[(view, "every panel, live")] = (None, live, warm)
        noop += [server.post(NOOP) for _ in range(n * 10)]  # the baseline before and after, in the same run
    finally:
        server.close()
        engine.dispose()
    baseline = _p(noop, 0.95)
    lines = [_row(label, "no-op callback", "", noop, baseline)]
    for (view, panel), (cold, live, warm) in timings.items():
        for kind, values in (("new data", cold), ("new, live", live), ("same data", warm)):
            if values:
                lines.append(_row(label, f"{panel} ({view})", kind, values, baseline))
        # "New data" is a target per panel (issue 17); the filter change carries all six panels in one request, so
        # its new-data row is shown but not counted in the summary's worst (its same-data row is).
        per_panel = cold and not panel.startswith("every panel")
        worst.add(Worst(_p(cold, 0.95) / baseline if per_panel else 0.0,
                        _p(live, 0.95) / baseline if live else 0.0, _p(warm, 0.95) / baseline))
    worst.add(Worst(announce_ms=_p(announce_ms, 0.95)))
    lines.append(f"{label:<9} new data announced to a dashboard after p50 {statistics.median(announce_ms):.0f} ms, "
                 f"p95 {_p(announce_ms, 0.95):.0f} ms (rendering ahead the {len(timings)} views open on the server)")
    return lines


def run(args) -> str:
    size = Size.quick() if getattr(args, "quick", False) else Size()
    n = 5 if getattr(args, "quick", False) else 15
    header = [f"Panel callbacks via POST /dash/_dash-update-component over HTTP: {size.areas} areas x {size.metrics} "
              f"metrics x {size.weeks} weeks (+{size.superseded_share:.0%} superseded history); ms; "
              "ratio = p95 / no-op p95",
              f"{'database':<9} {'callback (view)':<36} {'data':<9} {'p50':>8} {'p95':>8} {'ratio':>7}"]
    lines: list[str] = []
    worst = Worst()
    old_path = getattr(args, "old_path", False)
    with tempfile.TemporaryDirectory(prefix="maic-bench-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        counts = generate(f"sqlite:///{tmp_path / 'national.db'}", size)
        header.insert(1, f"generated on SQLite in {time.perf_counter() - started:.0f} s: {counts}")
        url = f"sqlite:///{tmp_path / 'national.db'}"
        lines += measure(url, "sqlite", n, tmp_path, worst)
        if old_path:
            lines += measure(url, "sqlite-old", n, tmp_path, Worst(), old_path=True)
        if not getattr(args, "no_postgres", False):
            lines += _postgres(size, n, tmp_path, header, worst, old_path)
    summary = worst.line()
    LAST[:] = [summary]
    return "\n".join(header + lines)


def _postgres(size: Size, n: int, tmp_path: Path, header: list[str], worst: Worst, old_path: bool) -> list[str]:
    admin_url = sa.engine.make_url(PG_URL)
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"maic_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001  (no PostgreSQL here: say so in the table, measure SQLite only)
        return [f"postgres  not measured: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"]
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        generate(url, size)
        header.insert(2, f"generated on PostgreSQL in {time.perf_counter() - started:.0f} s")
        lines = measure(url, "postgres", n, tmp_path, worst)
        if old_path:
            lines += measure(url, "pg-old", n, tmp_path, Worst(), old_path=True)
        return lines
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
