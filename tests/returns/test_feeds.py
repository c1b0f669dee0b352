"""Feeds pulled from a real HTTP server on 127.0.0.1: token, retries, conditional requests, refusals."""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from maic.cli import main
from maic.db import transaction
from maic.errors import MaicError
from maic.feeds import ACCEPTED, FAILED, REFUSED, UNCHANGED, FeedSettings, add_feed, pull_due_feeds, pull_feed
from maic.fetch import FetchPolicy
from maic.models import Feed, Observation, Return
from tests.fixtures import csv_bytes, settings_for

BODY = csv_bytes([("2024-09-09", "E07000008", "releases_total", 7)])
TOKEN = "s3cret-feed-token"


class FeedServer:
    def __init__(self):
        self.body = BODY
        self.etag = '"v1"'
        self.fail_next = 0
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802  (the http.server API)
                server.requests.append(dict(self.headers))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self.send_response(401)
                    self.end_headers()
                    return
                if server.fail_next:
                    server.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == server.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("ETag", server.etag)
                self.send_header("Last-Modified", "Mon, 16 Sep 2024 08:00:00 GMT")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *_args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/returns/probation.csv"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server():
    server = FeedServer()
    yield server
    server.close()


def feed_settings(data_dir, **kw):
    # The feed server is on this machine: its loopback network is allowed, as MAIC_FETCH_ALLOW_NETWORKS would.
    kw.setdefault("fetch", FetchPolicy.from_config({"MAIC_FETCH_ALLOW_NETWORKS": "127.0.0.0/8"}))
    return FeedSettings(ingest=settings_for(data_dir), data_dir=data_dir, timeout_seconds=5, retries=2,
                        backoff_seconds=0.01, **kw)


def new_feed(factory, url, token=TOKEN) -> int:
    with transaction(factory) as session:
        return add_feed(session, url, "probation-cambs", token=token, interval_seconds=600).id


def test_pull_ingests_then_an_unchanged_feed_costs_nothing(factory, data_dir, feed_server):
    feed_id = new_feed(factory, feed_server.url)
    first = pull_feed(factory, feed_id, feed_settings(data_dir))
    assert first.outcome == ACCEPTED and first.return_id
    second = pull_feed(factory, feed_id, feed_settings(data_dir))
    assert second.outcome == UNCHANGED
    assert feed_server.requests[-1]["If-None-Match"] == '"v1"'
    assert feed_server.requests[-1]["If-Modified-Since"] == "Mon, 16 Sep 2024 08:00:00 GMT"
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Return)) == 1
        ret = session.scalar(sa.select(Return))
        assert (ret.source, ret.filename) == ("feed", "probation.csv")
        feed = session.get(Feed, feed_id)
        assert (feed.etag, feed.last_outcome) == ('"v1"', UNCHANGED)
    feed_server.body, feed_server.etag = csv_bytes([("2024-09-09", "E07000008", "releases_total", 9)]), '"v2"'
    assert pull_feed(factory, feed_id, feed_settings(data_dir)).outcome == ACCEPTED
    with factory() as session:
        assert session.scalar(sa.select(Observation.value).where(Observation.superseded_at.is_(None))) == 9


def test_server_errors_are_retried_with_backoff(factory, data_dir, feed_server):
    feed_id = new_feed(factory, feed_server.url)
    feed_server.fail_next = 2
    assert pull_feed(factory, feed_id, feed_settings(data_dir)).outcome == ACCEPTED
    assert len(feed_server.requests) == 3
    feed_server.fail_next = 5
    feed_server.etag = '"v9"'
    result = pull_feed(factory, feed_id, feed_settings(data_dir))
    assert result.outcome == FAILED and "HTTP 503 (after 3 attempts)" in result.message


def test_a_wrong_token_and_an_unreachable_feed_fail_clearly(factory, data_dir, feed_server):
    bad = new_feed(factory, feed_server.url, token="wrong")
    assert "HTTP 401" in pull_feed(factory, bad, feed_settings(data_dir)).message
    with transaction(factory) as session:
        dead = add_feed(session, "http://127.0.0.1:1/x.csv", "cgl-cambs", interval_seconds=600).id
    result = pull_feed(factory, dead, feed_settings(data_dir))
    assert result.outcome == FAILED and "ConnectionError" in result.message


def test_a_refused_body_is_quarantined_with_its_report(factory, data_dir, feed_server):
    feed_server.body = csv_bytes([("2024-09-09", "E07000008", "releases_total", "lots")])
    feed_id = new_feed(factory, feed_server.url)
    result = pull_feed(factory, feed_id, feed_settings(data_dir))
    assert result.outcome == REFUSED
    reports = list((data_dir / "quarantine" / "feeds" / "probation-cambs").glob("*.errors.txt"))
    assert len(reports) == 1 and "'lots' is not a number" in reports[0].read_text()


def test_only_due_feeds_are_pulled(factory, data_dir, feed_server):
    feed_id = new_feed(factory, feed_server.url)
    assert [r.feed_id for r in pull_due_feeds(factory, feed_settings(data_dir))] == [feed_id]
    assert pull_due_feeds(factory, feed_settings(data_dir)) == []
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(seconds=601)
    assert [r.outcome for r in pull_due_feeds(factory, feed_settings(data_dir), now=later)] == [UNCHANGED]


def test_add_feed_checks_its_input(factory):
    with pytest.raises(MaicError, match="not an http"), transaction(factory) as session:
        add_feed(session, "file:///etc/passwd", "probation-cambs")


def test_cli_feeds_add_list_pull(db_url, data_dir, factory, feed_server, monkeypatch):
    monkeypatch.setenv("MAIC_DATABASE_URL", db_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    monkeypatch.setenv("FEED_TOKEN", TOKEN)
    runner = CliRunner()
    added = runner.invoke(main, ["feeds", "add", feed_server.url, "--agency", "probation-cambs", "--every", "600",
                                 "--token-env", "FEED_TOKEN"])
    assert added.exit_code == 0, added.output
    refused = runner.invoke(main, ["feeds", "pull"])
    assert "on the server's own networks" in refused.output and feed_server.requests == []
    monkeypatch.setenv("MAIC_FETCH_ALLOW_NETWORKS", "127.0.0.0/8")  # the admin allows this host's loopback
    pulled = runner.invoke(main, ["feeds", "pull", "--id", "1"])
    assert pulled.exit_code == 0 and ": accepted: return" in pulled.output, pulled.output
    listed = runner.invoke(main, ["feeds", "list"])
    assert "probation-cambs" in listed.output and "token: yes" in listed.output and TOKEN not in listed.output


def test_a_feed_on_the_servers_own_networks_is_refused_unless_allowed(factory, data_dir, feed_server):
    feed_id = new_feed(factory, feed_server.url)
    for url in (feed_server.url, "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/x.csv",
                "http://10.1.2.3/x.csv", "http://localhost:9/x.csv"):
        with transaction(factory) as session:
            session.get(Feed, feed_id).url = url
        result = pull_feed(factory, feed_id, feed_settings(data_dir, fetch=FetchPolicy()))
        assert result.outcome == FAILED and "on the server's own networks" in result.message, (url, result)
    assert feed_server.requests == []  # refused before connecting
    with transaction(factory) as session:
        session.get(Feed, feed_id).url = feed_server.url
    assert pull_feed(factory, feed_id, feed_settings(data_dir)).outcome == ACCEPTED  # allowed: 127.0.0.0/8
