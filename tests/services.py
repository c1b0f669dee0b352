"""Private services for tests that stop and start them, never the machine's shared ones: a Redis of the test's
own, the app served by a process of its own (as a worker of a deployment is), and a PostgreSQL of the test's own.

Use the fixture `private_redis` (import it into the test module) or `RedisServer(folder)` directly.
`PrivatePostgres` runs the machine's own PostgreSQL binaries (initdb, pg_ctl) on a data folder in a new
temporary directory, on a free port of 127.0.0.1 and a socket in that directory, so that restarting it or
terminating its backends disturbs nothing else (its fixtures: tests/faults/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from benchmarks.redis_server import REDIS_SERVER, RedisServer, free_port, wait_for_listening

__all__ = ["REDIS_SERVER", "AppProcess", "PrivatePostgres", "RedisServer", "free_port", "private_redis"]
PG_BIN = Path(os.environ.get("MAIC_TEST_PG_BIN", "/usr/local/bin"))
ROOT = Path(__file__).resolve().parents[1]


def _wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    wait_for_listening(port, process, what, timeout)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(f"{REDIS_SERVER} is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


class AppProcess:
    """The app (`app:create_app()`) served by waitress in a process of its own on a free port, configured by
    environment variables only, as a worker of a deployment is. Its output goes to `folder/app-<port>.log`."""

    def __init__(self, folder: Path, env: dict[str, str], threads: int = 4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"app-{self.port}.log"
        folder.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "waitress", f"--listen=127.0.0.1:{self.port}", f"--threads={threads}",
             "--call", "app:create_app"],
            cwd=ROOT, env={**os.environ, **env, "PYTHONWARNINGS": "ignore"}, stdout=self._log,
            stderr=subprocess.STDOUT)
        try:
            _wait_for_port(self.port, self.process, "the app", timeout=60)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


# --- a private PostgreSQL (issue 12: fault tests) ---------------------------------------------------------


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def postgres_missing() -> str | None:
    """Why a private PostgreSQL cannot be started here, or None."""
    for name in ("initdb", "pg_ctl"):
        if not (PG_BIN / name).exists():
            return f"{PG_BIN / name} is missing (set MAIC_TEST_PG_BIN to PostgreSQL's bin folder)"
    return None


class PrivatePostgres:
    """A PostgreSQL server of the test's own: initdb into a temp dir, pg_ctl start/stop/restart, trust auth."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="maic-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        # initdb refuses to run as root: then the server runs as the machine's postgres user.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8",
                  "--locale", "C")
        with open(self.data / "postgresql.conf", "a") as conf:
            # Small and quick: these servers hold a few test databases for a few minutes.
            conf.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                       f"unix_socket_directories = '{self.root}'\nfsync = off\nfull_page_writes = off\n"
                       "shared_buffers = 16MB\nmax_connections = 100\nlogging_collector = off\n")
        self.admin: sa.Engine | None = None

    def _run(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as, *map(str, args)], check=True, capture_output=True, text=True,
                              timeout=120)

    def start(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "start")
        wait_for_port(self.port)

    def stop(self, mode: str = "fast") -> None:
        """mode: 'fast' (a clean shutdown: sessions are cut) or 'immediate' (as if the server crashed)."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, down_seconds: float = 0.0, mode: str = "fast") -> None:
        self.stop(mode)
        time.sleep(down_seconds)
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def engine(self) -> sa.Engine:
        if self.admin is None:
            self.admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        return self.admin

    def create_database(self, name: str) -> str:
        with self.engine().connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def terminate(self, pid: int) -> bool:
        """pg_terminate_backend: the connection with that backend is cut, as a network fault or an admin would."""
        with self.engine().connect() as conn:
            return bool(conn.scalar(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}))

    def close(self) -> None:
        if self.admin is not None:
            self.admin.dispose()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.close()


def migrated_database(server: PrivatePostgres, name: str = "maic") -> str:
    """A database on the private server built as production builds it: migrations, then the reference data."""
    from tests.fixtures import build_database

    url = server.create_database(name)
    build_database(url)
    return url
