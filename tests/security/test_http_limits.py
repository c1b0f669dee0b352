"""Over real HTTP (a live server on a free port): oversized bodies are refused with 413 from their
Content-Length, before the server reads them; and no answer names the server's software or version.

Served as `maic serve` serves (Werkzeug's server with maic.web.serving's handler), not waitress (the other
tests' server), which reads a whole body before the app sees the request."""

from __future__ import annotations

import base64
import socket
import threading

import pytest
import requests

from maic.web.limits import FORM_BYTES, callback_limit
from maic.web.serving import make_server
from tests.fixtures import csrf_from, make_user
from tests.security.conftest import make_app

HUGE = 300 * 1024 * 1024


class DevServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def server(sqlite_url, data_dir):
    live = DevServer(make_app(sqlite_url, data_dir, TESTING=False, MAIC_MAX_UPLOAD_BYTES=30_000))
    live.thread.start()
    yield live
    live.server.shutdown()
    live.server.server_close()
    live.thread.join(timeout=10)
    live.app.extensions["maic.db"]["engine"].dispose()


def raw_exchange(server, head: str, body_start: bytes = b"") -> bytes:
    """Send a request's head (and at most the first bytes of its body), then read the whole answer. A server
    that tried to read the promised body would wait for it, and the read here would time out."""
    port = server.port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head.encode("latin-1") + body_start)
        conn.settimeout(10)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def status_and_headers(answer: bytes) -> tuple[int, dict[str, str]]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(head[0].split()[1]), headers


def signed_in_cookies(server, role: str = "viewer") -> requests.Session:
    from maic.db import make_engine, make_session_factory

    engine = make_engine(server.app.config["MAIC_DATABASE_URL"])
    username = make_user(make_session_factory(engine), role)
    engine.dispose()
    http = requests.Session()
    token = csrf_from(http.get(server.url + "/login", timeout=10).text)
    signed = http.post(server.url + "/login", timeout=10, allow_redirects=False,
                       data={"csrf_token": token, "username": username, "password": "correct horse battery staple"})
    assert signed.status_code == 302
    http.get(server.url + "/dash/", timeout=10)  # the CSRF cookie Dash sends back
    return http


def test_a_huge_callback_body_is_refused_before_it_is_read(server):
    http = signed_in_cookies(server)
    cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    head = (f"POST /dash/_dash-update-component HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Cookie: {cookies}\r\nX-CSRFToken: {http.cookies.get('_csrf_token')}\r\n"
            f"Content-Length: {HUGE}\r\n\r\n")
    status, headers = status_and_headers(raw_exchange(server, head, b'{"output": "'))
    assert status == 413
    assert "server" not in headers


def test_a_huge_form_post_is_refused_before_it_is_read(server):
    for path in ("/login", "/logout"):
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {HUGE}\r\n\r\n")
        status, _ = status_and_headers(raw_exchange(server, head, b"username=a&"))
        assert status == 413, path
    # A form a little over its limit is refused too; a sign-in form is far under it.
    over = requests.post(server.url + "/login", data={"username": "x" * FORM_BYTES}, timeout=10)
    assert over.status_code == 413 and "bytes this address accepts" in over.text


def test_the_largest_upload_fits_and_the_limit_follows_the_upload_setting(server):
    limit = callback_limit(30_000)
    http = signed_in_cookies(server, "analyst")
    contents = "data:text/csv;base64," + base64.b64encode(b"w" * 30_000).decode()
    body = {"output": "x.children", "outputs": {"id": "x", "property": "children"},
            "inputs": [{"id": "returns-upload", "property": "contents", "value": contents}],
            "changedPropIds": ["returns-upload.contents"], "state": []}
    headers = {"X-CSRFToken": http.cookies.get("_csrf_token")}
    fits = http.post(server.url + "/dash/_dash-update-component", json=body, headers=headers, timeout=10)
    assert fits.status_code != 413  # the file reached the app (which answers for itself)
    body["inputs"][0]["value"] = "data:text/csv;base64," + "A" * limit
    refused = http.post(server.url + "/dash/_dash-update-component", json=body, headers=headers, timeout=10)
    assert refused.status_code == 413
    assert refused.json()["status"] == 413 and "30,000 bytes" in refused.json()["message"]


def test_no_answer_names_the_server_software(server):
    answers = [requests.get(server.url + path, timeout=10) for path in ("/login", "/no-such-page", "/api/v1/version",
                                                                         "/static/a11y.js")]
    for answer in answers:
        assert "Server" not in answer.headers, (answer.url, answer.headers.get("Server"))
    # Answers the app never sees (a header line too long to parse) come from the server itself.
    status, headers = status_and_headers(raw_exchange(server, f"GET / HTTP/1.1\r\nX-Long: {'a' * 70_000}\r\n\r\n"))
    assert status == 431 and "server" not in headers


def test_maic_serve_does_not_name_the_server_software(sqlite_url, data_dir):
    import os
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "MAIC_DATABASE_URL": sqlite_url, "MAIC_DATA_DIR": str(data_dir),
           "MAIC_SECRET_KEY": "serve-test-secret"}
    process = subprocess.Popen([sys.executable, "-m", "maic.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "maic serve did not start"
                time.sleep(0.2)
        assert answer.status_code == 200 and "Server" not in answer.headers
        assert "Server" not in requests.get(f"http://127.0.0.1:{port}/nowhere", timeout=5).headers
    finally:
        process.terminate()
        process.wait(timeout=10)
