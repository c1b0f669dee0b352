"""Webhooks: a real receiver on 127.0.0.1 checks the HMAC-SHA256 signature of every POST; a receiver that
fails is tried again later; an address on the server's own networks is refused unless allowed."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from maic import notify
from maic.db import transaction
from maic.fetch import FetchPolicy
from maic.models import Notification, NotifyState, utcnow
from maic.notify.send import deliver_due
from tests.notify.conftest import person, send_settings

SECRET = "a shared secret the bridge also holds"


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's hook name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = receiver.answers.pop(0) if receiver.answers else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def verified(headers: dict, body: bytes, secret: str) -> bool:
    """What a bridge does: recompute the signature over '<timestamp>.<body>' and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), headers["x-maic-timestamp"].encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-maic-signature"])


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def test_a_webhook_post_is_signed_and_sent_once_after_a_failure(factory, receiver):
    person(factory, "analyst")
    settings = send_settings(None, webhooks={"maic": receiver.url}, webhook_secret=SECRET,
                             fetch=FetchPolicy.allowing("127.0.0.0/8"))
    with transaction(factory) as session:
        notify.pack_revised(session, 4, "SCG pack <Tuesday>", "/dash/briefings/4", cause="return:12",
                            changed=["Households in emergency or temporary accommodation, Cambridge"])
    receiver.answers = [503]
    first = deliver_due(factory, settings)
    assert first.retrying == 1 and first.sent == 0  # the analyst has no address: the webhook is the one to send
    assert rows_state(factory) == [NotifyState.PENDING]
    later = deliver_due(factory, settings, now=utcnow() + dt.timedelta(seconds=61))
    assert later.sent == 1 and len(receiver.received) == 2
    headers, body = receiver.received[-1]
    assert verified(headers, body, SECRET)
    assert not verified(headers, body, "another secret")  # the check has teeth
    assert not verified(headers, body.replace(b"Tuesday", b"Wednes"), SECRET)  # so does a changed body
    payload = json.loads(body)
    assert payload["kind"] == "pack_revised" and payload["audience"] == "maic"
    assert payload["subject"] == "OFFICIAL-SENSITIVE: Issued pack revised since: SCG pack <Tuesday>"
    assert payload["link"] == "https://maic.lrf.example/dash/briefings/4"
    assert headers["x-maic-delivery"] == str(payload["id"]) and headers["content-type"] == "application/json"
    assert deliver_due(factory, settings, now=utcnow() + dt.timedelta(hours=3)).sent == 0
    assert len(receiver.received) == 2


def test_a_webhook_on_the_servers_own_network_is_refused_unless_allowed(factory, receiver):
    with transaction(factory) as session:
        notify.pack_issued(session, 1, "Pack", "/dash/briefings/1")
    refused = deliver_due(factory, send_settings(None, webhooks={"scg": receiver.url}, webhook_secret=SECRET))
    assert refused.retrying == 1 and receiver.received == []
    with factory() as session:
        error = session.scalar(sa.select(Notification.last_error).where(Notification.channel == "webhook"))
    assert "MAIC_FETCH_ALLOW_NETWORKS" in error


def rows_state(factory) -> list[str]:
    with factory() as session:
        return list(session.scalars(sa.select(Notification.state).where(Notification.channel == "webhook")))
