"""A national-scale picture for the panel benchmark, written straight into a fresh database (no ingest).

About 300 areas (the demo LRF and its neighbours with their real district codes, plus synthetic LRFs),
30 metrics (the reference catalogue plus synthetic service metrics with RAG thresholds), 260 weeks:
~2.3M current observations, plus 10% superseded history (an earlier return replaced by a later one), one
return per agency and week. Deterministic (seeded), so runs compare.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from dataclasses import dataclass

import sqlalchemy as sa

from maic.db import make_engine, make_session_factory, transaction
from maic.migrate import upgrade
from maic.models import (
    LRF,
    Agency,
    Area,
    DataChange,
    DataVersion,
    Incident,
    Metric,
    Observation,
    Return,
    agency_area,
)
from maic.reference import NEIGHBOUR_KIND, load_reference, read_reference


@dataclass(frozen=True)
class Size:
    areas: int = 300
    metrics: int = 30
    weeks: int = 260
    superseded_share: float = 0.10

    @classmethod
    def quick(cls) -> Size:
        return cls(areas=80, metrics=30, weeks=52)


FIRST_WEEK = dt.date(2020, 1, 6)


def _extra_reference(session, size: Size) -> None:
    """Synthetic LRFs and areas up to size.areas, synthetic metrics up to size.metrics, agencies for both."""
    areas = session.scalar(sa.select(sa.func.count()).select_from(Area))
    n_lrf = 0
    while areas < size.areas:
        n_lrf += 1
        lrf = LRF(code=f"bench-lrf-{n_lrf:02d}", name=f"Benchmark LRF {n_lrf}", region="Benchmark")
        session.add(lrf)
        session.flush()
        for i in range(min(10, size.areas - areas)):
            session.add(Area(code=f"E0999{n_lrf:02d}{i:02d}", name=f"Bench district {n_lrf}-{i}", lrf_id=lrf.id,
                             population=random.Random(n_lrf * 100 + i).randint(60_000, 400_000)))
            areas += 1
        session.flush()
        agency = Agency(slug=f"bench-lrf-{n_lrf:02d}-maic", name=f"Benchmark LRF {n_lrf} cell", kind=NEIGHBOUR_KIND,
                        lrf_id=lrf.id)
        agency.areas = list(session.scalars(sa.select(Area).where(Area.lrf_id == lrf.id)))
        session.add(agency)
    metrics = session.scalar(sa.select(sa.func.count()).select_from(Metric))
    for i in range(size.metrics - metrics):
        session.add(Metric(key=f"bench_service_{i}", label=f"Benchmark service {i} referrals", unit="referrals",
                           agency_kind="probation", panel="services", aggregation="sum", rag_basis="per_10k",
                           rag_amber=1.0, rag_red=2.0, shareable=False, sort_order=100 + i))
    session.execute(sa.update(Incident).values(start=FIRST_WEEK))
    session.flush()


def generate(url: str, size: Size, seed: int = 2024) -> dict[str, int]:
    """Migrate an empty database at `url` and fill it. Returns counts."""
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            load_reference(session, read_reference())
            _extra_reference(session, size)
        with factory() as session:
            areas = session.execute(sa.select(Area.id, Area.population, Area.lrf_id)).all()[: size.areas]
            metrics = session.execute(sa.select(Metric.id, Metric.agency_kind).order_by(Metric.sort_order)).all()
            metrics = metrics[: size.metrics]
            home = session.scalar(sa.select(LRF.id).where(LRF.is_home.is_(True)))
            agencies = session.execute(sa.select(Agency.id, Agency.kind, Agency.lrf_id)).all()
            links = session.execute(sa.select(agency_area.c.agency_id, agency_area.c.area_id)).all()
        by_kind = {a.kind: a.id for a in agencies if a.lrf_id == home}
        cell_for_lrf = {a.lrf_id: a.id for a in agencies if a.kind == NEIGHBOUR_KIND}
        served = {(ag, ar) for ag, ar in links}

        def agency_for(area, metric) -> int:
            if area.lrf_id == home:
                agency = by_kind.get(metric.agency_kind, by_kind["probation"])
                return agency if (agency, area.id) in served else by_kind["probation"]
            return cell_for_lrf[area.lrf_id]

        weeks = [FIRST_WEEK + dt.timedelta(weeks=w) for w in range(size.weeks)]
        pairs = [(a, m, agency_for(a, m)) for a in areas for m in metrics]
        agency_ids = sorted({p[2] for p in pairs})
        counts = {"returns": 0, "observations": 0, "superseded": 0}
        next_return = (session_max(engine, Return.id) or 0) + 1
        for week in weeks:
            first = dt.datetime.combine(week + dt.timedelta(days=8), dt.time(9, 0))
            fixed = first + dt.timedelta(days=1, hours=3)
            original_id = {ag: next_return + 2 * i for i, ag in enumerate(agency_ids)}
            final_id = {ag: next_return + 2 * i + 1 for i, ag in enumerate(agency_ids)}
            next_return += 2 * len(agency_ids)
            returns = []
            for ag in agency_ids:
                for rid, when, name in ((original_id[ag], first, "first"), (final_id[ag], fixed, "final")):
                    returns.append({"id": rid, "agency_id": ag, "first_week": week, "week": week, "source": "cli",
                                    "received_at": when, "filename": f"bench-{ag}-{week}-{name}.csv",
                                    "sha256": f"{rid:064x}", "archive_path": "", "size_bytes": 0,
                                    "status": "accepted", "row_count": 0, "report": ""})
            rows = []
            for area, metric, ag in pairs:
                value = rng.randint(0, max(3, (area.population or 100_000) // 20_000))
                if rng.random() < size.superseded_share:
                    rows.append((metric.id, area.id, week, value + 3, original_id[ag], first, fixed, final_id[ag]))
                    counts["superseded"] += 1
                rows.append((metric.id, area.id, week, value, final_id[ag], fixed, None, None))
            insert(engine, returns, rows)
            counts["returns"] += len(returns)
            counts["observations"] += len(rows)
        with transaction(factory) as session:
            session.execute(sa.update(DataVersion).where(DataVersion.id == 1).values(version=1))
            # What version 1 changed: everything (the raw load); the changes of the versions it replaces go, or
            # the next bump's row would take a version already recorded.
            session.execute(sa.delete(DataChange))
            session.execute(sa.insert(DataChange).from_select(
                ["version", "changed_at", "first_week", "written_at"],
                sa.select(DataVersion.version, DataVersion.changed_at, sa.null(), sa.null())
                .where(DataVersion.id == 1)))
        if engine.dialect.name == "postgresql":
            # The returns were written with their ids: without this, the next ingest's return would take id 1.
            fix_sequences(engine)
            with engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        else:
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        return counts
    finally:
        engine.dispose()


def session_max(engine, column) -> int | None:
    with engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.max(column)))


COLUMNS = ("metric_id", "area_id", "week", "value", "return_id", "recorded_at", "superseded_at",
           "superseded_by_return_id")


def insert(engine, returns: list[dict], rows: list[tuple]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(Return), returns)
        if engine.dialect.name == "postgresql":
            # COPY: the only way to load millions of rows into PostgreSQL in seconds rather than minutes.
            buffer = io.StringIO()
            for r in rows:
                buffer.write("\t".join("\\N" if v is None else str(v) for v in r) + "\n")
            cursor = conn.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY observation ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(buffer.getvalue())
        else:
            conn.execute(sa.insert(Observation), [dict(zip(COLUMNS, r, strict=True)) for r in rows])


def sequences_behind(engine) -> list[tuple[str, int, int]]:
    """PostgreSQL only: every serial/identity column whose sequence would hand out an id already used (rows
    written with explicit ids, as generate() writes returns, do not move the sequence): (sequence, next id it
    would give, largest id in the table)."""
    behind = []
    with engine.connect() as conn:
        columns = conn.execute(sa.text(
            "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL")).all()
        for table, column, sequence in columns:
            largest = conn.scalar(sa.text(f'SELECT max("{column}") FROM "{table}"'))
            last, called = conn.execute(sa.text(f"SELECT last_value, is_called FROM {sequence}")).one()
            following = last + 1 if called else last
            if largest is not None and following <= largest:
                behind.append((sequence, following, largest))
    return behind


def fix_sequences(engine) -> list[tuple[str, int, int]]:
    """Move every sequence that is behind its table past the largest id (PostgreSQL); returns what was moved."""
    behind = sequences_behind(engine)
    with engine.begin() as conn:
        for sequence, _following, largest in behind:
            conn.execute(sa.text("SELECT setval(:s, :v, true)"), {"s": sequence, "v": largest})
    return behind
