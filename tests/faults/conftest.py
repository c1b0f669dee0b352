"""Fault tests run against a PostgreSQL of their own (tests/services.py), which they restart and cut."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import PrivatePostgres, migrated_database, postgres_missing, private_postgres


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    reason = postgres_missing()
    if reason:
        pytest.skip(f"no private PostgreSQL: {reason}")
    with private_postgres() as server:
        yield server


@pytest.fixture
def fault_db_url(private_pg) -> str:
    """A migrated database with the reference data, on the private server."""
    return migrated_database(private_pg)
