"""`make load`'s quick mode end to end (benchmarks/load/): its own PostgreSQL database and Redis number, gunicorn
and the scheduler started and stopped by it, simulated viewers, leads and neighbours' systems, and its table.

It checks that the benchmark measures what it says (every kind of request was sent and answered, a committed
return reached the viewers' screens, nothing failed at 20 and 50 viewers) and leaves nothing behind. It asserts
no timing: the figures are the benchmark's, not the test's.
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

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# The largest step that held (p95 within 2 s), or viewers=0 and nan when none did on a machine this busy.
LAST_LINE = re.compile(r"load: viewers=(\d+) p95_ms=(\d+|nan) p99_ms=(\d+|nan) errors=(\d+|nan) "
                       r"visible_p95_s=(\d+\.\d|nan)")

pytestmark = [pytest.mark.postgres, pytest.mark.load]


def _redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


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


def test_quick_load_run_measures_every_kind_of_request_and_leaves_nothing_behind(admin, tmp_path):
    # Only looked for: importing locust would monkey-patch this process with gevent (the swarm runs apart).
    if importlib.util.find_spec("locust") is None:
        pytest.skip("the load extra (locust) is not installed: make install")
    if not _redis_reachable():
        pytest.skip("Redis unreachable at 127.0.0.1:6379")
    table = tmp_path / "load.txt"
    done = subprocess.run([sys.executable, "-m", "benchmarks.load", "--quick", "--output", str(table)], cwd=ROOT,
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-3000:]

    assert LAST_LINE.fullmatch(done.stdout.strip().splitlines()[-1]), done.stdout[-2000:]
    text = table.read_text()
    assert text.strip() == done.stdout.strip()
    steps = re.findall(r"^(\d+) viewers \(.*; errors (\d+)$", text, re.M)
    assert [int(viewers) for viewers, _ in steps] == [20, 50], text  # a smoke run runs every step
    assert [int(errors) for _, errors in steps] == [0, 0], text  # no request failed
    for kind in ("sign in", "page", "open", "poll", "filter", "upload preview", "upload commit", "api"):
        assert re.search(rf"^  {kind} +[1-9]\d* ", text, re.M), f"no '{kind}' requests in:\n{text}"
    visible = re.search(r"returns committed (\d+), visible to viewers .* over (\d+) viewer-returns", text)
    assert visible and int(visible.group(1)) > 0 and int(visible.group(2)) > 0, text
    assert re.search(r"load generator \d+% of a core", text)
    assert re.search(r"\d+ cores .* GB RAM; load average", text)

    # Nothing left running or lying about: the server's port is closed, the database dropped.
    served = re.search(r"serving on http://127.0.0.1:(\d+) \(database (maic_load_\w+), Redis db (\d+)", done.stderr)
    assert served, done.stderr[-2000:]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(served.group(1))), timeout=2).close()
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": served.group(2)}).first() is None
