"""Alembic environment: the URL comes from the caller (maic db upgrade) or from the MAIC_* settings."""

from alembic import context

from maic import config as maic_config
from maic.db import make_engine
from maic.models import Base

alembic_config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return alembic_config.get_main_option("sqlalchemy.url") or maic_config.load()["MAIC_DATABASE_URL"]


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = alembic_config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
