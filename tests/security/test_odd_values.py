"""Odd values at the admin page: a clear message naming the field and its bounds, never 'Something went wrong'."""

from __future__ import annotations

import pytest

from layouts import ids
from maic.errors import MaicError
from maic.sharing.tokens import MAX_TOKEN_DAYS, token_days
from tests.fixtures import login_as
from tests.security.conftest import admin_button_body, csrf_headers


def create_token_body(app, days) -> dict:
    return admin_button_body(app.extensions["maic.dash"], ids.ADMIN_TOKEN_CREATE,
                             {ids.ADMIN_TOKEN_NAME: "Norfolk LRF federation", ids.ADMIN_TOKEN_DAYS: days})


@pytest.mark.parametrize("days", [10**12, "1e400", -3, 0, 2.5, "soon", MAX_TOKEN_DAYS + 1])
def test_token_days_out_of_bounds_get_a_clear_message(sqlite_app, sqlite_factory, days):
    client = sqlite_app.test_client()
    login_as(client, sqlite_factory, "admin")
    client.get("/dash/admin")
    response = client.post("/dash/_dash-update-component", json=create_token_body(sqlite_app, days), headers=csrf_headers(client))
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert f"give a whole number of days from 1 to {MAX_TOKEN_DAYS}" in text
    assert "Something went wrong" not in text and "Token 1 for" not in text


def test_token_days_in_bounds_make_a_token(sqlite_app, sqlite_factory):
    client = sqlite_app.test_client()
    login_as(client, sqlite_factory, "admin")
    client.get("/dash/admin")
    response = client.post("/dash/_dash-update-component", json=create_token_body(sqlite_app, MAX_TOKEN_DAYS),
                           headers=csrf_headers(client))
    assert "Token 1 for 'Norfolk LRF federation'" in response.get_data(as_text=True)


def test_token_days_parsing():
    assert token_days(None) == 90 and token_days("") == 90 and token_days("30") == 30 and token_days(7.0) == 7
    for bad in ("nan", "inf", "-inf", "12 days"):
        with pytest.raises(MaicError):
            token_days(bad)


def test_an_odd_week_in_the_shared_view_gets_a_clear_message(sqlite_app, sqlite_factory):
    client = sqlite_app.test_client()
    login_as(client, sqlite_factory, "neighbour")
    client.get("/dash/shared")
    body = {"output": "..shared-asat.children...shared-table.children...shared-export.href...shared-pack.href..",
            "outputs": [{"id": "shared-asat", "property": "children"}, {"id": "shared-table", "property": "children"},
                        {"id": "shared-export", "property": "href"}, {"id": "shared-pack", "property": "href"}],
            "inputs": [{"id": "shared-metric", "property": "value", "value": "releases_total"},
                       {"id": "shared-week-from", "property": "value", "value": "0001-13-45"},
                       {"id": "shared-week-to", "property": "value", "value": ["not", "a", "week"]},
                       {"id": "shared-areas", "property": "value", "value": None},
                       {"id": "data-version", "property": "data", "value": None}],
            "changedPropIds": ["shared-metric.value"], "state": []}
    response = client.post("/dash/_dash-update-component", json=body, headers=csrf_headers(client))
    text = response.get_data(as_text=True)
    assert "is not a week: choose one from the list" in text and "Something went wrong" not in text
