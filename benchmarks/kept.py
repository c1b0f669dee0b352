"""What the first shared picture of a new data version costs, and what one kept answer costs.

The shared picture (`shared_picture`): the demo as `make run` seeds it, then a stream of returns as agency
leads send them under load (an agency's newest demo return with its figures moved a little: a correction),
and after each one the first shared picture of the new data version, timed in this process (single-threaded
CPU), with the process's kept group histories as a server would have them. "all groups" is the first picture
in a new process (nothing kept). Run alone with `python -m benchmarks.kept --shared-only [--quick]`.

Kept answers: what one kept answer costs, against a no-op Dash callback on the same server, with and without
Redis.

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

import argparse
import csv
import datetime as dt
import io
import os
import random
import statistics
import sys
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


# The home agencies that send shareable figures, in the order their leads send in this benchmark.
SENDERS = ("probation-cambs", "fenland-housing", "hmpps-prisons-east", "cambridge-housing", "peterborough-housing",
           "probation-cambs", "huntingdonshire-housing", "south-cambs-housing", "east-cambs-housing")


def _moved_return(folder: Path, slug: str, rng: random.Random, n: int) -> tuple[str, bytes]:
    """The agency's newest demo return with its figures moved a little, as benchmarks/load's leads send it."""
    newest = sorted((folder / slug).glob("*.csv"))[-1]
    rows = list(csv.reader(io.StringIO(newest.read_text())))
    for row in rows[1:]:
        row[3] = str(max(0, int(row[3]) + rng.randint(-2, 3)))
    rows[1][3] = str(int(rows[1][3]) + n)  # never the same bytes twice
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return newest.name, out.getvalue().encode()


def shared_first(tmp: Path, rounds: int) -> list[str]:
    """The demo seeded as `make run` does, then `rounds` returns, each followed by the first shared picture."""
    from maic import config as maic_config
    from maic.db import make_engine, make_session_factory, transaction
    from maic.demo import create_demo_users, seed
    from maic.errors import ValidationFailed
    from maic.migrate import upgrade
    from maic.picture import shared
    from maic.reference import first_week, load_reference, read_reference
    from maic.returns.ingest import IngestSettings, Submission, ingest_return

    data_dir = tmp / "demo"
    config = maic_config.load({"MAIC_DATA_DIR": str(data_dir)})
    url = config["MAIC_DATABASE_URL"]
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = IngestSettings.from_config(config)
    with transaction(factory) as session:
        load_reference(session, read_reference())
        create_demo_users(session)
    seed(factory, settings, data_dir / "demo-returns")
    threshold, days = int(config["MAIC_SUPPRESSION_THRESHOLD"]), int(config["MAIC_SHARED_HISTORY_DAYS"])

    def first_picture() -> tuple[float, float, int]:
        """CPU seconds of this process (what the picture costs, whatever else the machine runs), wall seconds,
        and how many published versions were protected together."""
        with factory() as session:
            start = first_week(session, dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"])))
            began, began_cpu = time.perf_counter(), time.process_time()
            picture = shared.shared_picture(session, shared.SharedQuery(), threshold=threshold,
                                            history_from=start, history_days=days)
            cpu, wall = time.process_time() - began_cpu, time.perf_counter() - began
            published = shared._published_cache[next(reversed(shared._published_cache))]
            assert picture.cells
            return cpu, wall, len(published.versions)

    load_before = os.getloadavg()
    try:
        cold, cold_wall, versions = first_picture()
        rng = random.Random(12)
        times, walls, sent = [], [], 0
        while len(times) < rounds:
            slug = SENDERS[sent % len(SENDERS)]
            sent += 1
            name, data = _moved_return(data_dir / "demo-returns", slug, rng, sent)
            try:
                ingest_return(factory, Submission(data=data, filename=name, agency_slug=slug, actor="bench"),
                              settings)
            except ValidationFailed:
                continue  # a figure moved below a part of it: the lead would fix it; not a new version
            cpu, wall, versions = first_picture()
            times.append(cpu)
            walls.append(wall)
    finally:
        engine.dispose()
    load_after = os.getloadavg()
    return ["First shared picture of a new data version (shared_picture, no question), demo data as `make run` "
            f"seeds it, SQLite; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)",
            f"{'CPU s of the process':<34} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'wall p50':>9}",
            f"{'all groups (nothing kept)':<34} {1:>4} {cold:>8.3f} {cold:>8.3f} {cold:>8.3f} {cold_wall:>9.3f}",
            f"{'after a return (' + str(versions) + ' versions)':<34} {len(times):>4} {statistics.median(times):>8.3f} "
            f"{_p(times, 0.95):>8.3f} {max(times):>8.3f} {statistics.median(walls):>9.3f}",
            "CPU s per return, in order: " + " ".join(f"{t:.3f}" for t in times)]


def run(args) -> str:
    from tests.services import REDIS_SERVER

    quick = getattr(args, "quick", False)
    with tempfile.TemporaryDirectory(prefix="maic-bench-shared-") as tmp:
        first = shared_first(Path(tmp), 8 if quick else ROUNDS)
    if getattr(args, "shared_only", False):
        return "\n".join(first)
    if not os.access(REDIS_SERVER, os.X_OK):
        return "\n".join([*first, f"kept: skipped ({REDIS_SERVER} is not installed: apt-get install redis-server)"])
    n = 8 if quick else ROUNDS
    header = ["Kept answers via POST /dash/_dash-update-component over HTTP (the opening view): ms; each timed "
              "right after a no-op callback on the same server; ratio = kept / no-op",
              f"{'callback':<30} {'p50':>8} {'p95':>8} {'no-op50':>8} {'no-op95':>8} {'x p50':>7} {'x p95':>7}"]
    with tempfile.TemporaryDirectory(prefix="maic-bench-kept-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        counts = generate(f"sqlite:///{tmp_path / 'national.db'}", Size.quick())
        header.insert(1, f"SQLite, quick national size, generated in {time.perf_counter() - started:.0f} s: {counts}")
        lines = measure(f"sqlite:///{tmp_path / 'national.db'}", tmp_path, n)
    return "\n".join([*first, "", *header, *lines])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.kept")
    parser.add_argument("--quick", action="store_true", help="8 rounds, not 30")
    parser.add_argument("--shared-only", action="store_true", help="only the first shared picture per data version")
    print(run(parser.parse_args()))
    sys.exit(0)
