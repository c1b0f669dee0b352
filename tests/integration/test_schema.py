"""The migrations and the models agree, on SQLite and PostgreSQL; reference data loads idempotently."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from maic.db import transaction
from maic.models import LRF, Agency, Area, Base, Metric
from maic.reference import load_reference, read_reference


def test_autogenerate_finds_no_difference(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_url):
    from maic.db import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_reference_data_is_loaded_with_real_codes(factory):
    with factory() as session:
        home = session.scalar(sa.select(LRF).where(LRF.is_home.is_(True)))
        assert home.name == "Cambridgeshire & Peterborough LRF"
        codes = {a.code: (a.name, a.population) for a in home.areas}
        assert codes == {
            "E07000008": ("Cambridge", 146000), "E07000009": ("East Cambridgeshire", 90000),
            "E07000010": ("Fenland", 103000), "E07000011": ("Huntingdonshire", 182000),
            "E07000012": ("South Cambridgeshire", 164000), "E06000031": ("Peterborough", 219000),
        }
        neighbours = session.scalars(sa.select(LRF.code).where(LRF.is_home.is_(False))).all()
        assert set(neighbours) == {"norfolk", "suffolk", "essex", "hertfordshire", "bedfordshire",
                                   "lincolnshire", "northamptonshire"}
        assert session.scalar(sa.select(Area).where(Area.code == "E07000244")).name == "East Suffolk"
        county = session.scalar(sa.select(Agency).where(Agency.slug == "cambridgeshire-county-council"))
        assert "E06000031" not in {a.code for a in county.areas}  # Peterborough is a unitary
        nfa = session.scalar(sa.select(Metric).where(Metric.key == "releases_nfa"))
        assert (nfa.agency_kind, nfa.aggregation, nfa.shareable) == ("probation", "sum", True)
        ta = session.scalar(sa.select(Metric).where(Metric.key == "households_in_ta"))
        assert (ta.rag_basis, ta.rag_amber, ta.rag_red) == ("ta_capacity", 0.9, 1.0)


def test_loading_reference_twice_changes_nothing(factory):
    with transaction(factory) as session:
        summary = load_reference(session, read_reference())
    assert summary.created == {} and summary.updated == {}


def test_a_changed_population_is_updated_in_place(factory):
    data = read_reference()
    data["lrfs"][0]["areas"][0]["population"] = 150000
    with transaction(factory) as session:
        summary = load_reference(session, data)
    assert summary.updated == {"area": 1}
    with factory() as session:
        assert session.scalar(sa.select(Area.population).where(Area.code == "E07000008")) == 150000


def test_the_migrations_have_one_head():
    from alembic.script import ScriptDirectory

    from maic.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"merge the Alembic branches: heads are {heads}"
