"""Fixtures: a fresh database per test on SQLite and on PostgreSQL, built by the real migrations.

The schema and reference data are built once per run with `alembic upgrade` and copied for each test
(a file copy on SQLite, CREATE DATABASE ... TEMPLATE on PostgreSQL), so every test starts clean and fast.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from maic.db import make_engine, make_session_factory
from tests.fixtures import build_database

PG_URL = os.environ.get("MAIC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RUN_ID = uuid.uuid4().hex[:8]


def pytest_sessionstart(session) -> None:
    # What is imported now lives for the whole run: frozen, it is skipped by the collection after each test,
    # which then costs about a millisecond instead of 80.
    import app  # noqa: F401

    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _garbage_collected_within_its_test() -> Iterator[None]:
    """Whatever a test leaves to the garbage collector is collected before the test ends.

    pytest reports an unraisable exception (a ResourceWarning from an unclosed file, say) in the test during
    which it is raised. Collected at a random later moment, it failed whichever test happened to be running.
    """
    yield
    gc.collect()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "maic.db"
    build_database(f"sqlite:///{path}")
    return path


class PostgresServer:
    def __init__(self, url: str):
        self.url = sa.engine.make_url(url)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
        self.template = f"maic_tpl_{RUN_ID}"
        self.created: list[str] = []

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        assert re.fullmatch(r"[a-z0-9_]+", name)
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        self.created.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.remove(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer(PG_URL)
    try:
        with server.admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001  (any failure to connect means: skip, and say why)
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    url = server.create(server.template)
    build_database(url)
    # Connections left by the build would block CREATE DATABASE ... TEMPLATE.
    yield server
    server.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    """A fresh, migrated database with reference data: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        target = tmp_path / "maic.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = f"maic_test_{uuid.uuid4().hex[:12]}"
    yield server.create(name, template=server.template)
    # Dropped by its own test: left to the end of the run, a hundred drops (each waits for every backend
    # to let go of the files) ran inside the last test's time limit.
    server.drop(name)


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template) -> str:
    """SQLite only, for tests about behaviour that does not depend on the database."""
    target = tmp_path / "maic.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def engine(db_url):
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def app(db_url, data_dir):
    from app import create_app

    app = create_app({"TESTING": True, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir),
                      "MAIC_SECRET_KEY": "test-secret-key-not-for-production"})
    yield app
    app.extensions["maic.db"]["engine"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()
