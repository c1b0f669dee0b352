"""Fixtures for the security tests: an app on SQLite with one signed-in client per role and an API token."""

from __future__ import annotations

import datetime as dt

import pytest

from maic.db import make_engine, make_session_factory, transaction
from maic.sharing.tokens import create_token
from tests.fixtures import ingest, login_as

ROLES = ["admin", "analyst", "viewer", "agency_lead", "neighbour"]
HOME_AREAS = ["E07000008", "E07000009", "E07000010", "E07000011", "E07000012", "E06000031"]


def make_app(db_url: str, data_dir, **config):
    from app import create_app

    return create_app({"TESTING": True, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir),
                       "MAIC_SECRET_KEY": "security-test-secret", "MAIC_INCIDENT_START": "2024-08-05", **config})


@pytest.fixture
def sqlite_app(sqlite_url, data_dir):
    app = make_app(sqlite_url, data_dir)
    yield app
    app.extensions["maic.db"]["engine"].dispose()


@pytest.fixture
def sqlite_factory(sqlite_app):
    engine = make_engine(sqlite_app.config["MAIC_DATABASE_URL"])
    yield make_session_factory(engine)
    engine.dispose()


def role_clients_for(app, factory) -> dict[str, object]:
    clients = {}
    for role in ROLES:
        client = app.test_client()
        login_as(client, factory, role)
        client.get("/dash/")  # sets the _csrf_token cookie Dash sends back as X-CSRFToken
        clients[role] = client
    return clients


def new_token(factory, name: str = "Norfolk LRF federation", lrf_code: str | None = "norfolk") -> str:
    with transaction(factory) as session:
        _, secret = create_token(session, name, created_by="test", lrf_code=lrf_code)
    return secret


def releases_rows(weeks: list[dt.date], values: dict[str, list[int]]) -> list[tuple]:
    """Probation rows: releases_total for each home area and week from per-area value lists."""
    return [(w.isoformat(), area, "releases_total", series[i]) for area, series in values.items()
            for i, w in enumerate(weeks)]


def csrf_headers(client) -> dict[str, str]:
    cookie = client.get_cookie("_csrf_token")
    return {"X-CSRFToken": cookie.value} if cookie else {}


def seed_releases(factory, data_dir, weeks: list[dt.date], values: dict[str, list[int]], filename: str = "r.csv"):
    return ingest(factory, data_dir, "probation-cambs", releases_rows(weeks, values), filename=filename)


def admin_button_body(dash_app, button: str, values: dict[str, object]) -> dict:
    """The request a browser sends when an admin page button is pressed, built from the app's own callback map
    (its outputs include the secret slots beside each form), with the named fields' values as its state."""
    import json

    key = next(k for k in dash_app.callback_map if k.startswith("..admin-message.children...admin-body.children"))
    spec = dash_app.callback_map[key]

    def output(part: str) -> dict:
        ident, prop = part.rsplit(".", 1)
        return {"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop}

    return {"output": key, "outputs": [output(p) for p in key.strip(".").split("...")],
            "inputs": [{"id": i["id"], "property": i["property"], "value": 1 if i["id"] == button else None}
                       for i in spec["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": values.get(s["id"])} for s in spec["state"]],
            "changedPropIds": [f"{button}.n_clicks"]}
