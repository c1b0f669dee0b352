"""Everything the load benchmark runs against, started by itself and stopped afterwards: a database of its own on
the machine's PostgreSQL, a private redis-server on a free port in the run's folder (or, where redis-server is not
installed, an empty database number of the machine's Redis), migrations, reference and demo data (and the
national-scale data if asked), the load accounts, one or more gunicorn instances on free ports over that one
database and Redis, and the scheduler as its own process.

Nothing else need be running but PostgreSQL (as on every machine here); nothing of it is left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from benchmarks.redis_server import REDIS_SERVER, RedisServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("MAIC_LOAD_POSTGRES_URL",
                        os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
REDIS_HOST = os.environ.get("MAIC_LOAD_REDIS", "127.0.0.1:6379")
VIEWER_PREFIX = "load-viewer-"
PASSWORD = "load benchmark pass phrase"  # the load accounts' only password; they live as long as the run
WORKERS, THREADS = 4, 4  # the production default (maic/config.py)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """A process's children (gunicorn's workers), from /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and the children it waited for, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def busy_seconds() -> tuple[float, float]:
    """The whole machine's CPU seconds busy and in all, over every core, from /proc/stat: what the server, the
    database, the load generator and everything else on this host used together."""
    fields = [int(f) for f in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    idle = fields[3] + fields[4]  # idle, iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields) - idle) / tick, sum(fields) / tick


def machine() -> dict:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return {"cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1), "cpu": model,
            "loadavg": os.getloadavg()}


def _pick_redis_db(client_for) -> int:
    """An empty Redis database number, from the top down (tests and the app's default use the low ones)."""
    for number in range(15, 0, -1):
        if client_for(number).dbsize() == 0:
            return number
    raise RuntimeError(f"no empty Redis database on {REDIS_HOST}: the load benchmark needs one of its own")


def private_redis_available() -> bool:
    return os.access(REDIS_SERVER, os.X_OK)


@dataclass
class Stack:
    work: Path
    viewers: int
    api_clients: int
    servers: int = 1
    workers_per_server: int = WORKERS
    threads: int = THREADS
    national: str | None = None  # "quick" or "full": benchmarks/national.py's data beside the demo's
    database: str = field(default_factory=lambda: f"maic_load_{uuid.uuid4().hex[:10]}")
    env: dict = field(default_factory=dict)
    base_urls: list[str] = field(default_factory=list)
    gunicorns: list[subprocess.Popen] = field(default_factory=list)
    scheduler: subprocess.Popen | None = None
    redis_db: int | None = None
    redis_server: RedisServer | None = None
    national_counts: dict = field(default_factory=dict)
    sequences_fixed: list = field(default_factory=list)
    lead_logins: list[tuple[str, str]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    logs: list = field(default_factory=list)

    # --- start ----------------------------------------------------------------------------------------

    def start(self) -> Stack:
        import redis

        self.work.mkdir(parents=True, exist_ok=True)
        admin_url = sa.engine.make_url(PG_URL)
        self.url = admin_url.set(database=self.database).render_as_string(hide_password=False)
        self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.database}"')
        self._created_db = True
        if private_redis_available():
            # Its own server, so that the Redis fault stops nothing anyone else uses.
            self.redis_server = RedisServer(self.work / "redis").start()
            redis_url = self.redis_server.url
        else:
            host, _, port = REDIS_HOST.partition(":")
            self.redis_db = _pick_redis_db(lambda n: redis.Redis(host=host, port=int(port or 6379), db=n))
            self._redis = redis.Redis(host=host, port=int(port or 6379), db=self.redis_db)
            self._redis.set("maic-load:owner", self.database)  # marks the number as taken while this run lasts
            redis_url = f"redis://{REDIS_HOST}/{self.redis_db}"
        self.redis_url = redis_url
        self.env = {
            **os.environ,
            "MAIC_ENV": "production",  # as `make prod`, the Procfile and the systemd units run it
            "MAIC_DATABASE_URL": self.url,
            "MAIC_DATA_DIR": str(self.work / "data"),
            "MAIC_SECRET_KEY": uuid.uuid4().hex * 2,
            "MAIC_REDIS_URL": redis_url,
            # Every simulated person signs in from 127.0.0.1: the per-address sign-in limit would refuse all but
            # the first ten of them each minute, which is not what a server behind a proxy sees.
            "MAIC_LOGIN_RATE_LIMIT": "100000 per minute",
        }
        (self.work / "data").mkdir(exist_ok=True)
        for args in (["db", "upgrade"], ["reference", "load"], ["demo", "seed"]):
            self._maic(*args)
        if self.national:
            self._national()
        self._accounts()
        for number in range(self.servers):
            self._start_gunicorn(number)
        self._start_scheduler()
        return self

    def _national(self) -> None:
        """benchmarks/national.py's national-scale picture written straight into the database beside the demo's
        (after it: `maic demo seed` does nothing in a database that already holds returns, and the demo's leads
        need their returns to correct). It moves the incident's start back to its first week, 2020."""
        from benchmarks.national import Size, generate, sequences_behind
        from maic.db import make_engine

        size = Size.quick() if self.national == "quick" else Size()
        self.national_counts = generate(self.url, size)
        engine = make_engine(self.url)
        try:
            # generate() writes returns with their ids; a sequence left behind would make the leads' first commit
            # collide with them (it did once). generate() moves them on; checked here, so that it cannot regress.
            behind = sequences_behind(engine)
        finally:
            engine.dispose()
        if behind:
            raise RuntimeError(f"after the national data, id sequences are behind their tables: {behind}")

    def _maic(self, *args: str) -> None:
        done = subprocess.run([str(BIN / "maic"), *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"maic {' '.join(args)} failed: {done.stderr.strip()[-800:]}")

    def _accounts(self) -> None:
        """The viewers' accounts (one hash computed once: the run's set-up is not what is measured), the demo's
        agency leads, and API tokens for the neighbours' systems."""
        from maic.auth import create_user
        from maic.db import make_engine, make_session_factory, transaction
        from maic.demo import read_logins
        from maic.models import User
        from maic.sharing.tokens import create_token

        engine = make_engine(self.url)
        try:
            with transaction(make_session_factory(engine)) as session:
                first = create_user(session, f"{VIEWER_PREFIX}0000", PASSWORD, "viewer", display_name="Load viewer 0")
                session.flush()
                session.execute(sa.insert(User), [
                    {"username": f"{VIEWER_PREFIX}{i:04d}", "display_name": f"Load viewer {i}",
                     "password_hash": first.password_hash, "role": "viewer"} for i in range(1, self.viewers)])
                for i in range(max(1, self.api_clients) + 1):
                    _info, secret = create_token(session, f"load-neighbour-{i}", created_by="load benchmark", days=1)
                    self.tokens.append(secret)
        finally:
            engine.dispose()
        self.lead_logins = [(u, p) for u, p, role in read_logins(self.work / "data" / "demo-logins.txt")
                            if role == "agency_lead"]

    def _gunicorn_command(self, port: int) -> tuple[list[str], dict]:
        """The production start's web process (the Procfile's `gunicorn 'app:create_app()'`, its settings in
        gunicorn.conf.py read from MAIC_BIND, MAIC_WORKERS, MAIC_THREADS); without that file, the same shape on
        the command line. Returns the command and its environment."""
        env = {**self.env, "MAIC_BIND": f"127.0.0.1:{port}", "MAIC_WORKERS": str(self.workers_per_server),
               "MAIC_THREADS": str(self.threads)}
        if (ROOT / "gunicorn.conf.py").exists():
            return [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "app:create_app()"], env
        return [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "--workers",
                str(self.workers_per_server), "--threads", str(self.threads), "app:create_app()"], env

    def _log(self, name: str):
        handle = open(self.work / f"{name}.log", "ab")  # noqa: SIM115  (closed in stop())
        self.logs.append(handle)
        return handle

    @property
    def base_url(self) -> str:
        return self.base_urls[0] if self.base_urls else ""

    @property
    def gunicorn(self) -> subprocess.Popen | None:
        return self.gunicorns[0] if self.gunicorns else None

    def _start_gunicorn(self, number: int) -> None:
        """One more gunicorn instance (a server of its own, as on another host) over the same database and Redis."""
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        name = self.log_name(number)
        command, env = self._gunicorn_command(port)
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._log(name), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.gunicorns.append(process)
        self.base_urls.append(base_url)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}: see {self.work / (name + '.log')}")
            try:
                if requests.get(f"{base_url}/login", timeout=2).status_code == 200 and \
                        len(children(process.pid)) >= self.workers_per_server:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn on {base_url} did not answer within 120 s")

    @staticmethod
    def log_name(number: int) -> str:
        return "gunicorn" if number == 0 else f"gunicorn-{number + 1}"

    def _start_scheduler(self) -> None:
        self.scheduler = subprocess.Popen([str(BIN / "maic"), "scheduler"], env=self.env, cwd=ROOT,
                                          stdout=self._log("scheduler"), stderr=subprocess.STDOUT,
                                          start_new_session=True)

    # --- while running --------------------------------------------------------------------------------

    def workers(self) -> list[int]:
        """Every gunicorn worker of every server."""
        return [pid for process in self.gunicorns for pid in children(process.pid)]

    def server_cpu(self) -> float:
        """CPU seconds of gunicorn's masters and workers, of the scheduler and of Redis so far."""
        pids = [p.pid for p in (*self.gunicorns, self.scheduler) if p] + self.workers()
        if self.redis_server is not None and self.redis_server.process is not None:
            pids.append(self.redis_server.process.pid)
        return sum(cpu_seconds(pid) for pid in pids)

    def database_cpu(self) -> dict[int, float]:
        """CPU seconds so far of each PostgreSQL backend serving this run's database (by pid): the database's share
        of the machine, which the server's figure leaves out (the machine's PostgreSQL is shared)."""
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                pids = conn.exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                            "AND pid <> pg_backend_pid()").scalars().all()
        finally:
            engine.dispose()
        return {pid: cpu_seconds(pid) for pid in pids}

    def returns_in_database(self) -> int:
        """How many returns the database holds: a step's new ones must be exactly the receipts leads were given."""
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql('SELECT count(*) FROM "return"').scalar_one()
        finally:
            engine.dispose()

    def stop_redis(self) -> None:
        """The Redis fault: the app's Redis stopped (its cache is lost, as a restarted Redis's is)."""
        if self.redis_server is None:
            raise RuntimeError("the Redis fault needs a private redis-server (install redis-server)")
        self.redis_server.stop()

    def start_redis(self) -> None:
        self.redis_server.start()  # the same port: the app's MAIC_REDIS_URL finds it back

    def kill_worker(self) -> int:
        """kill -9 of one gunicorn worker (the master starts another)."""
        pid = self.workers()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def server_log_problems(self) -> list[str]:
        """Lines of gunicorn's and the scheduler's logs that say something went wrong (a worker timed out or
        died, an error was logged)."""
        found = []
        for name in (*(self.log_name(n) for n in range(self.servers)), "scheduler"):
            path = self.work / f"{name}.log"
            if path.exists():
                found += [f"{name}: {line.strip()[:200]}" for line in path.read_text(errors="replace").splitlines()
                          if any(word in line for word in ("ERROR", "CRITICAL", "TIMEOUT", "Traceback", "killed"))]
        return found

    # --- stop -----------------------------------------------------------------------------------------

    def keep_logs(self, folder: Path) -> list[Path]:
        """Copy the servers' logs (gunicorn's, the scheduler's, Redis's) into `folder` before the run's folder goes."""
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for log in [*self.work.glob("*.log"), *(self.work / "redis").glob("*.log")]:
            target = folder / (f"redis-{log.name}" if log.parent.name == "redis" else log.name)
            shutil.copyfile(log, target)
            kept.append(target)
        return kept

    def stop(self) -> None:
        for process in (self.scheduler, *self.gunicorns):
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        for handle in self.logs:
            handle.close()
        if getattr(self, "_redis", None) is not None:
            self._redis.flushdb()
            self._redis.close()
        if self.redis_server is not None:
            self.redis_server.stop()
        if getattr(self, "_created_db", False):
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            self._admin.dispose()
        shutil.rmtree(self.work / "data", ignore_errors=True)
