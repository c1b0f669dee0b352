"""A gunicorn worker killed (SIGKILL) in the middle of a dashboard request and in the middle of an upload's commit.

To kill it at the right moment the test holds a lock that the request needs, so that the request waits inside
the worker: the dashboard's read of the figures, or the upload's transaction after its rows are written
and before it commits. Then the worker serving it is found (by its connection to the private PostgreSQL) and
killed. gunicorn replaces it; the next requests work; the upload, sent again, lands once; and the returns and
the picture as at each return are those of a run without the fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from maic.db import make_engine, make_session_factory
from tests.faults import checks
from tests.fixtures import make_user
from tests.services import free_port, migrated_database, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def gunicorn_command() -> list[str]:
    """The production start: gunicorn reads gunicorn.conf.py (settings from MAIC_BIND, MAIC_WORKERS, MAIC_THREADS)."""
    return [str(GUNICORN), "app:create_app()"]


def workers_of(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return {int(p) for p in children.read_text().split()} if children.exists() else set()


def socket_inodes(local_port: int) -> set[str]:
    """Inodes of the TCP sockets whose local port is local_port (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == local_port:
                found.add(fields[9])
    return found


def process_with_socket(pids: set[int], inodes: set[str]) -> int | None:
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return pid
        except OSError:
            continue
    return None


def blocked_backend(admin: sa.Engine, database: str, *, has_written: bool) -> tuple[int, int] | None:
    """(client port, backend pid) of a session of the app waiting on a lock (and, if asked, with writes done)."""
    with admin.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT client_port, pid FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
            + (" AND backend_xid IS NOT NULL" if has_written else "")), {"db": database}).first()
    return tuple(row) if row else None


class Gunicorn:
    def __init__(self, url: str, data_dir: Path, log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(data_dir),
               "MAIC_SECRET_KEY": "worker-kill-test-secret", "MAIC_LOGIN_RATE_LIMIT": "1000 per minute",
               "MAIC_BIND": f"127.0.0.1:{self.port}", "MAIC_WORKERS": "2", "MAIC_THREADS": "4",
               "PYTHONPATH": str(ROOT)}
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(gunicorn_command(), cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        wait_for_port(self.port, 90)
        deadline = time.monotonic() + 90
        while len(workers_of(self.proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    def worker_serving(self, admin: sa.Engine, database: str, *, has_written: bool, timeout: float = 30) -> int:
        """The worker whose database session is blocked on the test's lock."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = blocked_backend(admin, database, has_written=has_written)
            if found:
                pid = process_with_socket(workers_of(self.proc.pid), socket_inodes(found[0]))
                if pid:
                    return pid
            time.sleep(0.1)
        raise AssertionError(f"no worker's request blocked on the lock within {timeout}s\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Held:
    """Tables locked by the test in its own transaction until release() (`tables`: one, or several
    comma-separated)."""

    def __init__(self, engine: sa.Engine, tables: str, mode: str):
        self.conn = engine.connect()
        self.trans = self.conn.begin()
        self.conn.exec_driver_sql(f"LOCK TABLE {tables} IN {mode} MODE")

    def release(self) -> None:
        self.trans.rollback()
        self.conn.close()


def in_thread(fn, *args):
    out: dict[str, object] = {}

    def run():
        try:
            out["response"] = fn(*args)
        except requests.RequestException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed in this environment")
def test_a_worker_killed_mid_request_and_mid_commit_loses_nothing(private_pg, tmp_path):
    files = checks.return_files(6)
    clean_url = migrated_database(private_pg, "clean")
    checks.clean_run(clean_url, tmp_path / "clean-data", files)
    url = migrated_database(private_pg, "faulted")
    engine = make_engine(url)
    factory = make_session_factory(engine)
    analyst, viewer = make_user(factory, "analyst"), make_user(factory, "viewer")
    server = Gunicorn(url, tmp_path / "data", tmp_path / "gunicorn.log")
    sessions: list[requests.Session] = []
    victims: list[int] = []
    try:
        from app import create_app  # the callback map, to build the requests a browser sends

        mapped = create_app({"TESTING": True, "MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(tmp_path / "x"),
                             "MAIC_SECRET_KEY": "x"})
        callback_map = mapped.extensions["maic.dash"].callback_map
        mapped.extensions["maic.db"]["engine"].dispose()  # it checked the database when it was made
        uploads = checks.signed_in(server.base, analyst)
        dash = checks.signed_in(server.base, viewer)
        sessions += [uploads, dash]
        update = server.base + "/dash/_dash-update-component"

        def commit(file):
            return uploads.post(update, json=checks.commit_body(callback_map, file), timeout=60)

        def headline():
            return dash.post(update, json=checks.headline_body(callback_map), timeout=60)

        for file in files[:2]:
            assert checks.receipt_of(commit(file)) is not None

        # 1. A dashboard request waits on its read of the figures; its worker is killed. Every table a live
        # picture may read its figures from is held: the observations, and the current values and coverage the
        # database keeps from them (issue 17), so the request blocks whichever it reads first.
        held = Held(engine, "observation, current_value, current_coverage", "ACCESS EXCLUSIVE")
        try:
            thread, out = in_thread(headline)
            victim = server.worker_serving(engine, "faulted", has_written=False)
            victims.append(victim)
            os.kill(victim, signal.SIGKILL)
            thread.join(timeout=30)
        finally:
            held.release()
        assert "error" in out or out["response"].status_code >= 500, out  # that request was lost with its worker
        # The next ones work (the other worker, then gunicorn's replacement).
        for _ in range(6):
            response = headline()
            assert response.status_code == 200 and not checks.alert_text(response), response.text[:300]

        # 2. An upload's commit waits on its last write, its rows already inserted; its worker is killed.
        held = Held(engine, "data_version", "EXCLUSIVE")
        try:
            thread, out = in_thread(commit, files[2])
            victim = server.worker_serving(engine, "faulted", has_written=True)
            victims.append(victim)
            os.kill(victim, signal.SIGKILL)
            thread.join(timeout=30)
        finally:
            held.release()
        assert "error" in out or checks.receipt_of(out["response"]) is None, out
        with factory() as session:  # the killed transaction left nothing behind
            assert session.scalar(sa.text("SELECT count(*) FROM return")) == 2
            assert session.scalar(sa.text("SELECT count(*) FROM observation WHERE return_id NOT IN "
                                          "(SELECT id FROM return)")) == 0
        # Sent again, it lands once; then the rest.
        for file in files[2:]:
            receipt = None
            for _ in range(10):
                receipt = checks.receipt_of(commit(file))
                if receipt is not None:
                    break
                time.sleep(0.5)
            assert receipt is not None, server.log.read_text()[-2000:]
        assert server.proc.poll() is None and len(workers_of(server.proc.pid)) == 2
    finally:
        for http in sessions:
            http.close()
        server.stop()
        engine.dispose()
    log = server.log.read_text()
    assert all(f"Worker (pid:{pid}) was sent SIGKILL" in log for pid in victims), log[-2000:]
    checks.assert_same_as_clean_run(url, clean_url, files)
