"""Engine and session factory, made by functions and never at import; SQLite and PostgreSQL alike.

SQLite gets WAL, foreign keys and a busy timeout on every connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy import event, orm

SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str, **kwargs) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so that a write
        # transaction takes its lock at the start and readers see a consistent snapshot.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: sa.Engine) -> orm.sessionmaker[orm.Session]:
    return orm.sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: orm.sessionmaker[orm.Session]) -> Iterator[orm.Session]:
    """A session that commits when the block ends and rolls everything back when it raises."""
    with factory() as session, session.begin():
        yield session


def init_app(app) -> None:
    """Put the engine and session factory on the Flask app; a scoped session per request."""
    engine = make_engine(app.config["MAIC_DATABASE_URL"])
    factory = make_session_factory(engine)
    scoped = orm.scoped_session(factory)
    app.extensions["maic.db"] = {"engine": engine, "factory": factory, "scoped": scoped}

    @app.teardown_appcontext
    def remove_session(_exc=None):
        scoped.remove()


def session_for(app) -> orm.Session:
    return app.extensions["maic.db"]["scoped"]()


def factory_for(app) -> orm.sessionmaker[orm.Session]:
    return app.extensions["maic.db"]["factory"]
