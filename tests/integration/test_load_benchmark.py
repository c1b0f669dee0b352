"""`make load`'s quick mode end to end (benchmarks/load/): its own PostgreSQL database and private redis-server,
two gunicorn instances over them and the scheduler, started and stopped by it, simulated viewers, leads and
neighbours' systems, a Redis stop half-way through one more step, and its table.

It checks that the benchmark measures what it says (every kind of request was sent and answered, a committed
return reached the viewers' screens, every receipt is a return in the database, nothing failed at 20 and 50
viewers nor while Redis was down: the app falls back per process) and leaves nothing behind. It asserts no
timing: the figures are the benchmark's, not the test's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.redis_server import REDIS_SERVER

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The largest step that held (p95 within 2 s), or viewers=0 and nan when none did on a machine this busy.
LAST_LINE = re.compile(r"load: viewers=(\d+) p95_ms=(\d+|nan) p99_ms=(\d+|nan) errors=(\d+|nan) "
                       r"visible_p95_s=(\d+\.\d|nan)")

pytestmark = [pytest.mark.postgres, pytest.mark.load]


@pytest.fixture
def admin():
    """The machine's PostgreSQL, where the benchmark makes (and must drop) its own database."""
    engine = sa.create_engine(sa.engine.make_url(PG_URL).set(database="postgres"))
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001  (any failure to connect means: skip, and say why)
        engine.dispose()
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc.__class__.__name__}")
    yield engine
    engine.dispose()


def _closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def test_quick_load_run_over_two_servers_survives_a_redis_stop_and_leaves_nothing_behind(admin, tmp_path):
    # Only looked for: importing locust would monkey-patch this process with gevent (the swarm runs apart).
    if importlib.util.find_spec("locust") is None:
        pytest.skip("the load extra (locust) is not installed: make install")
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(f"{REDIS_SERVER} is not installed: the Redis stop needs a private redis-server")
    table, kept = tmp_path / "load.txt", tmp_path / "kept"
    done = subprocess.run([sys.executable, "-m", "benchmarks.load", "--quick", "--servers", "2", "--fault", "redis",
                           "--fault-viewers", "20", "--keep", str(kept), "--output", str(table)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    assert LAST_LINE.fullmatch(done.stdout.strip().splitlines()[-1]), done.stdout[-2000:]
    text = table.read_text()
    assert text.strip() == done.stdout.strip()
    assert "2 gunicorn servers" in text
    # The steps (a smoke run runs every step), then the step with the Redis stop.
    steps = re.findall(r"^(\d+) viewers \(.*; errors (\d+)$", text, re.M)
    assert [int(viewers) for viewers, _ in steps] == [20, 50, 20], text
    assert [int(errors) for _, errors in steps] == [0, 0, 0], text  # no request failed, no error page, no refusal
    blocks = text.split("\n\n")
    for viewers in ("20", "50"):
        block = next(b for b in blocks if b.startswith(f"{viewers} viewers ("))
        for kind in ("sign in", "page", "open", "poll", "filter", "upload preview", "upload commit", "api"):
            assert re.search(rf"^  {kind} +[1-9]\d* ", block, re.M), f"no '{kind}' requests in:\n{block}"
    # Nothing lost: every receipt a lead was given is a return in the database, in every step.
    lost = re.findall(r"returns with a receipt (\d+), new returns in the database (-?\d+)", text)
    assert len(lost) == 3 and all(int(a) == int(b) for a, b in lost), text
    assert sum(int(a) for a, _ in lost) > 0, text
    visible = re.search(r"returns committed (\d+), visible to viewers .* over (\d+) viewer-returns", text)
    assert visible and int(visible.group(1)) > 0 and int(visible.group(2)) > 0, text
    assert re.search(r"load generator \d+% of a core", text)
    # The database's share is measured (its backends for this run's database did the steps' queries), and the
    # whole machine's, which holds everything the step ran.
    database = [int(p) for p in re.findall(r"database \(this run's PostgreSQL backends\) (\d+)%", text)]
    assert len(database) == 3 and max(database) >= 1, text
    assert len(re.findall(r"whole machine \d+% busy", text)) == 3, text
    assert re.search(r"\d+ cores .* GB RAM; load average", text)
    assert "(sign-in not included)" in text and "not in the step's 'all' percentiles" in text

    # The Redis stop happened under load and every request while it was down was answered without an error page.
    assert "Fault: the app's Redis stopped half-way through a step of 20 viewers" in text, text
    down = re.search(r"while Redis was down: (\d+) of (\d+) requests failed.*10 s after it was back: (\d+) of "
                     r"(\d+) failed", text)
    assert down, text
    assert int(down.group(2)) > 0 and int(down.group(1)) == 0 and int(down.group(3)) == 0, text

    # Both servers served the dashboard's callbacks; their logs were kept where the run said.
    assert f"kept in {kept}" in done.stderr
    for log in ("gunicorn.log", "gunicorn-2.log"):
        assert "POST /dash/_dash-update-component" in (kept / log).read_text(errors="replace"), log
    assert (kept / "scheduler.log").exists()

    # Nothing left running or lying about: both servers' ports and Redis's closed, the database dropped.
    served = re.search(r"serving on http://127.0.0.1:(\d+), http://127.0.0.1:(\d+) \(database (maic_load_\w+), "
                       r"Redis redis://127.0.0.1:(\d+)/0 private", done.stderr)
    assert served, done.stderr[-2000:]
    for port in (served.group(1), served.group(2), served.group(4)):
        assert _closed(int(port)), port
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": served.group(3)}).first() is None


def test_national_data_leaves_no_id_sequence_behind_so_later_ingests_do_not_collide(admin):
    """`--national` writes returns with their own ids (benchmarks/national.py); the demo's ingests after it once
    collided with them because PostgreSQL's sequence had not moved. A new return after the bulk load gets a new id."""
    import datetime as dt
    import uuid

    from benchmarks.national import Size, generate, sequences_behind
    from maic.db import make_engine
    from maic.models import Agency, Return

    name = f"maic_seq_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = None
    try:
        counts = generate(url, Size(areas=12, metrics=30, weeks=2))
        assert counts["returns"] > 0
        engine = make_engine(url)
        assert sequences_behind(engine) == []
        with sa.orm.Session(engine) as session, session.begin():
            largest = session.scalar(sa.select(sa.func.max(Return.id)))
            agency = session.scalars(sa.select(Agency).limit(1)).one()
            added = Return(agency_id=agency.id, first_week=dt.date(2020, 1, 6), week=dt.date(2020, 1, 6),
                           source="web", filename="after.csv", sha256="f" * 64, archive_path="", size_bytes=0,
                           row_count=0)
            session.add(added)
            session.flush()
            assert added.id > largest
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
