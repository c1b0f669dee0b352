"""The shared API over real HTTP: tokens, what it returns, that it matches the shared view, and its document."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from callbacks import _guard
from maic.db import transaction
from maic.errors import MaicError
from maic.models import ApiToken, AuditEvent, Incident
from maic.sharing import openapi
from maic.sharing.tokens import create_token, hash_token, revoke_token
from tests.fixtures import login_as
from tests.security.conftest import HOME_AREAS, csrf_headers, make_app, new_token, seed_releases

WEEKS = [dt.date(2024, 9, 2), dt.date(2024, 9, 9), dt.date(2024, 9, 16), dt.date(2024, 9, 23)]
# Small counts on purpose: East Cambridgeshire and Fenland have 1 to 4 in most weeks.
RELEASES = {"E07000008": [12, 30, 9, 14], "E07000009": [2, 0, 3, 1], "E07000010": [4, 7, 1, 6],
            "E07000011": [8, 15, 11, 2], "E07000012": [6, 9, 5, 10], "E06000031": [20, 41, 18, 22]}


@pytest.fixture
def api_app(db_url, data_dir, factory):
    seed_releases(factory, data_dir, WEEKS, RELEASES)
    # A metric that is not shareable, and a neighbour's figure: neither may ever come out of the API.
    from tests.fixtures import ingest
    ingest(factory, data_dir, "cgl-cambs", [(w.isoformat(), "E07000008", "sm_referrals", 3) for w in WEEKS])
    ingest(factory, data_dir, "norfolk-maic", [(WEEKS[0].isoformat(), "E07000148", "releases_total", 17)])
    app = make_app(db_url, data_dir)
    yield app
    app.extensions["maic.db"]["engine"].dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_token_is_shown_once_stored_hashed_and_revocable(api_app, factory):
    token = new_token(factory)
    client = api_app.test_client()
    with factory() as session:
        row = session.scalar(sa.select(ApiToken))
        assert row.token_hash == hash_token(token) and token not in {row.token_hash, row.prefix}
        assert row.last_used_at is None
    assert client.get("/api/v1/version", headers=bearer(token)).status_code == 200
    with transaction(factory) as session:
        assert session.scalar(sa.select(ApiToken)).last_used_at is not None
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                              .where(AuditEvent.action == "token.use")) == 1
        revoke_token(session, row.id, by="test")
    response = client.get("/api/v1/version", headers=bearer(token))
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer maic_not-a-real-token", "Basic dXNlcjpwYXNz"])
def test_no_valid_token_no_figures(api_app, header):
    client = api_app.test_client()
    response = client.get("/api/v1/shared", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert "cells" not in response.get_data(as_text=True)


def test_an_expired_token_is_refused(api_app, factory):
    with transaction(factory) as session:
        _, token = create_token(session, "old", created_by="test", days=1,
                                now=dt.datetime(2024, 1, 1))
    assert api_app.test_client().get("/api/v1/version", headers=bearer(token)).status_code == 401


def test_the_shared_weeks_begin_at_the_incidents_start_in_the_reference_data(api_app, factory):
    """The demo moves the incident's start: the API's weeks and 'to date' sums begin there, as the picture's do."""
    client, token = api_app.test_client(), new_token(factory)
    assert client.get("/api/v1/shared", headers=bearer(token)).get_json()["week_from"] == "2024-08-05"
    with transaction(factory) as session:
        session.execute(sa.update(Incident).values(start=WEEKS[1]))
    body = client.get("/api/v1/shared", headers=bearer(token)).get_json()
    assert body["week_from"] == WEEKS[1].isoformat()
    assert min(c["week"] for c in body["cells"]) == WEEKS[1].isoformat()


def test_a_signed_in_user_without_a_token_cannot_use_the_api(api_app, factory):
    client = api_app.test_client()
    login_as(client, factory, "admin")
    assert client.get("/api/v1/shared").status_code == 401


def test_only_shareable_home_figures_suppressed(api_app, factory):
    token = new_token(factory)
    body = api_app.test_client().get("/api/v1/shared", headers=bearer(token)).get_json()
    assert body["marking"] == "OFFICIAL-SENSITIVE" and body["lrf"]["code"] == "cambs-peterborough"
    metrics = {c["metric"] for c in body["cells"]}
    with_figures = {c["metric"] for c in body["cells"] if c["status"] != "missing"}
    areas = {c["area_code"] for c in body["cells"]}
    assert "sm_referrals" not in metrics and with_figures == {"releases_total"}
    assert areas == {*HOME_AREAS, "ALL"}
    for cell in body["cells"]:
        if cell["measure"] != "per_10k" and cell["value"] is not None:
            assert not 1 <= cell["value"] <= 4, cell
        if cell["status"] == "suppressed" and cell["measure"] == "week":
            assert cell["shown"] == "<5" and cell["value"] is None
    fenland = {(c["week"], c["measure"]): c for c in body["cells"]
               if c["area_code"] == "E07000010" and c["metric"] == "releases_total"}
    assert fenland[("2024-09-02", "week")]["shown"] == "<5"
    assert fenland[("2024-09-02", "per_10k")]["value"] is None  # no rate from a suppressed count
    assert fenland[("2024-09-09", "week")]["shown"] == "7"


def test_every_question_is_a_slice_of_one_protected_table(api_app, factory):
    """Two week ranges cannot be differenced: the cells they share are identical."""
    token = new_token(factory)
    client = api_app.test_client()
    whole = {(c["metric"], c["area_code"], c["week"], c["measure"]): c
             for c in client.get("/api/v1/shared", headers=bearer(token)).get_json()["cells"]}
    for query in ("week_from=2024-09-09&week_to=2024-09-16", "week_to=2024-09-09", "area=E07000010",
                  "area=E07000009,E07000010&week_from=2024-W38"):
        part = client.get(f"/api/v1/shared?{query}", headers=bearer(token)).get_json()["cells"]
        assert part, query
        for cell in part:
            assert whole[(cell["metric"], cell["area_code"], cell["week"], cell["measure"])] == cell


def test_csv_carries_the_marking_and_the_same_figures(api_app, factory):
    token = new_token(factory)
    client = api_app.test_client()
    as_json = client.get("/api/v1/shared?week_from=2024-09-09", headers=bearer(token)).get_json()["cells"]
    response = client.get("/api/v1/shared.csv?week_from=2024-09-09", headers=bearer(token))
    assert response.mimetype == "text/csv" and response.headers["X-Protective-Marking"] == "OFFICIAL-SENSITIVE"
    text = response.get_data(as_text=True)
    assert text.startswith("# OFFICIAL-SENSITIVE")
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    assert [(r["metric"], r["area_code"], r["week"], r["measure"], r["shown"]) for r in rows] == [
        (c["metric"], c["area_code"], c["week"], c["measure"], c["shown"]) for c in as_json]


def test_the_shared_views_download_is_the_apis_csv(api_app, factory):
    """The shared view's "Download these figures (CSV)" link (/exports/shared.csv) for a signed-in neighbour
    gives the API's rows for the same question (it once failed with a 500: the weeks were not passed)."""
    token = new_token(factory)
    question = "week_from=2024-09-09&week_to=2024-09-23"
    from_api = api_app.test_client().get(f"/api/v1/shared.csv?{question}", headers=bearer(token))
    neighbour = api_app.test_client()
    login_as(neighbour, factory, "neighbour")
    download = neighbour.get(f"/exports/shared.csv?{question}")
    assert download.status_code == 200, download.get_data(as_text=True)[:500]
    assert download.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True).split("\n", 1)[1])))
    expected = list(csv.DictReader(io.StringIO(from_api.get_data(as_text=True).split("\n", 1)[1])))
    assert rows and rows == expected


def test_csv_neutralises_text_that_a_spreadsheet_would_run(api_app, factory):
    from maic.models import Area

    with factory() as session, session.begin():
        session.execute(sa.update(Area).where(Area.code == "E07000008").values(name="=HYPERLINK(\"x\")"))
    token = new_token(factory)
    text = api_app.test_client().get("/api/v1/shared.csv?week_from=2024-09-09", headers=bearer(token)).get_data(
        as_text=True)
    rows = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    names = {r["area_name"] for r in rows if r["area_code"] == "E07000008"}
    assert names == {"'=HYPERLINK(\"x\")"}


@pytest.mark.parametrize(("query", "message"), [
    ("week_from=2024-09-03", "week_from"), ("metric=sm_referrals", "not a shared metric"),
    ("area=E07000148", "not a shared area"), ("as_at=2020-01-01T00:00:00Z", "shared history"),
    ("as_at=yesterday", "as_at"), ("as_at=", "as_at"), ("as_at=2024-13-01T00:00:00Z", "as_at"),
    ("week_from=2024-07-29", "week_from: 2024-07-29 is not a week of the shared history (2024-08-05 to "),
    ("week_to=2999-01-07", "week_to: 2999-01-07 is not a week of the shared history"),
    ("week_from=2024-09-16&week_to=2024-09-09", "week_from 2024-09-16 is after week_to 2024-09-09"),
    ("week_from=2024-09-09&week_from=2024-09-16", "week_from: give it once"),
    ("area=", "area: an empty value"), ("metric=releases_total,", "metric: an empty value"),
    ("as_at=0001-01-01T00:00:00%2B14:00", "as_at"),
])
def test_bad_questions_get_a_clear_400(api_app, factory, query, message):
    token = new_token(factory)
    response = api_app.test_client().get(f"/api/v1/shared?{query}", headers=bearer(token))
    assert response.status_code == 400 and message in response.get_json()["message"]


# A fixed time of day two days ago: with the offsets applied it is still that date in UTC, whatever the hour the
# suite runs at (with the clock's own hour, "-05:30" moved the answer to the next day after 18:30 UTC).
@pytest.mark.parametrize("clock", ["%Y-%m-%dT12:00:00Z", "%Y-%m-%dt12:00:00z", "%Y-%m-%dT12:00:00.123456789+01:00",
                                   "%Y-%m-%d 12:00:00-05:30", "%Y-%m-%dT23:59:60Z"])
def test_every_rfc3339_form_of_as_at_is_read(api_app, factory, clock):
    from maic.models import utcnow

    token = new_token(factory)
    as_at = (utcnow() - dt.timedelta(days=2)).strftime(clock)
    response = api_app.test_client().get("/api/v1/shared", query_string={"as_at": as_at}, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["as_at"].startswith((utcnow() - dt.timedelta(days=2)).strftime("%Y-%m-%dT"))


def test_weeks_after_the_latest_figures_are_an_empty_answer_not_an_error(api_app, factory):
    from maic.models import utcnow
    from maic.weeks import monday_of

    token = new_token(factory)
    this_week = monday_of(utcnow().date()).isoformat()
    response = api_app.test_client().get(f"/api/v1/shared?week_from={this_week}", headers=bearer(token))
    assert response.status_code == 200 and response.get_json()["cells"] == []


def _view_cells(client, metric: str, week_from: str, week_to: str, areas: list[str] | None) -> dict[str, str]:
    body = {"output": "..shared-asat.children...shared-table.children...shared-export.href...shared-pack.href..",
            "outputs": [{"id": "shared-asat", "property": "children"}, {"id": "shared-table", "property": "children"},
                        {"id": "shared-export", "property": "href"}, {"id": "shared-pack", "property": "href"}],
            "inputs": [{"id": "shared-metric", "property": "value", "value": metric},
                       {"id": "shared-week-from", "property": "value", "value": week_from},
                       {"id": "shared-week-to", "property": "value", "value": week_to},
                       {"id": "shared-areas", "property": "value", "value": areas},
                       {"id": "data-version", "property": "data", "value": None}],
            "changedPropIds": ["shared-metric.value"], "state": []}
    response = client.post(_guard.UPDATE_PATH, json=body, headers=csrf_headers(client))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    found: dict[str, str] = {}

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if "data-key" in props:
                found[props["data-key"]] = props["children"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(response.get_data(as_text=True)))
    return found


@pytest.mark.parametrize(("week_from", "week_to", "areas"), [
    ("2024-09-02", "2024-09-23", None), ("2024-09-09", "2024-09-16", ["E07000009", "E07000010"]),
])
def test_the_api_returns_exactly_what_the_shared_view_shows(api_app, factory, week_from, week_to, areas):
    token = new_token(factory)
    neighbour = api_app.test_client()
    login_as(neighbour, factory, "neighbour")
    neighbour.get("/dash/shared")
    shown = _view_cells(neighbour, "releases_total", week_from, week_to, areas)
    assert len(shown) >= 10
    query = f"metric=releases_total&week_from={week_from}&week_to={week_to}"
    query += "".join(f"&area={a}" for a in areas or [])
    cells = api_app.test_client().get(f"/api/v1/shared?{query}", headers=bearer(token)).get_json()["cells"]
    api = {f"{c['metric']}|{c['area_code']}|{c['week']}|{c['measure']}": c["shown"] for c in cells}
    assert shown.items() <= api.items()
    # And everything the view shows for the weeks is in the API's answer: one question, one set of figures.
    weekly = {k for k in api if k.endswith("|week")}
    assert weekly <= set(shown)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory, sqlite_template):
    """A real HTTP server on 127.0.0.1 with figures and a token, for schemathesis to call."""
    import shutil

    from maic.db import make_engine, make_session_factory
    from tests.live_server import LiveServer

    folder = tmp_path_factory.mktemp("schema")
    shutil.copy(sqlite_template, folder / "maic.db")
    url = f"sqlite:///{folder / 'maic.db'}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    seed_releases(factory, folder, WEEKS, RELEASES)
    token = new_token(factory)
    engine.dispose()
    with LiveServer(make_app(url, folder)) as server:
        server.token = token
        yield server


def expected_document() -> dict:
    """What the test server (HOME_AREAS, the bundled catalogue, default settings) must serve, built without it:
    schemathesis reads its schema at import (its lazy, fixture-made schema fails under pytest 9)."""
    from maic.config import defaults
    from maic.models import utcnow
    from maic.reference import read_reference
    from maic.sharing.api import shared_weeks, week_names

    shareable = [m["key"] for m in read_reference()["metrics"] if m.get("shareable")]
    return openapi.document("OFFICIAL-SENSITIVE", areas=[*HOME_AREAS, "ALL"], metrics=shareable,
                            weeks=week_names(shared_weeks(defaults(), utcnow().date())))


schema = schemathesis.openapi.from_dict(expected_document())


def test_the_document_is_served_and_names_what_the_server_accepts(api_server):
    import requests

    from maic.db import make_engine, make_session_factory
    from maic.models import utcnow
    from maic.sharing.api import document_for

    served = requests.get(f"{api_server.url}/api/v1/openapi.json", timeout=10).json()
    assert served == expected_document()  # so the schema schemathesis tests with is the one served
    engine = make_engine(api_server.app.config["MAIC_DATABASE_URL"])
    with make_session_factory(engine)() as session:
        assert served == document_for(api_server.app.config, session, utcnow().date())
    engine.dispose()
    parameters = {p["name"]: p["schema"] for p in served["paths"]["/api/v1/shared"]["get"]["parameters"]}
    assert parameters["as_at"] == {"type": "string", "format": "date-time"}
    assert sorted(parameters["area"]["items"]["enum"]) == sorted([*HOME_AREAS, "ALL"])
    assert "releases_total" in parameters["metric"]["items"]["enum"]
    assert "sm_referrals" not in parameters["metric"]["items"]["enum"]  # not shareable
    assert {"2024-09-09", "2024-W37"} <= set(parameters["week_from"]["enum"])
    assert "2024-09-10" not in parameters["week_from"]["enum"] and "2024-07-29" not in parameters["week_from"]["enum"]


def unstated_rules_broken(query: dict, history_days: int) -> list[str]:
    """The two rules a JSON schema cannot state (the document says them in words): the words a 400 says."""
    from maic.models import utcnow
    from maic.sharing.api import parse_as_at
    from maic.weeks import parse_week

    broken = []
    try:
        if parse_week(query["week_from"]) > parse_week(query["week_to"]):
            broken.append("is after week_to")
    except (KeyError, TypeError, ValueError, AttributeError):
        pass
    try:
        if parse_as_at(query["as_at"]) < utcnow() - dt.timedelta(days=history_days):
            broken.append("earlier than the shared history allows")
    except (KeyError, TypeError, AttributeError, MaicError):
        pass
    return broken


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_does_what_its_openapi_document_says(case, api_server):
    """Every check schemathesis has, in every phase (examples, coverage, fuzzing; valid and invalid data):
    status, content type, headers and body as declared, nothing a 500, schema-valid questions answered and
    schema-invalid ones refused. Derandomized: the same cases every run, bounded by max_examples.

    The two rules no JSON schema can state (week_from after week_to; as_at before the shared history) are
    answered with a 400 naming them; for those cases that answer is checked instead of acceptance.
    """
    # A case without the Authorization header is schemathesis leaving it out on purpose (negative data): adding
    # our token to it turned a test of "refused" into an accepted request, and failed at random.
    signed = "Authorization" in (case.headers or {})
    headers = bearer(api_server.token) if signed else {}
    broken = unstated_rules_broken(case.query or {}, int(api_server.app.config["MAIC_SHARED_HISTORY_DAYS"]))
    if not broken:
        case.call_and_validate(base_url=api_server.url, headers=headers)
        return
    response = case.call_and_validate(base_url=api_server.url, headers=headers,
                                      excluded_checks=[schemathesis.checks.positive_data_acceptance])
    if signed and case.meta.generation.mode.is_positive:
        assert response.status_code == 400, response.text
        assert any(words in response.json()["message"] for words in broken), response.text
