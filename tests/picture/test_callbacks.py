"""The overview's callbacks through the real Dash endpoint: panels, drill-down permission, CSV export."""

from __future__ import annotations

import json

import sqlalchemy as sa

from maic.models import AuditEvent
from tests.fixtures import login_as
from tests.picture.world import seed

FILTERS = {"from": "2024-09-02", "to": "2024-09-09"}
TILE = {"key": "released_week", "type": "drill-tile"}


def post(client, body):
    token = client.get_cookie("_csrf_token").value
    return client.post("/dash/_dash-update-component", json=body, headers={"X-CSRFToken": token})


PANELS = ("headline-asat", "headline-tiles", "releases-panel", "shortfall-panel", "pressure-panel",
          "completeness-panel", "forward-panel")


def panel_body(output: str, filters=FILTERS, extra_inputs=()):
    """The one request a dashboard sends for a change of filters (here: its address changed to `filters`, with
    the map's measure in `extra_inputs`), answered with every panel; `output` names the panel the test reads
    (panel_text), and any panel of the answer is that panel's answer for the filters."""
    from benchmarks.panels import filters_body

    measure = next((i["value"] for i in extra_inputs if i["id"] == "map-measure"), "count")
    return filters_body(filters, measure)


def panel_text(response, output: str) -> str:
    """One panel's part of a filter change's answer, as text."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return json.dumps(response.get_json()["response"][output])


def live_body(client, version: int, filters=FILTERS, measure: str = "count") -> dict:
    """What an open dashboard sends when the live check brings a new data version: one request for the week
    picker's weeks and every panel (the panels benchmark sends the same)."""
    from benchmarks.panels import live_body as body

    return body(client.get("/dash/_dash-dependencies").get_json(), filters, version, measure)


def drill_body():
    return {"output": "..drill-panel.children...drill-state.data..",
            "outputs": [{"id": "drill-panel", "property": "children"}, {"id": "drill-state", "property": "data"}],
            "inputs": [[{"id": TILE, "property": "n_clicks", "value": 1}], [], [], [], []],
            "changedPropIds": [json.dumps(TILE, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
            "state": [{"id": "picture-filters", "property": "data", "value": FILTERS}]}


def export_body(panel: str, drill_state=None):
    button = {"panel": panel, "type": "export-button"}
    download = {"panel": panel, "type": "export-download"}
    return {"output": '{"panel":["MATCH"],"type":"export-download"}.data',
            "outputs": {"id": download, "property": "data"},
            "inputs": [{"id": button, "property": "n_clicks", "value": 1}],
            "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
            "state": [{"id": "picture-filters", "property": "data", "value": FILTERS},
                      {"id": "drill-state", "property": "data", "value": drill_state}]}


def test_panels_answer_through_the_dash_endpoint(client, factory, data_dir):
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    response = post(client, panel_body("releases-panel", extra_inputs=[
        {"id": "map-measure", "property": "value", "value": "rate"}]))
    assert response.status_code == 200
    for output, text in (("releases-panel", "59 people released into 2 of 6 areas"),
                         ("shortfall-panel", "a shortfall of 3 places across 1 of 2 areas"),
                         ("pressure-panel", "2 red, 2 amber"), ("completeness-panel", "21 missing"),
                         ("forward-panel", "Expected to run out of places over the next four weeks: Cambridge (3 places too few)")):
        assert text in panel_text(response, output), output


def test_drill_down_is_for_the_roles_allowed(app, client, factory, data_dir):
    seed(factory, data_dir)
    lead = app.test_client()
    login_as(lead, factory, "agency_lead")
    lead.get("/dash/")
    assert post(lead, drill_body()).status_code == 403
    login_as(client, factory, "analyst")
    client.get("/dash/")
    response = post(client, drill_body())
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Returns behind: Released this week" in text and "probation-w2.csv" in text


def test_export_is_safe_and_audited(app, client, factory, data_dir):
    seed(factory, data_dir)
    username = login_as(client, factory, "viewer")
    client.get("/dash/")
    state = {"label": "Released this week", "metrics": ["releases_total"], "from": "2024-09-09",
             "to": "2024-09-09", "areas": []}
    response = post(client, export_body("drill", state))
    assert response.status_code == 200
    content = next(iter(response.get_json()["response"].values()))["data"]["content"]
    lines = content.splitlines()
    assert lines[0] == "OFFICIAL-SENSITIVE" and lines[-1] == "OFFICIAL-SENSITIVE"
    assert "'=probation-w2-corrected.csv" in content and ",=probation" not in content
    assert "Weeks from,2024-09-02" in content
    with factory() as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "picture.export")).all()
    assert [(e.actor, e.target) for e in events] == [(username, "panel:drill")]
    lead = app.test_client()
    login_as(lead, factory, "agency_lead")
    lead.get("/dash/")
    assert post(lead, export_body("shortfall")).status_code == 403


def _traces(response, panel: str) -> list[dict]:
    """Every plotly trace in a panel's response."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("figure"), dict):
                found.extend(node["figure"].get("data", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(response.get_json()["response"][panel])
    return found


def test_the_map_fetches_its_boundaries_from_us_once(app, client, factory, data_dir):
    from maic import geo

    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    response = post(client, panel_body("releases-panel", extra_inputs=[
        {"id": "map-measure", "property": "value", "value": "count"}]))
    maps = [t for t in _traces(response, "releases-panel") if t["type"] == "choroplethmap"]
    assert maps and all(t["geojson"] == geo.boundaries_url() for t in maps)
    assert '"features"' not in response.get_data(as_text=True)  # no shapes in the panel's answer
    with client.get(geo.boundaries_url()) as served:
        assert served.status_code == 200 and "max-age=31536000" in served.headers["Cache-Control"]
        codes = {f["properties"]["code"] for f in served.get_json()["features"]}
    assert {code for t in maps for code in t["locations"]} <= codes
    assert app.test_client().get(geo.boundaries_url()).status_code in (302, 401)  # not for anonymous callers


def test_a_panel_kept_for_a_data_version_changes_when_a_return_lands(client, factory, data_dir):
    from tests.fixtures import ingest

    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    body = panel_body("releases-panel", extra_inputs=[{"id": "map-measure", "property": "value", "value": "count"}])
    assert "59 people released into 2 of 6 areas" in post(client, body).get_data(as_text=True)
    assert "59 people released into 2 of 6 areas" in post(client, body).get_data(as_text=True)  # kept
    ingest(factory, data_dir, "probation-cambs", [("2024-09-09", "E07000010", "releases_total", 4)],
           filename="probation-fenland.csv")
    assert "63 people released into 3 of 6 areas" in post(client, body).get_data(as_text=True)


def test_a_kept_panel_is_kept_apart_for_readers_who_may_not_drill(app, client, factory, data_dir):
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    lead = app.test_client()
    login_as(lead, factory, "agency_lead")
    lead.get("/dash/")
    body = panel_body("pressure-panel")
    assert "Returns behind this" in post(client, body).get_data(as_text=True)
    assert "Returns behind this" not in post(lead, body).get_data(as_text=True)
    assert "Returns behind this" in post(client, body).get_data(as_text=True)


def test_a_heatmap_cell_is_followed_by_its_labels(client, factory, data_dir):
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    graph = {"panel": "heatmap", "type": "drill-graph"}
    point = {"points": [{"x": "Peterborough", "y": "Mental health referrals of people released", "z": 2}]}
    body = drill_body()
    body["inputs"] = [[], [], [{"id": graph, "property": "clickData", "value": point}], [], []]
    body["changedPropIds"] = [json.dumps(graph, separators=(",", ":"), sort_keys=True) + ".clickData"]
    response = post(client, body)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Returns behind: Mental health referrals of people released, Peterborough" in text
    assert "cpft-w2.csv" in text and "mh_capacity" in text


def version_body(known):
    return {"output": "data-version.data", "outputs": {"id": "data-version", "property": "data"},
            "inputs": [{"id": "live-timer", "property": "n_intervals", "value": 3}],
            "changedPropIds": ["live-timer.n_intervals"],
            "state": [{"id": "data-version", "property": "data", "value": known}]}


def announced(response) -> int | None:
    """The version the live check tells the dashboard of; None for 'nothing new' (Dash's no_update)."""
    assert response.status_code in (200, 204), response.status_code
    return (response.get_json() or {}).get("response", {}).get("data-version", {}).get("data") if (
        response.status_code == 200) else None


def test_a_new_version_is_rendered_ahead_before_dashboards_are_told(app, client, factory, data_dir):
    import time

    from tests.fixtures import ingest

    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    # The view a dashboard opens on (a view only one reader made up is not rendered ahead: test_bounded_cost).
    body = panel_body("releases-panel", filters={},
                      extra_inputs=[{"id": "map-measure", "property": "value", "value": "count"}])
    assert "59 people released" in post(client, body).get_data(as_text=True)
    known = announced(post(client, version_body(None)))
    assert known and announced(post(client, version_body(known))) is None  # nothing new
    ingest(factory, data_dir, "probation-cambs", [("2024-09-09", "E07000010", "releases_total", 4)],
           filename="probation-fenland.csv")
    deadline = time.monotonic() + 10
    while (told := announced(post(client, version_body(known)))) is None:
        assert time.monotonic() < deadline, "the new version was never announced"
        time.sleep(0.05)
    assert told > known
    cache = app.extensions["maic.picture_cache"]
    misses = cache.misses
    assert "63 people released" in post(client, body).get_data(as_text=True)
    assert cache.misses == misses  # rendered ahead: the dashboard's request found it ready


def test_a_forged_as_at_in_the_future_or_before_the_incident_is_answered_live(client, factory, data_dir):
    """The filters store is the browser's: a future or pre-incident as-at sent straight to a panel is refused on
    the server, and the panel answers with the live picture, never a traceback."""
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    live = post(client, panel_body("headline-asat", filters={})).get_data(as_text=True)
    assert "as it stood then" not in live
    for asked in ({"asat": "2999-01-01", "time": "10:00"}, {"asat": "9999-12-31", "time": "23:59"},
                  {"asat": "2000-01-01"}, {"asat": "0001-01-01", "time": "00:00"}):
        response = post(client, panel_body("headline-asat", filters=asked))
        assert response.status_code == 200, asked
        text = response.get_data(as_text=True)
        assert "as it stood then" not in text and "Traceback" not in text, asked
        assert "revised since" not in panel_text(response, "shortfall-panel"), asked


def test_panels_as_at_before_the_first_return_say_so_and_never_fail(client, factory, data_dir):
    """An as-at inside the incident but before any return was recorded: every panel answers, saying there is
    nothing yet (the shortfall's sentence was built for a week that does not exist, and failed)."""
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    before_any = {"asat": "2024-08-20", "time": "10:00"}  # the incident began 5 Aug; the first return, 9 Sep
    response = post(client, panel_body("headline-asat", filters=before_any))
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "Something went wrong" not in text, text[:500]
    assert all(panel_text(response, output) for output in PANELS)  # every panel answered
    assert "No returns have been received yet." in panel_text(response, "shortfall-panel")


def page_body(pathname: str = "/dash/") -> dict:
    return {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": pathname}],
            "changedPropIds": ["url.pathname"], "state": [{"id": "url", "property": "search", "value": ""}]}


def test_the_overview_frame_is_built_once_per_data_version_and_per_export_right(app, client, factory, data_dir):
    from tests.fixtures import ingest

    seed(factory, data_dir)
    lead = app.test_client()
    login_as(lead, factory, "agency_lead")  # reads the picture, may not export it
    lead.get("/dash/")
    login_as(client, factory, "viewer")
    client.get("/dash/")
    first = post(client, page_body()).get_data(as_text=True)
    statements: list[str] = []
    engine = app.extensions["maic.db"]["engine"]
    listener = lambda _conn, _cursor, statement, *_rest: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert post(client, page_body()).get_data(as_text=True) == first
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    # The second opening is a kept answer: it reads who is signed in and the data version, not the areas.
    assert statements and not any("area" in s.lower() for s in statements), statements
    not_exporting = post(lead, page_body()).get_data(as_text=True)
    assert "export-button" in first and "export-button" not in not_exporting  # each right has its own frame
    assert "2024-09-23" not in first
    ingest(factory, data_dir, "probation-cambs", [("2024-09-23", "E07000010", "releases_total", 4)],
           filename="probation-later.csv")
    assert "2024-09-23" in post(client, page_body()).get_data(as_text=True)  # a new version: its new week


def _parts(answer: dict) -> dict[str, object]:
    """An answer's outputs as {"id.prop": value}."""
    return {f"{ident}.{prop}": value for ident, props in (answer.get("response") or {}).items()
            for prop, value in props.items()}


def _find(node, ident):
    """The component with id `ident` in a JSON component tree, or None."""
    if isinstance(node, list):
        return next((found for item in node if (found := _find(item, ident)) is not None), None)
    if not isinstance(node, dict):
        return None
    props = node.get("props") or {}
    if props.get("id") == ident:
        return node
    return next((found for value in props.values() if (found := _find(value, ident)) is not None), None)


def test_the_dashboard_opens_with_the_addresss_filters_and_every_panel_as_its_callback_answers(client, factory,
                                                                                             data_dir):
    """One answer opens the dashboard: the frame with the controls set from the address and each panel exactly
    as its own callback answers it (the browser asks for none of them: tests/browser/test_load_client.py)."""
    seed(factory, data_dir)
    login_as(client, factory, "analyst")
    client.get("/dash/")
    body = page_body()
    body["state"][0]["value"] = "?to=2024-09-09&area=E07000010&scope=neighbours"
    page = post(client, body).get_json()["response"]["page"]["children"]
    store = _find(page, "picture-filters")["props"]["data"]
    assert store == {"to": "2024-09-09", "area": "E07000010", "scope": "neighbours"}
    assert _find(page, "week-picker")["props"]["value"] == "2024-09-09"
    assert _find(page, "area-picker")["props"]["value"] == "E07000010"
    assert _find(page, "scope-picker")["props"]["value"] == "neighbours"
    assert _find(page, "picture-url")["props"]["search"] == body["state"][0]["value"]
    link = _find(page, {"type": "briefing-link", "n": 0})["props"]["href"]
    assert link == "/briefings/pack?to=2024-09-09&area=E07000010&scope=neighbours"
    changed = _parts(post(client, panel_body("headline-asat", filters=store)).get_json())
    answers = {key: value for key, value in changed.items() if key.rpartition(".")[0] in PANELS}
    assert len(answers) == 7
    for key, value in answers.items():
        ident = key.rpartition(".")[0]
        assert _find(page, ident)["props"]["children"] == value, key
    assert "Fenland" in json.dumps(answers["releases-panel.children"])


def test_an_address_the_filters_cannot_show_opens_the_dashboard_with_the_reason(client, factory, data_dir):
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    body = page_body()
    body["state"][0]["value"] = "?asat=2999-01-01&time=10%3A00&area=NOWHERE"
    answer = post(client, body)
    assert answer.status_code == 200
    page = answer.get_json()["response"]["page"]["children"]
    assert _find(page, "picture-filters")["props"]["data"] == {}  # live, every area
    assert "future" in json.dumps(_find(page, "asat-message")["props"]["children"])
    assert "Filters changed" in answer.get_data(as_text=True)  # the unknown area, said in the page's alert
    assert _find(page, "headline-tiles")["props"]["children"]


def test_new_figures_reach_an_open_dashboard_in_one_request_equal_to_the_panels_own_answers(
        app, client, factory, data_dir):
    from tests.fixtures import ingest

    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    known = announced(post(client, version_body(None)))
    ingest(factory, data_dir, "probation-cambs", [("2024-09-23", "E07000010", "releases_total", 4)],
           filename="probation-later.csv")
    import time

    deadline = time.monotonic() + 10
    while (told := announced(post(client, version_body(known)))) is None:  # once rendered ahead
        assert time.monotonic() < deadline, "the new version was never announced"
        time.sleep(0.05)
    assert told > known
    live = _parts(post(client, live_body(client, told, filters={})).get_json())
    assert set(live) == {"week-picker.options", "headline-asat.children", "headline-tiles.children",
                         "releases-panel.children", "shortfall-panel.children", "pressure-panel.children",
                         "completeness-panel.children", "forward-panel.children"}
    assert any(o["value"] == "2024-09-23" for o in live["week-picker.options"])  # the new week, in progress
    own = {key: value for key, value in _parts(post(client, panel_body("releases-panel", filters={})).get_json())
           .items() if key.rpartition(".")[0] in PANELS}
    assert len(own) == 7
    for key, value in own.items():
        assert live[key] == value, key
    rate = _parts(post(client, live_body(client, told, filters={}, measure="rate")).get_json())
    assert rate["releases-panel.children"] != live["releases-panel.children"]  # the map's own control is kept


def test_a_change_of_filters_is_one_request_for_every_panel_and_the_pack_link(client, factory, data_dir):
    """Nothing listens to the filters store: the filters callback answers with every panel and the pack link,
    and the drill-down and the export read the store as State."""
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    dependencies = client.get("/dash/_dash-dependencies").get_json()
    assert not [d["output"] for d in dependencies if any(i["id"] == "picture-filters" for i in d["inputs"])]
    response = post(client, panel_body("releases-panel"))
    answer = _parts(response.get_json())
    assert answer["picture-filters.data"] == FILTERS
    assert answer['{"n":0,"type":"briefing-link"}.href'] == "/briefings/pack?from=2024-09-02&to=2024-09-09"
    assert {f"{output}.children" for output in PANELS} <= set(answer)


def test_filters_left_as_they_were_send_no_panel(client, factory, data_dir):
    """An as-at box left without a change (its n_blur) or the map's measure: the filters did not change, so no
    panel is computed or sent; the measure redraws the releases panel alone, through its own callback."""
    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    body = panel_body("releases-panel", filters={})
    body["changedPropIds"] = ["asat-date.n_blur"]
    body["state"][-1]["value"] = {}  # the store the dashboard holds: the same filters
    answer = _parts(post(client, body).get_json())
    assert answer and not [key for key in answer if key.rpartition(".")[0] in PANELS or "briefing" in key]
    measure = next(d for d in client.get("/dash/_dash-dependencies").get_json()
                   if d["inputs"] == [{"id": "map-measure", "property": "value"}])
    assert measure["output"].startswith("releases-panel.children@")
    rate = post(client, {"output": measure["output"], "outputs": {"id": "releases-panel", "property": "children"},
                         "inputs": [{"id": "map-measure", "property": "value", "value": "rate"}],
                         "changedPropIds": ["map-measure.value"],
                         "state": [{"id": "picture-filters", "property": "data", "value": {}}]})
    assert set(_parts(rate.get_json())) == {"releases-panel.children"}
    counted = post(client, panel_body("releases-panel", filters={}))
    assert panel_text(rate, "releases-panel") != panel_text(counted, "releases-panel")


def test_a_panel_that_fails_keeps_the_change_of_filters_and_the_other_panels(client, factory, data_dir, monkeypatch):
    """As when each panel had its own request: the failing panel keeps what it showed and the page's alert says
    something went wrong; the URL, the store and every other panel still follow the filters."""
    from callbacks import overview

    def broken(_filters, _can_drill):
        raise RuntimeError("the pressure panel broke")

    seed(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    monkeypatch.setitem(overview.BUILDERS, "pressure", broken)
    response = post(client, panel_body("releases-panel"))
    assert response.status_code == 200
    answer = _parts(response.get_json())
    assert answer["picture-filters.data"] == FILTERS
    assert "pressure-panel.children" not in answer
    assert {f"{output}.children" for output in PANELS if output != "pressure-panel"} <= set(answer)
    assert "Something went wrong" in json.dumps(response.get_json().get("sideUpdate"))
