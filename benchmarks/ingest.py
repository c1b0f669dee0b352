"""Ingest benchmark: a 100k-row return through parse + validate + commit (ingest_return), against a raw bulk
insert of the same rows (DBAPI executemany into the observation table) on the same kind of database, in one
run, on SQLite and PostgreSQL. Target: ours <= 2x raw.

Each side gets its own fresh database built by the real migrations with the reference data, plus enough
synthetic areas (linked to the probation agency) that 100k distinct (metric, area, week) rows exist.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from maic.db import make_engine, make_session_factory, transaction
from maic.migrate import upgrade
from maic.models import Area, Metric, Observation, Return, agency_area, utcnow
from maic.reference import load_reference, read_reference
from maic.returns.ingest import IngestSettings, Submission, ingest_return

PG_URL = os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AGENCY = "probation-cambs"
START = dt.date(2024, 8, 5)


def _prepare(url: str, areas: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        load_reference(session, read_reference())
        lrf_id, agency_id = session.execute(sa.text("SELECT lrf_id, id FROM agency WHERE slug = :s"),
                                            {"s": AGENCY}).one()
        session.execute(sa.insert(Area), [{"code": f"B{i:08d}", "name": f"Bench area {i}", "lrf_id": lrf_id,
                                           "population": 10_000} for i in range(areas)])
        ids = session.scalars(sa.select(Area.id).where(Area.code.like("B%"))).all()
        session.execute(sa.insert(agency_area), [{"agency_id": agency_id, "area_id": i} for i in ids])
    engine.dispose()


def _rows(n: int, metrics: list[str], areas: int) -> list[tuple[str, str, str, int]]:
    rng = random.Random(4)
    per_week = len(metrics) * areas
    weeks = -(-n // per_week)
    out = []
    for w in range(weeks):
        week = (START + dt.timedelta(weeks=w)).isoformat()
        for a in range(areas):
            for m in metrics:
                out.append((week, f"B{a:08d}", m, rng.randint(0, 60)))
                if len(out) == n:
                    return out
    return out


def _csv(rows) -> bytes:
    return ("week,area_code,metric,value\n" + "".join(f"{w},{a},{m},{v}\n" for w, a, m, v in rows)).encode()


def _ours(url: str, data: bytes, archive: Path) -> float:
    engine = make_engine(url)
    settings = IngestSettings(archive_dir=archive, max_bytes=len(data) + 1, max_rows=len(data), incident_start=START,
                              today=START + dt.timedelta(weeks=400))
    started = time.perf_counter()
    receipt = ingest_return(make_session_factory(engine), Submission(data=data, filename="bench.csv",
                                                                     agency_slug=AGENCY, actor="bench"), settings)
    took = time.perf_counter() - started
    engine.dispose()
    assert not receipt.duplicate
    return took


def _raw(url: str, rows) -> float:
    """The baseline: resolve codes with two dict lookups, then one executemany of plain INSERTs, one commit."""
    engine = make_engine(url)
    with engine.begin() as conn:
        metric_ids = dict(conn.execute(sa.select(Metric.key, Metric.id)).all())
        area_ids = dict(conn.execute(sa.select(Area.code, Area.id)).all())
        agency_id = conn.scalar(sa.text("SELECT id FROM agency WHERE slug = :s"), {"s": AGENCY})
        now = utcnow()
        return_id = conn.execute(sa.insert(Return).values(
            agency_id=agency_id, first_week=START, week=START, source="cli", received_at=now, filename="raw.csv",
            sha256=uuid.uuid4().hex, archive_path="", size_bytes=0, status="accepted", row_count=len(rows),
            report="").returning(Return.id)).scalar_one()
    params = [(metric_ids[m], area_ids[a], dt.date.fromisoformat(w), v, return_id, now) for w, a, m, v in rows]
    table = Observation.__table__
    placeholder = "?" if engine.dialect.name == "sqlite" else "%s"
    sql = (f"INSERT INTO {table.name} (metric_id, area_id, week, value, return_id, recorded_at) VALUES "
           f"({', '.join([placeholder] * 6)})")
    raw = engine.raw_connection()
    started = time.perf_counter()
    try:
        cursor = raw.cursor()
        cursor.executemany(sql, params)
        raw.commit()
    finally:
        took = time.perf_counter() - started
        raw.close()
    engine.dispose()
    return took


def _raw_core(url: str, rows) -> float:
    """A second baseline: SQLAlchemy Core insert of the same rows (multi-row VALUES batches), one commit."""
    engine = make_engine(url)
    with engine.begin() as conn:
        metric_ids = dict(conn.execute(sa.select(Metric.key, Metric.id)).all())
        area_ids = dict(conn.execute(sa.select(Area.code, Area.id)).all())
        return_id = conn.scalar(sa.select(sa.func.max(Return.id)))
    now = utcnow()
    params = [{"metric_id": metric_ids[m], "area_id": area_ids[a], "week": dt.date.fromisoformat(w), "value": v,
               "return_id": return_id, "recorded_at": now, "superseded_at": None} for w, a, m, v in rows]
    started = time.perf_counter()
    with engine.begin() as conn:
        # Same table, earlier rows superseded first so the partial unique index allows the same keys again.
        conn.execute(sa.update(Observation).values(superseded_at=now))
        setup = time.perf_counter() - started
        conn.execute(sa.insert(Observation), params)
    took = time.perf_counter() - started - setup
    engine.dispose()
    return took


class _Postgres:
    def __init__(self):
        self.url = sa.engine.make_url(PG_URL)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def create(self) -> str:
        name = f"maic_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with self.admin.connect() as conn:
            for name in self.names:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


def run(args) -> str:
    n = 10_000 if getattr(args, "quick", False) else 100_000
    metrics = ["releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa", "probation_caseload",
               "probation_recalls"]
    areas = 200
    rows = _rows(n, metrics, areas)
    data = _csv(rows)
    lines = [f"ingest: {len(rows):,} rows ({len(data) / 1e6:.1f} MB CSV, {len({r[0] for r in rows})} weeks x "
             f"{areas} areas x {len(metrics)} metrics); ours = parse + validate + preview checks + commit via "
             "ingest_return; raw dbapi = DBAPI executemany of the same rows; raw core = SQLAlchemy Core bulk insert; "
             "ratio = ours / the faster raw",
             f"{'database':<12}{'ours (s)':>10}{'raw dbapi':>11}{'raw core':>10}{'ratio':>8}{'target':>8}"]
    with tempfile.TemporaryDirectory() as tmp:
        targets = [("sqlite", lambda i: f"sqlite:///{Path(tmp) / f'bench{i}.db'}", None)]
        pg = None
        if not getattr(args, "no_postgres", False):
            try:
                pg = _Postgres()
                with pg.admin.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                targets.append(("postgresql", lambda _i: pg.create(), pg))
            except Exception as exc:  # noqa: BLE001  (report and go on with SQLite)
                lines.append(f"postgresql: skipped ({exc.__class__.__name__})")
                pg = None
        try:
            for name, make_url, _ in targets:
                ours_url, raw_url = make_url(1), make_url(2)
                _prepare(ours_url, areas)
                _prepare(raw_url, areas)
                ours = _ours(ours_url, data, Path(tmp) / f"archive-{name}")
                raw = _raw(raw_url, rows)
                core = _raw_core(raw_url, rows)
                ratio = ours / min(raw, core)  # against the faster of the two baselines
                lines.append(f"{name:<12}{ours:>10.2f}{raw:>11.2f}{core:>10.2f}{ratio:>8.2f}{'<= 2.0':>8}"
                             f"{'  ok' if ratio <= 2.0 else '  OVER TARGET'}")
        finally:
            if pg is not None:
                pg.close()
    return "\n".join(lines)
