"""/healthz, /readyz and /metrics over real HTTP, production mode, and the counts the metrics are made of."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket

import pytest
import requests
import sqlalchemy as sa
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from maic import health, metrics
from maic import scheduler as sched
from maic.db import make_engine, make_session_factory
from maic.errors import MaicError
from maic.models import JobOutcome
from maic.picture.cache import PanelCache
from tests import services
from tests.fixtures import PASSWORD, csrf_from, ingest, make_user
from tests.live_server import LiveServer

private_redis = services.private_redis  # the fixture, under its own name

SECRET = "ops-test-secret-key-0123456789abcdef"


def _app(db_url: str, data_dir, **config):
    from app import create_app

    return create_app({"TESTING": True, "MAIC_DATABASE_URL": db_url, "MAIC_DATA_DIR": str(data_dir),
                       "MAIC_SECRET_KEY": SECRET, **config})


@pytest.fixture
def served(sqlite_url, data_dir):
    app = _app(sqlite_url, data_dir)
    engine = make_engine(sqlite_url)
    with LiveServer(app) as server:
        yield server, make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def fresh_heartbeat(monkeypatch):
    """The scheduler's heartbeat 5 s old, for tests about the other checks (no scheduler runs in them)."""
    monkeypatch.setattr(sched, "heartbeat_age", lambda session: dt.timedelta(seconds=5), raising=False)


def _signed_in(url: str, factory, role: str) -> requests.Session:
    http = requests.Session()
    username = make_user(factory, role)
    token = csrf_from(http.get(f"{url}/login", timeout=30).text)
    answer = http.post(f"{url}/login", data={"csrf_token": token, "username": username, "password": PASSWORD},
                       timeout=30, allow_redirects=False)
    assert answer.status_code == 302
    return http


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- /healthz and /readyz -------------------------------------------------------------------------------------


def test_healthz_and_readyz_answer_small_json_to_anyone(served, fresh_heartbeat):
    server, _ = served
    health_answer = requests.get(f"{server.url}/healthz", timeout=30)
    assert health_answer.status_code == 200 and health_answer.json() == {"status": "ok"}
    ready = requests.get(f"{server.url}/readyz", timeout=30)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok",
                                                          "redis": "not configured", "scheduler": "ok"}}
    assert ready.headers["Cache-Control"] == "no-store"


def test_readyz_fails_when_the_database_cannot_be_reached_and_says_nothing_of_it(data_dir):
    url = f"postgresql+psycopg://maic:hunter2@127.0.0.1:{_closed_port()}/maic_secret_db"
    app = _app(url, data_dir)  # it still starts: the database may come up after it
    try:
        answer = app.test_client().get("/readyz")
        assert answer.status_code == 503
        body = answer.get_json()
        assert body["status"] == "not ready"
        assert body["checks"]["database"] == "failed" and body["checks"]["schema"] == "failed"
        text = answer.get_data(as_text=True)
        assert "hunter2" not in text and "maic_secret_db" not in text and "127.0.0.1" not in text
        assert app.test_client().get("/healthz").status_code == 200  # the process itself answers
    finally:
        app.extensions["maic.db"]["engine"].dispose()


def test_readyz_fails_when_the_schema_is_not_at_the_newest_migration(app, client, engine, fresh_heartbeat):
    assert client.get("/readyz").status_code == 200
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0007_metric_relations'"))
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["schema"] == "failed"
    assert answer.get_json()["checks"]["database"] == "ok"


def test_readyz_checks_redis_when_it_is_configured(sqlite_url, data_dir, fresh_heartbeat):
    down = _app(sqlite_url, data_dir, MAIC_REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    up = _app(sqlite_url, data_dir, MAIC_REDIS_URL="redis://127.0.0.1:6379/15")
    try:
        answer = down.test_client().get("/readyz")
        assert answer.status_code == 503 and answer.get_json()["checks"]["redis"] == "failed"
        answer = up.test_client().get("/readyz")
        if answer.get_json()["checks"]["redis"] == "failed":
            pytest.skip("the machine's Redis at 127.0.0.1:6379 does not answer")
        assert answer.status_code == 200 and answer.get_json()["checks"]["redis"] == "ok"
    finally:
        for app in (down, up):
            app.extensions["maic.db"]["engine"].dispose()


@pytest.mark.parametrize(("age", "expected", "status"), [
    (dt.timedelta(seconds=30), "ok", 200),
    (dt.timedelta(seconds=301), "failed", 503),
    (None, "failed", 503),  # no heartbeat was ever recorded: the scheduler never ran
])
def test_readyz_fails_on_a_stale_or_missing_scheduler_heartbeat(app, client, monkeypatch, age, expected, status):
    # maic.scheduler.heartbeat_age(session) comes with the scheduler's heartbeat; until then it is "not checked".
    sessions = []
    monkeypatch.setattr(sched, "heartbeat_age", lambda session: sessions.append(session) or age, raising=False)
    answer = client.get("/readyz")
    assert answer.get_json()["checks"]["scheduler"] == expected
    assert answer.status_code == status
    assert len(sessions) == 1 and isinstance(sessions[0], sa.orm.Session)


def test_the_stale_limit_is_a_setting(sqlite_url, data_dir, monkeypatch):
    monkeypatch.setattr(sched, "heartbeat_age", lambda session: dt.timedelta(seconds=90), raising=False)
    app = _app(sqlite_url, data_dir, MAIC_SCHEDULER_STALE_SECONDS=60)
    try:
        assert app.test_client().get("/readyz").get_json()["checks"]["scheduler"] == "failed"
    finally:
        app.extensions["maic.db"]["engine"].dispose()


def test_a_check_that_raises_is_failed_and_logged(app, client, monkeypatch, caplog):
    def broken(_ctx):
        raise RuntimeError("connection to secret-host refused")

    monkeypatch.setattr(health, "CHECKS", [*health.CHECKS, health.Check("extra", broken)])
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["checks"]["extra"] == "failed"
    assert "secret-host" not in answer.get_data(as_text=True)
    assert "secret-host" in caplog.text


# --- /metrics -------------------------------------------------------------------------------------------------


def _families(text: str) -> dict[str, list]:
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def test_metrics_are_for_admins_and_allowed_addresses_only(served):
    server, factory = served
    anonymous = requests.get(f"{server.url}/metrics", timeout=30, allow_redirects=False)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for role in ("viewer", "analyst", "agency_lead", "neighbour"):
        assert _signed_in(server.url, factory, role).get(f"{server.url}/metrics", timeout=30).status_code == 403
    admin = _signed_in(server.url, factory, "admin")
    answer = admin.get(f"{server.url}/metrics", timeout=30)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    assert "maic_request_seconds" in _families(answer.text)


def test_an_allowed_address_reads_metrics_without_signing_in(sqlite_url, data_dir):
    app = _app(sqlite_url, data_dir, MAIC_METRICS_ALLOW="192.0.2.0/24, 127.0.0.1/32")
    with LiveServer(app) as server:
        assert requests.get(f"{server.url}/metrics", timeout=30).status_code == 200
    other = _app(sqlite_url, data_dir, MAIC_METRICS_ALLOW="192.0.2.0/24")
    try:
        assert other.test_client().get("/metrics").status_code == 302
    finally:
        other.extensions["maic.db"]["engine"].dispose()


def test_a_wrong_allow_list_stops_the_app_with_its_name(sqlite_url, data_dir):
    with pytest.raises(MaicError, match="MAIC_METRICS_ALLOW: '10.0.0.300/32' is not a network"):
        _app(sqlite_url, data_dir, MAIC_METRICS_ALLOW="10.0.0.300/32")


def test_request_latency_is_counted_by_kind_and_by_callback_output(served):
    server, factory = served
    admin = _signed_in(server.url, factory, "admin")
    assert admin.get(f"{server.url}/dash/", timeout=30).status_code == 200
    dash_app = server.app.extensions["maic.dash"]
    output = next(o for o in dash_app.callback_map if o == "data-version.data")
    spec = dash_app.callback_map[output]
    body = {"output": output, "outputs": {"id": "data-version", "property": "data"},
            "inputs": [{"id": i["id"], "property": i["property"], "value": None} for i in spec["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": None} for s in spec.get("state", [])],
            "changedPropIds": []}
    headers = {"X-CSRFToken": admin.cookies["_csrf_token"]}
    admin.post(f"{server.url}/dash/_dash-update-component", json=body, headers=headers, timeout=30)
    # A hand-made output adds no label of its own.
    admin.post(f"{server.url}/dash/_dash-update-component", json={**body, "output": "made-up.children"},
               headers=headers, timeout=30)
    anonymous = requests.post(f"{server.url}/dash/_dash-update-component", json=body, timeout=30)
    assert anonymous.status_code == 401
    samples = _families(admin.get(f"{server.url}/metrics", timeout=30).text)["maic_request_seconds"]
    counted = {(s.labels["kind"], s.labels["target"]) for s in samples if s.name == "maic_request_seconds_count"}
    assert ("callback", "data-version.data") in counted
    assert ("callback", "unknown") in counted
    assert ("callback", "refused") in counted
    assert ("page", "/dash/") in counted and ("page", "auth.login") in counted
    assert not any("made-up" in target for _, target in counted)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_ingests_are_counted_by_door_and_outcome(factory, data_dir):
    rows = [("2024-09-09", "E07000008", "releases_total", 12)]
    before = {o: _value("maic_ingests_total", source="cli", outcome=o) for o in ("accepted", "duplicate", "refused")}
    ingest(factory, data_dir, "probation-cambs", rows)
    ingest(factory, data_dir, "probation-cambs", rows)
    with pytest.raises(MaicError):
        ingest(factory, data_dir, "probation-cambs", [("2024-09-09", "E07000008", "releases_total", -3)],
               filename="negative.csv")
    after = {o: _value("maic_ingests_total", source="cli", outcome=o) for o in before}
    assert {o: after[o] - before[o] for o in before} == {"accepted": 1, "duplicate": 1, "refused": 1}


def test_scheduler_job_runs_are_counted_by_outcome(factory, monkeypatch):
    def fails(_ctx):
        raise RuntimeError("feed down")

    job_ok = sched.Job("metrics-test-ok", lambda _ctx: "done", lambda _c: 60)
    job_failed = sched.Job("metrics-test-failed", fails, lambda _c: 60)
    ctx = sched.JobContext(config={}, factory=factory)
    assert sched.run_job(ctx, job_ok).outcome == JobOutcome.OK
    assert sched.run_job(ctx, job_failed).outcome == JobOutcome.FAILED
    assert _value("maic_scheduler_job_runs_total", job="metrics-test-ok", outcome="ok") >= 1
    assert _value("maic_scheduler_job_runs_total", job="metrics-test-failed", outcome="failed") >= 1
    assert _value("maic_scheduler_job_runs_total", job="metrics-test-ok", outcome="failed") == 0


def test_panel_cache_hits_and_misses_are_counted():
    hits, misses = _value("maic_panel_cache_lookups_total", result="hit"), _value("maic_panel_cache_lookups_total",
                                                                                 result="miss")
    cache = PanelCache()
    for _ in range(3):
        cache.get(("panel", 1), lambda: {"figure": 1})
    assert _value("maic_panel_cache_lookups_total", result="miss") - misses == 1
    assert _value("maic_panel_cache_lookups_total", result="hit") - hits == 2


def test_without_a_multiprocess_folder_the_process_answers_for_itself(monkeypatch):
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain")
    assert re.search(rb"^# TYPE maic_ingests_total counter$", body, re.M)


# --- production mode ------------------------------------------------------------------------------------------


def test_production_refuses_to_start_without_an_explicit_secret_key(sqlite_url, data_dir):
    from app import create_app

    with pytest.raises(MaicError, match="MAIC_ENV is production but MAIC_SECRET_KEY is not set"):
        create_app({"MAIC_DATABASE_URL": sqlite_url, "MAIC_DATA_DIR": str(data_dir), "MAIC_ENV": "production"})
    with pytest.raises(MaicError, match="MAIC_SECRET_KEY has 5 characters: use at least 32"):
        create_app({"MAIC_DATABASE_URL": sqlite_url, "MAIC_DATA_DIR": str(data_dir), "MAIC_ENV": "production",
                    "MAIC_SECRET_KEY": "short"})
    with pytest.raises(MaicError, match="MAIC_ENV is 'prod': it must be one of development, production"):
        create_app({"MAIC_DATABASE_URL": sqlite_url, "MAIC_DATA_DIR": str(data_dir), "MAIC_ENV": "prod"})
    assert not (data_dir / "secret_key").exists()
    # Outside production a key is still made and kept in the data folder, for laptops and the demo.
    app = create_app({"MAIC_DATABASE_URL": sqlite_url, "MAIC_DATA_DIR": str(data_dir)})
    app.extensions["maic.db"]["engine"].dispose()
    assert (data_dir / "secret_key").exists()


def test_the_command_line_in_production_says_why_it_will_not_run(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from maic.cli import main

    monkeypatch.setenv("MAIC_ENV", "production")
    monkeypatch.setenv("MAIC_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("MAIC_SECRET_KEY", raising=False)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1
    assert result.output.startswith("error: MAIC_ENV is production but MAIC_SECRET_KEY is not set")
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("hops", "secure"), [(0, False), (1, True)])
def test_a_forwarded_https_is_believed_only_from_a_configured_proxy(sqlite_url, data_dir, hops, secure):
    app = _app(sqlite_url, data_dir, MAIC_PROXY_HOPS=hops)
    try:
        answer = app.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        cookie = answer.headers["Set-Cookie"]
        assert ("; Secure" in cookie) is secure
        assert ("Strict-Transport-Security" in answer.headers) is secure
    finally:
        app.extensions["maic.db"]["engine"].dispose()


def test_secure_cookies_setting_marks_every_cookie_secure_over_plain_http(sqlite_url, data_dir):
    app = _app(sqlite_url, data_dir, MAIC_SECURE_COOKIES=True)
    engine = make_engine(sqlite_url)
    try:
        client = app.test_client()
        username = make_user(make_session_factory(engine), "admin")
        token = csrf_from(client.get("/login").get_data(as_text=True))
        client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
        page = client.get("/dash/")
        cookies = page.headers.getlist("Set-Cookie")
        assert cookies and all("; Secure" in c for c in cookies), cookies
        assert any(c.startswith("_csrf_token=") for c in cookies)
    finally:
        engine.dispose()
        app.extensions["maic.db"]["engine"].dispose()


def test_without_the_heartbeat_function_the_scheduler_is_not_checked(client, monkeypatch):
    monkeypatch.delattr(sched, "heartbeat_age", raising=False)
    assert client.get("/readyz").get_json()["checks"]["scheduler"] == "not checked"


def test_readyz_json_has_only_status_and_check_words(app, client):
    body = client.get("/readyz").get_json()
    assert set(body) == {"status", "checks"}
    assert set(body["checks"].values()) <= {health.OK, health.FAILED, health.NOT_CONFIGURED, health.NOT_CHECKED}
    assert json.dumps(body).isascii()


def test_shared_cache_hits_and_computations_are_counted(private_redis):
    """With Redis (a private redis-server), a second worker's answer from Redis is a shared hit, not a computation."""
    from maic.picture.cache import SharedCache
    from maic.redis_store import RedisStore

    server = private_redis
    results = ("hit", "miss", "shared_hit", "computed")
    before = {r: _value("maic_panel_cache_lookups_total", result=r) for r in results}
    workers = [SharedCache(PanelCache(), RedisStore(server.url, "metrics-test"), str.encode, bytes.decode)
               for _ in range(2)]
    try:
        assert workers[0].get(("rendered", "p", 1), lambda: "answer") == "answer"  # computed by the first
        assert workers[1].get(("rendered", "p", 1), lambda: "other") == "answer"  # found in Redis
        assert workers[1].get(("rendered", "p", 1), lambda: "other") == "answer"  # kept by the second now
    finally:
        for cache in workers:
            cache.store.close()
    after = {r: _value("maic_panel_cache_lookups_total", result=r) for r in results}
    assert {r: after[r] - before[r] for r in results} == {"hit": 1, "miss": 2, "shared_hit": 1, "computed": 1}
