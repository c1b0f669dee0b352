"""What one kept answer costs, against a no-op Dash callback on the same server, with and without Redis.

Three app servers (benchmarks/panel_server.py, each a process of its own) over one national-scale database
(benchmarks/national.py, the quick size: what is kept is the rendered answer, so its cost hardly depends on
the data's size): A and B share a private redis-server (MAIC_REDIS_URL), C keeps answers per process as a
laptop does. For each panel of the opening view:
- "kept here": asked again of the server that computed it (its own memory, Redis not asked);
- "kept, Redis": the first request to B after A computed it for a new data version (read from Redis, no panel
  code runs on B);
- "kept, no Redis": asked again of C.
p50 and p95 in ms over HTTP with a signed-in viewer. The machine's load changes from second to second, so each
kept answer is timed right after a no-op callback on the same server, and the ratios compare the two.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.national import Size, generate
from benchmarks.panels import NOOP, PANELS, Server, _body

ROUNDS = 30


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _row(what: str, values: list[float], noop: list[float]) -> str:
    p50, p95 = statistics.median(values), _p(values, 0.95)
    return (f"{what:<30} {p50:>8.2f} {p95:>8.2f} {statistics.median(noop):>8.2f} {_p(noop, 0.95):>8.2f} "
            f"{p50 / statistics.median(noop):>7.2f} {p95 / _p(noop, 0.95):>7.2f}")


def measure(url: str, tmp: Path, n: int) -> list[str]:
    from tests.services import RedisServer

    redis_server = RedisServer(tmp / "redis").start()
    engine = sa.create_engine(url)
    saved = os.environ.get("MAIC_REDIS_URL")
    servers: list[Server] = []
    try:
        os.environ["MAIC_REDIS_URL"] = redis_server.url
        a, b = Server(url, tmp), Server(url, tmp)
        servers += [a, b]
        os.environ.pop("MAIC_REDIS_URL")
        c = Server(url, tmp)
        servers.append(c)

        def new_data() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE data_version SET version = version + 1 WHERE id = 1")

        def paired(server: Server, body: dict, into: tuple[list[float], list[float]]) -> None:
            # This machine's load changes from second to second: each kept answer is timed right after a no-op
            # on the same server, and compared with those no-ops.
            into[1].append(server.post(NOOP))
            into[0].append(server.post(body))

        for server in servers:
            for _ in range(20):
                server.post(NOOP)  # first use: imports, connection pool
        lines = []
        for panel in PANELS:
            body = _body(panel, {})
            here: tuple[list[float], list[float]] = ([], [])
            shared: tuple[list[float], list[float]] = ([], [])
            local: tuple[list[float], list[float]] = ([], [])
            for _ in range(n):
                new_data()
                a.post(body)  # computed by A, kept in A and in Redis
                paired(b, body, shared)  # B's first request at this version: read from Redis
                c.post(body)
                for _ in range(3):
                    paired(a, body, here)
                    paired(c, body, local)
            lines += [_row(f"{panel}: kept here", *here), _row(f"{panel}: kept, Redis", *shared),
                      _row(f"{panel}: kept, no Redis", *local)]
        return lines
    finally:
        for server in servers:
            server.close()
        if saved is not None:
            os.environ["MAIC_REDIS_URL"] = saved
        engine.dispose()
        redis_server.stop()


def run(args) -> str:
    from tests.services import REDIS_SERVER

    if not os.access(REDIS_SERVER, os.X_OK):
        return f"kept: skipped ({REDIS_SERVER} is not installed: apt-get install redis-server)"
    n = 8 if getattr(args, "quick", False) else ROUNDS
    header = ["Kept answers via POST /dash/_dash-update-component over HTTP (the opening view): ms; each timed "
              "right after a no-op callback on the same server; ratio = kept / no-op",
              f"{'callback':<30} {'p50':>8} {'p95':>8} {'no-op50':>8} {'no-op95':>8} {'x p50':>7} {'x p95':>7}"]
    with tempfile.TemporaryDirectory(prefix="maic-bench-kept-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        counts = generate(f"sqlite:///{tmp_path / 'national.db'}", Size.quick())
        header.insert(1, f"SQLite, quick national size, generated in {time.perf_counter() - started:.0f} s: {counts}")
        lines = measure(f"sqlite:///{tmp_path / 'national.db'}", tmp_path, n)
    return "\n".join(header + lines)
