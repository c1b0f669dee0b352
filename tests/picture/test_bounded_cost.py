"""What one request may cost: filters bounded to the incident's weeks and the reference areas, with a message
saying what changed; what is kept bounded in bytes; no rendering ahead for a view one reader made up.
Through the real Dash endpoint, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from tests.fixtures import ingest, login_as
from tests.picture.test_callbacks import announced, panel_body, post, version_body
from tests.picture.world import seed

ABSURD = {"from": "0001-01-01", "to": "9999-12-20"}
RELEASES_COUNT = [{"id": "map-measure", "property": "value", "value": "count"}]


def notice(response) -> str:
    """The page alert a callback set beside its outputs ('' when none)."""
    return str((response.get_json().get("sideUpdate") or {}).get("alert", ""))


def signed_in(app, factory, role: str = "viewer"):
    client = app.test_client()
    login_as(client, factory, role)
    client.get("/dash/")
    return client


def test_an_absurd_week_range_is_bounded_to_the_incident_with_a_message(app, factory, data_dir):
    seed(factory, data_dir)
    client = signed_in(app, factory)
    response = post(client, panel_body("completeness-panel", filters=ABSURD))
    assert response.status_code == 200
    text = notice(response)
    assert "From week 0001-01-01 is before the incident's first week: showing 05 Aug 2024." in text
    assert "Week 9999-12-20 is after the latest week with returns: showing 09 Sep 2024." in text
    # The answer covers the incident's weeks (5 Aug to 9 Sep 2024), not eight thousand years of them.
    assert "over 6 weeks and" in response.get_data(as_text=True)
    cache = app.extensions["maic.picture_cache"]
    assert cache.kept_bytes < 2_000_000, cache.kept_bytes


def test_the_bounded_view_is_the_same_view_as_the_default_one(app, factory, data_dir):
    seed(factory, data_dir)
    client = signed_in(app, factory)
    first = post(client, panel_body("releases-panel", filters=ABSURD, extra_inputs=RELEASES_COUNT))
    cache = app.extensions["maic.picture_cache"]
    kept = len(cache)
    again = post(client, panel_body("releases-panel", filters={"from": "1900-01-01", "to": "3000-01-05"},
                                    extra_inputs=RELEASES_COUNT))
    assert len(cache) == kept  # a second absurd range is the same bounded question: nothing more is kept
    assert first.get_json()["response"] == again.get_json()["response"]
    assert "59 people released into 2 of 6 areas" in first.get_data(as_text=True)


def test_an_area_not_in_the_reference_becomes_all_areas_with_a_message(app, factory, data_dir):
    seed(factory, data_dir)
    client = signed_in(app, factory)
    response = post(client, panel_body("releases-panel", filters={"area": "X" * 5000},
                                       extra_inputs=RELEASES_COUNT))
    assert response.status_code == 200
    assert "is not an area of this picture: showing all areas." in notice(response)
    assert "X" * 41 not in notice(response)  # quoted, shortened
    assert "59 people released into 2 of 6 areas" in response.get_data(as_text=True)


def test_an_odd_link_opens_the_bounded_view_and_says_so(app, factory, data_dir):
    seed(factory, data_dir)
    client = signed_in(app, factory)
    body = panel_body("week-picker", filters={"from": "0001-01-01", "to": "9999-12-20"})
    response = post(client, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()["response"]
    assert answer["picture-filters"]["data"] == {"to": "2024-09-09"}  # from: the start of the incident
    assert answer["week-from"]["value"] == "start" and answer["week-picker"]["value"] == "2024-09-09"
    assert "is before the incident's first week" in notice(response)


def test_a_view_one_reader_asked_for_is_not_rendered_ahead(app, factory, data_dir):
    seed(factory, data_dir)
    viewer, analyst = signed_in(app, factory, "viewer"), signed_in(app, factory, "analyst")
    opening = panel_body("releases-panel", filters={}, extra_inputs=RELEASES_COUNT)
    # A change of filters answers with every panel: a view is the filters (and whether the reader may drill).
    odd = panel_body("releases-panel", filters={"to": "2024-09-02", "area": "E07000010"}, extra_inputs=RELEASES_COUNT)
    shared = panel_body("shortfall-panel", filters={"to": "2024-09-02"})
    for client in (viewer, analyst):  # two readers want the shortfall for that week: rendered ahead
        assert post(client, shared).status_code == 200
    assert post(viewer, opening).status_code == 200
    for _ in range(3):  # one reader, however often, is still one reader
        assert post(analyst, odd).status_code == 200
    known = announced(post(viewer, version_body(None)))
    # Both weeks: a return for the newest week alone would leave the older week's views as they were kept.
    ingest(factory, data_dir, "probation-cambs", [("2024-09-02", "E07000010", "releases_total", 1),
                                                  ("2024-09-09", "E07000010", "releases_total", 4)],
           filename="probation-fenland.csv")
    deadline = time.monotonic() + 10
    while announced(post(viewer, version_body(known))) is None:
        assert time.monotonic() < deadline, "the new version was never announced"
        time.sleep(0.05)
    cache = app.extensions["maic.picture_cache"]
    misses = cache.misses
    assert "64 people released" in post(viewer, opening).get_data(as_text=True)  # 59 + 1 + 4, over both weeks
    assert post(analyst, shared).status_code == 200
    assert cache.misses == misses  # the opening view and the shared one were ready
    assert post(analyst, odd).status_code == 200
    assert cache.misses > misses  # the odd one is computed when asked, not ahead
