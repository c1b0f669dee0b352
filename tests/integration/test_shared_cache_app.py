"""The app with MAIC_REDIS_URL: workers share kept answers, and Redis stopping never gives an error page.

In one process, two apps stand for two workers (each its own per-process cache and Redis client); then two
real app processes on two ports over one PostgreSQL database and one Redis, as two servers of a deployment.
Redis is always a private redis-server of the test's own (tests/services.py)."""

from __future__ import annotations

import base64
import logging
import re
import time
import uuid

import pytest
import requests

from maic.models import Return
from tests.fixtures import PASSWORD, csv_bytes, ingest, login_as, make_user
from tests.picture.test_callbacks import announced, live_body, panel_body, post, version_body
from tests.picture.world import seed
from tests.services import AppProcess
from tests.services import private_redis as _private_redis

private_redis = _private_redis  # the fixture, under its own name

COUNT = [{"id": "map-measure", "property": "value", "value": "count"}]
OPENING = panel_body("releases-panel", filters={}, extra_inputs=COUNT)
FENLAND = [("2024-09-09", "E07000010", "releases_total", 4)]
# A change of filters answers with every panel: each is computed (and counted) on its own.
PANEL_NAMES = ("headlines", "releases", "shortfall", "pressure", "completeness", "forward")


def each(times: int) -> dict[str, int]:
    return {f"computed:{name}": times for name in PANEL_NAMES}


def computed(redis_server, prefix_start: str = "t:") -> dict[str, int]:
    """The deployment's count of computed answers per panel, as the workers recorded it in Redis."""
    client = redis_server.client()
    try:
        stats = next((k for k in client.keys(f"{prefix_start}*:stats")), None)
        return {} if stats is None else {k.decode(): int(v) for k, v in client.hgetall(stats).items()}
    finally:
        client.close()


def a_worker(db_url, data_dir, redis_url):
    from app import create_app

    return create_app({"TESTING": True, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir),
                       "MAIC_SECRET_KEY": "test-secret-key-not-for-production", "MAIC_REDIS_URL": redis_url,
                       "MAIC_REDIS_PREFIX": "t", "MAIC_LIVE_RENDER_AHEAD_SECONDS": 3})


@pytest.fixture
def workers(db_url, data_dir, private_redis):
    apps = [a_worker(db_url, data_dir, private_redis.url) for _ in range(2)]
    yield apps
    for app in apps:
        app.extensions["maic.db"]["engine"].dispose()
        if "maic.redis" in app.extensions:
            app.extensions["maic.redis"].close()


def signed_in(app, factory):
    client = app.test_client()
    login_as(client, factory, "viewer")
    client.get("/dash/")
    return client


def test_an_answer_computed_by_one_worker_is_served_kept_by_the_other(workers, factory, data_dir, private_redis):
    seed(factory, data_dir)
    first, second = (signed_in(app, factory) for app in workers)
    assert "59 people released into 2 of 6 areas" in post(first, OPENING).get_data(as_text=True)
    assert computed(private_redis) == each(1)
    answer = post(second, OPENING)
    assert answer.get_json() == post(first, OPENING).get_json()
    assert computed(private_redis) == each(1)  # not computed again by the second worker
    assert workers[1].extensions["maic.answer_cache"].shared_hits == len(PANEL_NAMES)


def test_a_view_one_reader_made_up_takes_no_room_in_the_shared_cache(workers, factory, data_dir, private_redis):
    seed(factory, data_dir)
    first, second, third = signed_in(workers[0], factory), signed_in(workers[1], factory), signed_in(
        workers[1], factory)
    odd = panel_body("shortfall-panel", filters={"to": "2024-09-02"})
    client = private_redis.client()
    try:
        for _ in range(3):  # one reader, however often, is still one reader
            assert "Week beginning Mon 2 Sep 2024: no area" in post(first, odd).get_data(as_text=True)
        assert client.keys("t:*:answer:*") == []  # kept by the worker that computed it, not shared
        assert computed(private_redis) == each(1)
        assert post(second, odd).get_json() == post(first, odd).get_json()  # a second reader: worth sharing
        assert post(third, odd).get_json() == post(first, odd).get_json()  # now kept for everyone
        assert computed(private_redis) == each(2)
        assert len(client.keys("t:*:answer:*")) == len(PANEL_NAMES)
    finally:
        client.close()


def test_a_new_version_is_rendered_ahead_once_for_both_workers(workers, factory, data_dir, private_redis):
    seed(factory, data_dir)
    first, second = (signed_in(app, factory) for app in workers)
    for client in (first, second):
        assert "59 people released" in post(client, OPENING).get_data(as_text=True)
        assert "2 red, 2 amber" in post(client, panel_body("pressure-panel", filters={})).get_data(as_text=True)
    known = announced(post(first, version_body(None)))
    before = computed(private_redis)
    ingest(factory, data_dir, "probation-cambs", FENLAND, filename="probation-fenland.csv")
    deadline = time.monotonic() + 15
    while not (announced(post(first, version_body(known))) and announced(post(second, version_body(known)))):
        assert time.monotonic() < deadline, "the new version was never announced"
        time.sleep(0.05)
    for client in (first, second):
        assert "63 people released" in post(client, OPENING).get_data(as_text=True)
        assert post(client, panel_body("pressure-panel", filters={})).status_code == 200
        options = post(client, live_body(client, 2, filters={}))
        assert options.status_code == 200
        # probation, both housing teams, CPFT and prisons have sent week 2: 5 of the 14 home agencies.
        assert {"label": "Week beginning Mon 9 Sep 2024 (in progress: 5 of 14 returns in)", "value": "2024-09-09"} in (
            options.get_json()["response"]["week-picker"]["options"]), options.get_json()
    after = computed(private_redis)
    # Each view once for the deployment: rendered ahead by one worker, read kept by both.
    assert after["computed:releases"] == before["computed:releases"] + 1
    assert after["computed:pressure"] == before["computed:pressure"] + 1
    assert after["computed:week-options"] == before.get("computed:week-options", 0) + 1


def test_redis_stopping_mid_run_never_gives_an_error_page(workers, factory, data_dir, private_redis, caplog):
    seed(factory, data_dir)
    first, second = (signed_in(app, factory) for app in workers)
    assert "59 people released" in post(first, OPENING).get_data(as_text=True)
    caplog.set_level(logging.WARNING, logger="maic.redis_store")
    private_redis.stop()
    ingest(factory, data_dir, "probation-cambs", FENLAND, filename="probation-fenland.csv")
    for _ in range(3):
        for client in (first, second):
            response = post(client, OPENING)
            assert response.status_code == 200
            assert "63 people released into 3 of 6 areas" in response.get_data(as_text=True)
            assert post(client, version_body(1)).status_code in (200, 204)
    late = workers[0].test_client()
    login_as(late, factory, "viewer")  # signing in (its rate limit counted in Redis) works without Redis too
    assert late.get("/dash/").status_code == 200
    ours = [r.getMessage() for r in caplog.records if r.name == "maic.redis_store"]
    assert len([m for m in ours if "unreachable" in m]) == 2  # once per worker, not once per request
    private_redis.start()
    time.sleep(1.2)  # past the backoff
    ingest(factory, data_dir, "probation-cambs", [("2024-09-09", "E07000011", "releases_total", 2)],
           filename="probation-hunts.csv")
    for client in (first, second):
        assert "65 people released into 4 of 6 areas" in post(client, OPENING).get_data(as_text=True)
    assert computed(private_redis) == each(1)  # shared again: once for both
    assert any("reachable again" in r.getMessage() for r in caplog.records)


# --- two servers, each a process of its own ---------------------------------------------------------------

def sign_in(http: requests.Session, base: str, username: str) -> str:
    page = http.get(f"{base}/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = http.post(f"{base}/login", data={"csrf_token": token, "username": username, "password": PASSWORD},
                         allow_redirects=False)
    assert response.status_code == 302, response.text[:300]
    http.get(f"{base}/dash/")
    return http.cookies["_csrf_token"]


def dash(http: requests.Session, base: str, csrf: str, body: dict) -> requests.Response:
    return http.post(f"{base}/dash/_dash-update-component", json=body, headers={"X-CSRFToken": csrf})


def upload_body(contents: str | None, filename: str, trigger: str) -> dict:
    outputs = [{"id": "returns-preview", "property": "children"}, {"id": "returns-commit", "property": "disabled"},
               {"id": "returns-receipt", "property": "children"}, {"id": "returns-committed", "property": "data"},
               {"id": "returns-upload", "property": "contents"}]
    return {"output": ".." + "...".join(f"{o['id']}.{o['property']}" for o in outputs) + "..", "outputs": outputs,
            "inputs": [{"id": "returns-upload", "property": "contents", "value": contents},
                       {"id": "returns-commit", "property": "n_clicks", "value": 1 if trigger == "commit" else None},
                       {"id": "returns-cancel", "property": "n_clicks", "value": None}],
            "changedPropIds": ["returns-commit.n_clicks" if trigger == "commit" else "returns-upload.contents"],
            "state": [{"id": "returns-upload", "property": "filename", "value": filename},
                      {"id": "returns-agency", "property": "value", "value": "probation-cambs"}]}


@pytest.mark.postgres
def test_two_servers_over_one_database_and_redis_share_answers_uploads_and_limits(postgres, private_redis,
                                                                                   tmp_path):
    from maic.db import make_engine, make_session_factory

    url = postgres.create(f"maic_test_{uuid.uuid4().hex[:12]}", template=postgres.template)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    servers: list[AppProcess] = []
    try:
        seed(factory, tmp_path / "seed")
        viewer, analyst = make_user(factory, "viewer"), make_user(factory, "analyst")
        # Each server its own data folder: nothing a request needs may be on one host's disk.
        servers = [AppProcess(tmp_path / name, {
            "MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(tmp_path / name / "data"),
            "MAIC_SECRET_KEY": "two-servers-one-secret-" * 2, "MAIC_REDIS_URL": private_redis.url,
            "MAIC_REDIS_PREFIX": "t", "MAIC_LOGIN_RATE_LIMIT": "3 per minute", "MAIC_DEMO_BANNER": "0"})
            for name in ("a", "b")]
        a, b = (server.url for server in servers)

        # A panel computed through one server is served kept by the other.
        http = requests.Session()
        csrf = sign_in(http, a, viewer)
        first = dash(http, a, csrf, OPENING)
        assert first.status_code == 200 and "59 people released into 2 of 6 areas" in first.text
        assert computed(private_redis) == each(1)
        second = dash(http, b, csrf, OPENING)  # the same signed-in browser, now sent to the other server
        assert second.status_code == 200 and second.json() == first.json()
        assert computed(private_redis) == each(1)

        # An upload previewed on one server and committed on the other: the file stays in the browser.
        lead = requests.Session()
        lead_csrf = sign_in(lead, a, analyst)
        contents = "data:text/csv;base64," + base64.b64encode(csv_bytes(FENLAND)).decode()
        preview = dash(lead, a, lead_csrf, upload_body(contents, "fenland.csv", "upload"))
        assert preview.status_code == 200 and "Something went wrong" not in preview.text
        assert preview.json()["response"]["returns-commit"]["disabled"] is False
        committed = dash(lead, b, lead_csrf, upload_body(contents, "fenland.csv", "commit"))
        assert committed.status_code == 200, committed.text[:500]
        return_id = committed.json()["response"]["returns-committed"]["data"]
        with factory() as session:
            assert session.get(Return, return_id).filename == "fenland.csv"
            assert session.get(Return, return_id).source == "upload"
        assert dash(http, b, csrf, version_body(1)).status_code == 200  # the new version, told on either
        deadline = time.monotonic() + 15
        while "63 people released into 3 of 6 areas" not in (answer := dash(http, a, csrf, OPENING)).text:
            assert time.monotonic() < deadline, answer.text[:300]
            time.sleep(0.1)
        assert "63 people released into 3 of 6 areas" in dash(http, b, csrf, OPENING).text
        assert computed(private_redis)["computed:releases"] == 2

        # Wrong passwords counted together, whichever server they were sent to.
        stranger = requests.Session()
        codes = []
        for base in (a, b, a, b):
            page = stranger.get(f"{base}/login").text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            codes.append(stranger.post(f"{base}/login", allow_redirects=False, data={
                "csrf_token": token, "username": "nobody", "password": "wrong"}).status_code)
        assert codes[:3] != [429] * 3 and codes[3] == 429, codes
    finally:
        for server in servers:
            server.stop()
        logs = "\n".join(server.output() for server in servers)
        engine.dispose()
        postgres.drop(url.rsplit("/", 1)[1])
    assert "Traceback" not in logs, logs[-3000:]


def test_a_database_built_again_under_the_same_url_never_gets_the_old_answers(sqlite_template, tmp_path,
                                                                               private_redis):
    """Redis outlives the workers: a database restored or built again under the same URL can repeat a data
    version number, and its answers must not be the old database's (answers are keyed by when it changed too)."""
    import shutil

    import sqlalchemy as sa

    from maic.db import make_engine, make_session_factory

    path, data_dir = tmp_path / "maic.db", tmp_path / "data"
    data_dir.mkdir()

    def build(extra: bool) -> int:
        path.unlink(missing_ok=True)
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        factory = make_session_factory(engine)
        seed(factory, data_dir)
        if extra:
            ingest(factory, data_dir, "probation-cambs", FENLAND, filename="probation-fenland.csv")
            with engine.begin() as conn:  # the same version number as the first build's
                conn.exec_driver_sql("UPDATE data_version SET version = version - 1 WHERE id = 1")
        with engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version FROM data_version WHERE id = 1")).scalar_one()
        engine.dispose()
        return version

    answers = []
    for extra in (False, True):
        version = build(extra)
        app = a_worker(f"sqlite:///{path}", data_dir, private_redis.url)
        try:
            engine = app.extensions["maic.db"]["engine"]
            answers.append((version, post(signed_in(app, make_session_factory(engine)), OPENING).get_data(
                as_text=True)))
        finally:
            app.extensions["maic.db"]["engine"].dispose()
            app.extensions["maic.redis"].close()
    (first_version, first), (second_version, second) = answers
    assert first_version == second_version
    assert "59 people released into 2 of 6 areas" in first
    assert "63 people released into 3 of 6 areas" in second
