"""How long a briefing pack takes to make, end to end (the picture's queries, the HTML, Chromium printing the PDF),
for the demo LRF (target <= 5 s) and for the national-scale data (benchmarks/national.py; target <= 30 s), home
scope and home + neighbours. SQLite; each pack is issued as the button issues it (kept and audited)."""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.national import Size, generate
from maic import briefing
from maic import config as maic_config
from maic.db import make_engine, make_session_factory, transaction
from maic.demo import create_demo_users, seed
from maic.migrate import upgrade
from maic.reference import load_reference, read_reference
from maic.returns.ingest import IngestSettings

DEMO_DAY = dt.datetime(2024, 11, 27, 12, 0)
TARGETS = {"demo": 5.0, "national": 30.0}


def _time_packs(url: str, data_dir: Path, n: int, request: briefing.PackRequest) -> list[float]:
    config = maic_config.load({"MAIC_DATA_DIR": str(data_dir), "MAIC_DATABASE_URL": url})
    settings = briefing.BriefingSettings.from_config(config)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    times = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            with transaction(factory) as session:
                briefing.issue_pack(session, request, "benchmark", settings=settings)
            times.append(time.perf_counter() - started)
    finally:
        engine.dispose()
    return times


def _row(data: str, what: str, times: list[float]) -> str:
    target = TARGETS[data]
    worst = max(times)
    return (f"{data:<9} {what:<32} {statistics.median(times):>8.2f} {worst:>8.2f} {target:>7.0f} "
            f"{'ok' if worst <= target else 'OVER':>5}")


def _demo(folder: Path) -> str:
    url = f"sqlite:///{folder / 'demo.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        load_reference(session, read_reference())
        create_demo_users(session)
    config = maic_config.load({"MAIC_DATA_DIR": str(folder), "MAIC_DATABASE_URL": url})
    seed(factory, IngestSettings.from_config(config), folder / "demo-returns", now=DEMO_DAY)
    engine.dispose()
    return url


def run(args) -> str:
    quick = getattr(args, "quick", False)
    n = 2 if quick else 3
    size = Size.quick() if quick else Size()
    problem = briefing.chromium_problem(maic_config.load({}).get("MAIC_CHROMIUM") or "/usr/bin/chromium")
    header = [f"Briefing pack, end to end (queries, HTML, Chromium's PDF), issued {n} times each; seconds",
              f"{'data':<9} {'pack':<32} {'median':>8} {'worst':>8} {'target':>7} {'':>5}"]
    if problem:
        return "\n".join([*header, f"not measured: {problem}"])
    lines = []
    with tempfile.TemporaryDirectory(prefix="maic-bench-briefing-") as tmp:
        folder = Path(tmp)
        url = _demo(folder)
        lines.append(_row("demo", "SCG, PDF, home", _time_packs(url, folder, n, briefing.PackRequest())))
        lines.append(_row("demo", "SCG, HTML, home", _time_packs(url, folder, n, briefing.PackRequest(format="html"))))
        lines.append(_row("demo", "neighbours', PDF", _time_packs(url, folder, n,
                                                                 briefing.PackRequest(audience="neighbour"))))
        national = f"sqlite:///{folder / 'national.db'}"
        started = time.perf_counter()
        counts = generate(national, size)
        header.insert(1, f"national: {size.areas} areas x {size.metrics} metrics x {size.weeks} weeks, generated in "
                         f"{time.perf_counter() - started:.0f} s: {counts}")
        lines.append(_row("national", "SCG, PDF, home", _time_packs(national, folder, n, briefing.PackRequest())))
        lines.append(_row("national", "SCG, PDF, home + neighbours", _time_packs(
            national, folder, n, briefing.PackRequest(scope="neighbours"))))
    return "\n".join(header + lines)
