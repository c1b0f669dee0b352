"""Builders for test data, in Python (no SQL dumps): users, returns as CSV bytes, a login helper."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from maic.auth import create_user
from maic.db import transaction
from maic.returns.ingest import IngestSettings, Submission, ingest_return

PASSWORD = "correct horse battery staple"
ROLE_USERS = {
    "admin": {},
    "analyst": {},
    "viewer": {},
    "agency_lead": {"agency_slug": "cambridge-housing"},
    "neighbour": {"lrf_code": "norfolk"},
}


def make_user(factory, role: str, username: str | None = None, **kwargs) -> str:
    username = username or f"{role}-{secrets.token_hex(3)}"
    with transaction(factory) as session:
        create_user(session, username, PASSWORD, role, **{**ROLE_USERS.get(role, {}), **kwargs})
    return username


def csv_bytes(rows: list[tuple], header: str = "week,area_code,metric,value") -> bytes:
    lines = [header] + [",".join(str(cell) for cell in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def settings_for(data_dir, **overrides) -> IngestSettings:
    values = {"archive_dir": data_dir / "archive", "max_bytes": 10 * 1024 * 1024, "max_rows": 200_000,
              "incident_start": dt.date(2024, 8, 5), "today": dt.date(2024, 12, 2)}
    values.update(overrides)
    return IngestSettings(**values)


def ingest(factory, data_dir, agency: str, rows: list[tuple], *, filename: str = "return.csv",
           received_at: dt.datetime | None = None, **settings):
    submission = Submission(data=csv_bytes(rows), filename=filename, agency_slug=agency, actor="test",
                            received_at=received_at)
    return ingest_return(factory, submission, settings_for(data_dir, **settings))


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"csrf_token": token, "username": username, "password": password})


def login_as(client, factory, role: str) -> str:
    username = make_user(factory, role)
    response = login(client, username)
    assert response.status_code == 302, response.get_data(as_text=True)
    return username


def build_database(url: str) -> None:
    """A database built as production builds it: the migrations, then the reference data."""
    from maic.db import make_engine, make_session_factory, transaction
    from maic.migrate import upgrade
    from maic.reference import load_reference, read_reference

    upgrade(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            load_reference(session, read_reference())
    finally:
        engine.dispose()
