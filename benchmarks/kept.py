"""What one kept answer costs, against a no-op Dash callback on the same server, with and without Redis.

Three app servers (benchmarks/panel_server.py, each a process of its own) over one national-scale database
(benchmarks/national.py, the quick size: what is kept is the rendered answer, so its cost hardly depends on
the data's size): A and B share a private redis-server (MAIC_REDIS_URL), C keeps answers per process as a
laptop does. For each panel of the opening view:
- "kept here": asked again of the server that computed it (its own memory, Redis not asked);
- "kept, Redis": the first request to B after A computed it for a new data version (read from Redis, no panel
  code runs on B);
- "kept, no Redis": asked again of C.
p50 and p95 in ms over HTTP with a signed-in viewer, and the ratio of each to the no-op's.
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
    return (f"{what:<34} {p50:>8.2f} {p95:>8.2f} {p50 / statistics.median(noop):>8.2f} "
            f"{p95 / _p(noop, 0.95):>8.2f}")


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

        for server in servers:
            for _ in range(20):
                server.post(NOOP)  # first use: imports, connection pool
        noop = [s.post(NOOP) for _ in range(n * 4) for s in servers]
        lines = []
        for panel in PANELS:
            body = _body(panel, {})
            here, shared, local = [], [], []
            for _ in range(n):
                new_data()
                a.post(body)  # computed by A, kept in A and in Redis
                shared.append(b.post(body))  # B's first request at this version: from Redis
                c.post(body)
                here += [a.post(body) for _ in range(3)]
                local += [c.post(body) for _ in range(3)]
            lines += [_row(f"{panel}: kept here", here, noop), _row(f"{panel}: kept, Redis", shared, noop),
                      _row(f"{panel}: kept, no Redis", local, noop)]
        noop += [s.post(NOOP) for _ in range(n * 4) for s in servers]  # the baseline before and after
        return [_row("no-op callback", noop, noop), *lines]
    finally:
        for server in servers:
            server.close()
        if saved is not None:
            os.environ["MAIC_REDIS_URL"] = saved
        engine.dispose()
        redis_server.stop()


def run(args) -> str:
    n = 8 if getattr(args, "quick", False) else ROUNDS
    header = ["Kept answers via POST /dash/_dash-update-component over HTTP (the opening view): ms; "
              "ratio = this / the no-op callback's, same run",
              f"{'callback':<34} {'p50':>8} {'p95':>8} {'p50 x':>8} {'p95 x':>8}"]
    with tempfile.TemporaryDirectory(prefix="maic-bench-kept-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        counts = generate(f"sqlite:///{tmp_path / 'national.db'}", Size.quick())
        header.insert(1, f"SQLite, quick national size, generated in {time.perf_counter() - started:.0f} s: {counts}")
        lines = measure(f"sqlite:///{tmp_path / 'national.db'}", tmp_path, n)
    return "\n".join(header + lines)
