"""The shared API's answers kept per data version and question: computed once however many neighbours pull at
once, the same as computed afresh, new after a return, shared by two apps through a private Redis; and a
token's use written at most once a minute."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from maic.db import transaction
from maic.models import ApiToken, AuditEvent, utcnow
from maic.picture import shared
from maic.reference import first_week
from maic.sharing import api
from maic.sharing.tokens import USE_RECORDED_EVERY, authenticate_token
from tests.fixtures import ingest
from tests.security.conftest import make_app, new_token, seed_releases
from tests.services import private_redis as _private_redis

private_redis = _private_redis  # the fixture, under its own name

WEEKS = [dt.date(2024, 9, 2), dt.date(2024, 9, 9), dt.date(2024, 9, 16)]
RELEASES = {"E07000008": [12, 30, 9], "E07000009": [2, 0, 3], "E07000010": [4, 7, 1],
            "E07000011": [8, 15, 11], "E07000012": [6, 9, 5], "E06000031": [20, 41, 18]}
NEIGHBOURS = 12
COMPUTE = shared.shared_picture  # the real computation, uncounted


@pytest.fixture
def computations(monkeypatch) -> list[shared.SharedQuery]:
    """Every time the real shared picture is computed, its question (the real function still runs)."""
    asked: list[shared.SharedQuery] = []
    real = shared.shared_picture
    lock = threading.Lock()

    def counted(session, query, **kwargs):
        with lock:
            asked.append(query)
        return real(session, query, **kwargs)

    monkeypatch.setattr(shared, "shared_picture", counted)
    return asked


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seeded_app(db_url, data_dir, factory, **config):
    seed_releases(factory, data_dir, WEEKS, RELEASES)
    return make_app(db_url, data_dir, **config)


@pytest.fixture
def api_app(db_url, data_dir, factory):
    app = seeded_app(db_url, data_dir, factory)
    yield app
    app.extensions["maic.db"]["engine"].dispose()


def pull_at_once(apps, tokens: list[str], path: str) -> list[bytes]:
    """Each token pulls `path` from the apps in turn, all released at the same moment."""
    start, bodies = threading.Barrier(len(tokens)), [b""] * len(tokens)

    def pull(i: int) -> None:
        client = apps[i % len(apps)].test_client()
        start.wait()
        response = client.get(path, headers=bearer(tokens[i]))
        assert response.status_code == 200, response.get_data(as_text=True)
        bodies[i] = response.get_data()

    threads = [threading.Thread(target=pull, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return bodies


def uncached(app, path: str, form: str = "json") -> bytes:
    """The answer as the API gave it before anything was kept: the real shared_picture, the same rendering."""
    with app.test_request_context(path):
        session = api.session_for(app)
        config = app.config
        picture = COMPUTE(
            session, api.question(), threshold=int(config["MAIC_SUPPRESSION_THRESHOLD"]),
            history_from=first_week(session, dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"]))),
            history_days=int(config["MAIC_SHARED_HISTORY_DAYS"]))
        return (api.json_body if form == "json" else api.csv_body)(picture).body


def test_twelve_neighbours_pulling_at_once_compute_the_picture_once(api_app, factory, computations):
    tokens = [new_token(factory, f"neighbour {i}") for i in range(NEIGHBOURS)]
    bodies = pull_at_once([api_app], tokens, "/api/v1/shared")
    assert len(set(bodies)) == 1 and b'"cells"' in bodies[0]
    assert len(computations) == 1
    csv = api_app.test_client().get("/api/v1/shared.csv", headers=bearer(tokens[0]))
    assert csv.status_code == 200 and csv.headers["Content-Disposition"].endswith('shared-cambs-peterborough.csv"')
    assert len(computations) == 1  # the CSV is rendered from the same kept picture


def test_a_kept_answer_is_the_answer_computed_afresh(api_app, factory, computations):
    token = new_token(factory)
    client = api_app.test_client()
    past = (utcnow() - dt.timedelta(hours=1)).replace(microsecond=0).isoformat() + "Z"
    for path, form in ((f"/api/v1/shared?week_from=2024-09-09&area=E07000010,E07000009&as_at={past}", "json"),
                       (f"/api/v1/shared.csv?metric=releases_total&as_at={past}", "csv")):
        first = client.get(path, headers=bearer(token)).get_data()
        again = client.get(path, headers=bearer(token)).get_data()
        assert first == again == uncached(api_app, path, form)
    assert len(computations) == 2
    live = client.get("/api/v1/shared", headers=bearer(token)).get_json()
    fresh = api_app.json.loads(uncached(api_app, "/api/v1/shared"))
    assert live["cells"] == fresh["cells"] and live["data_version"] == fresh["data_version"]


def test_the_same_question_written_differently_is_one_answer(api_app, factory, computations):
    token = new_token(factory)
    client = api_app.test_client()
    one = client.get("/api/v1/shared?area=E07000010,E07000009&week_from=2024-W37", headers=bearer(token))
    two = client.get("/api/v1/shared?area=E07000009&area=E07000010&week_from=2024-09-09", headers=bearer(token))
    assert one.get_data() == two.get_data() and len(computations) == 1


def test_a_new_return_gives_new_figures(api_app, factory, data_dir, computations):
    token = new_token(factory)
    client = api_app.test_client()
    before = client.get("/api/v1/shared?area=E07000008", headers=bearer(token)).get_json()
    ingest(factory, data_dir, "probation-cambs", [("2024-09-16", "E07000008", "releases_total", 27)],
           filename="correction.csv")
    after = client.get("/api/v1/shared?area=E07000008", headers=bearer(token)).get_json()
    assert after["data_version"] > before["data_version"] and len(computations) == 2

    def week(body, on: str) -> str:
        return next(c["shown"] for c in body["cells"] if c["area_code"] == "E07000008" and c["week"] == on
                    and c["measure"] == "week" and c["metric"] == "releases_total")

    assert (week(before, "2024-09-16"), week(after, "2024-09-16")) == ("9", "27")
    assert api_app.json.loads(uncached(api_app, "/api/v1/shared?area=E07000008"))["cells"] == after["cells"]


def test_every_pull_is_still_authenticated_and_checked(api_app, factory, computations):
    token = new_token(factory)
    client = api_app.test_client()
    assert client.get("/api/v1/shared", headers=bearer(token)).status_code == 200
    for header in ({}, bearer("maic_not-a-real-token"), bearer(token[:-2])):
        response = client.get("/api/v1/shared", headers=header)
        assert response.status_code == 401 and b"cells" not in response.get_data()
    refused = client.get("/api/v1/shared?as_at=2020-01-01T00:00:00Z", headers=bearer(token))
    assert refused.status_code == 400 and "earlier than the shared history allows" in refused.get_data(as_text=True)
    assert len(computations) == 1


def test_a_tokens_use_is_written_once_a_minute(api_app, factory):
    token = new_token(factory)
    client = api_app.test_client()
    for _ in range(5):
        assert client.get("/api/v1/version", headers=bearer(token)).status_code == 200

    def uses() -> int:
        with factory() as session:
            return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "token.use"))

    def check(address: str, now: dt.datetime) -> None:
        with transaction(factory) as session:
            assert authenticate_token(session, token, remote_addr=address, now=now) is not None

    assert uses() == 1
    now = utcnow()
    check("127.0.0.1", now)
    assert uses() == 1  # still within the minute
    check("192.0.2.7", now)
    assert uses() == 2  # a new address is written at once
    later = now + USE_RECORDED_EVERY + dt.timedelta(seconds=1)
    check("127.0.0.1", later)
    assert uses() == 3
    with factory() as session:
        assert session.scalar(sa.select(ApiToken.last_used_at)) == later


# --- two apps sharing a private Redis -----------------------------------------------------------------------

@pytest.fixture
def redis_apps(db_url, data_dir, factory, private_redis):
    seed_releases(factory, data_dir, WEEKS, RELEASES)
    apps = [make_app(db_url, data_dir, MAIC_REDIS_URL=private_redis.url, MAIC_REDIS_PREFIX="t") for _ in range(2)]
    yield apps
    for app in apps:
        app.extensions["maic.db"]["engine"].dispose()
        if "maic.redis" in app.extensions:
            app.extensions["maic.redis"].close()


def computed(redis_server) -> dict[str, int]:
    client = redis_server.client()
    try:
        stats = next(iter(client.keys("t:*:stats")), None)
        return {} if stats is None else {k.decode(): int(v) for k, v in client.hgetall(stats).items()}
    finally:
        client.close()


def test_two_apps_compute_the_neighbours_answer_once(redis_apps, factory, private_redis, computations):
    tokens = [new_token(factory, f"neighbour {i}") for i in range(NEIGHBOURS)]
    bodies = pull_at_once(redis_apps, tokens, "/api/v1/shared")
    assert len(set(bodies)) == 1
    assert computed(private_redis) == {"computed:shared.json": 1}
    assert len(computations) == 1  # not even the other app computed the picture
    assert sum(app.extensions["maic.api_answers"].shared_hits for app in redis_apps) >= 1


def test_a_question_one_neighbour_made_up_is_not_shared(redis_apps, factory, private_redis, computations):
    one, two = new_token(factory, "one"), new_token(factory, "two")
    path = "/api/v1/shared?area=E07000010&week_to=2024-09-09"
    client = private_redis.client()
    try:
        for _ in range(3):
            assert redis_apps[0].test_client().get(path, headers=bearer(one)).status_code == 200
        assert client.keys("t:*:answer:*") == []  # kept by the app that answered, not in Redis
        first = redis_apps[1].test_client().get(path, headers=bearer(two)).get_json()  # a second client
        assert len(client.keys("t:*:answer:*")) == 1
        again = redis_apps[0].test_client().get(path, headers=bearer(one)).get_json()
        # The same figures; each app's live answer says when it read them (as_at), which may be a second apart.
        assert {**again, "as_at": None} == {**first, "as_at": None}
    finally:
        client.close()
