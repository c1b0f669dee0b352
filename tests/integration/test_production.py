"""The production start, over real HTTP: gunicorn with threaded workers as gunicorn.conf.py sets it up.

A restart, then 40 first page loads at once (the page and every JavaScript bundle it names) get no error, whichever
worker answers (plotly/dash issue 3971); /metrics adds up every worker's counts; behind one trusted proxy the
client's address and HTTPS come from X-Forwarded-*; production mode refuses to start without a secret key.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from maic.db import make_engine, make_session_factory
from tests.fixtures import login_as

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
LOADS = 40
SCRAPER = "10.9.9.9"
SCRIPT_SRC = re.compile(r'<script[^>]*\ssrc="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn started as `make prod` starts it (this repository's gunicorn.conf.py, from its folder)."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 2):
        self.env, self.log, self.workers = env, log, workers
        self.url = ""
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**self.env, "MAIC_BIND": f"127.0.0.1:{port}"}
        self.log.write_text("")
        with self.log.open("a") as out:
            self.proc = subprocess.Popen([str(GUNICORN), "app:create_app()"], cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        # Waits for the workers' own word, not a request: a request would do Dash's setup in that worker and
        # hide the very race this file tests.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if len(re.findall(r"worker \d+ ready", text)) >= self.workers:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn ended ({self.proc.returncode}):\n{text}")
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"gunicorn's workers were not ready in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _environment(tmp_path: Path, db_url: str, secret: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAIC_", "PROMETHEUS_"))}
    env.update({"MAIC_ENV": "production", "MAIC_SECRET_KEY": secret, "MAIC_DATABASE_URL": db_url,
                "MAIC_DATA_DIR": str(tmp_path / "data"), "MAIC_WORKERS": "2", "MAIC_THREADS": "4",
                "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), **extra})
    return env


@pytest.fixture
def signed_in_cookie(sqlite_url, data_dir):
    """A session cookie for an admin, signed with the server's key by the same app in this process, so that the
    first request any gunicorn worker sees is one of the test's page loads."""
    from app import create_app

    secret = secrets.token_hex(32)
    app = create_app({"TESTING": True, "MAIC_DATABASE_URL": sqlite_url, "MAIC_DATA_DIR": str(data_dir),
                      "MAIC_SECRET_KEY": secret})
    engine = make_engine(sqlite_url)
    try:
        client = app.test_client()
        login_as(client, make_session_factory(engine), "admin")
        cookie = client.get_cookie("session")
        assert cookie is not None
        yield secret, cookie.value
    finally:
        engine.dispose()
        app.extensions["maic.db"]["engine"].dispose()


def _first_page_loads(url: str, cookie: str) -> tuple[list[str], list[set[str]]]:
    """LOADS page loads started together, each fetching the page, then every script it names, as a browser does.
    Returns the errors seen and each page's set of scripts."""
    errors: list[str] = []
    scripts: list[set[str]] = []
    start = threading.Barrier(LOADS)

    def load() -> None:
        with requests.Session() as http:
            http.cookies.set("session", cookie, domain="127.0.0.1")
            try:
                start.wait(timeout=60)
                page = http.get(f"{url}/dash/", timeout=60, allow_redirects=False)
                if page.status_code != 200:
                    errors.append(f"page: {page.status_code}")
                    return
                found = set(SCRIPT_SRC.findall(page.text))
                scripts.append(found)
                for src in sorted(found):
                    bundle = http.get(url + src if src.startswith("/") else src, timeout=60)
                    if bundle.status_code != 200:
                        errors.append(f"{src}: {bundle.status_code} {bundle.text[:160]!r}")
            except requests.RequestException as exc:
                errors.append(f"{exc.__class__.__name__}: {exc}")

    threads = [threading.Thread(target=load) for _ in range(LOADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors, scripts


def _samples(url: str, headers: dict[str, str]) -> dict[tuple[str, tuple], float]:
    response = requests.get(f"{url}/metrics", headers=headers, timeout=30, allow_redirects=False)
    assert response.status_code == 200, response.status_code
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def test_first_page_loads_after_each_restart_get_no_error(tmp_path, sqlite_url, signed_in_cookie):
    secret, cookie = signed_in_cookie
    # One trusted proxy: the scraper is known by the X-Forwarded-For the proxy adds, never by its own address.
    server = Gunicorn(_environment(tmp_path, sqlite_url, secret, MAIC_PROXY_HOPS="1",
                                   MAIC_METRICS_ALLOW=f"{SCRAPER}/32"), tmp_path / "gunicorn.log")
    try:
        for attempt in ("first start", "after a restart"):
            server.start()
            errors, scripts = _first_page_loads(server.url, cookie)
            assert not errors, f"{attempt}: {len(errors)} errors, e.g. {errors[:5]}"
            assert len(scripts) == LOADS
            # Every page named the whole set of bundles (a page served in the race named none: a blank page).
            assert all(s == scripts[0] for s in scripts), f"{attempt}: pages named different scripts"
            assert any("/_dash-component-suites/dash/dash-renderer/" in s for s in scripts[0])
            assert any("/_dash-component-suites/dash/dcc/" in s for s in scripts[0])

            # Every worker's counts, added up: exactly the page loads of this start (a restart starts again).
            samples = _samples(server.url, {"X-Forwarded-For": SCRAPER})
            pages = samples[("maic_request_seconds_count", (("kind", "page"), ("target", "/dash/")))]
            assert pages == LOADS, attempt
            bundles = samples[("maic_request_seconds_count", (("kind", "static"), ("target", "")))]
            assert bundles == LOADS * len(scripts[0]), attempt
            server.stop()
    finally:
        server.stop()
    assert "Error loading dependency" not in (tmp_path / "gunicorn.log").read_text()


def test_behind_a_proxy_the_forwarded_address_and_https_count_only_for_the_trusted_hops(tmp_path, sqlite_url):
    secret = secrets.token_hex(32)
    server = Gunicorn(_environment(tmp_path, sqlite_url, secret, MAIC_PROXY_HOPS="1",
                                   MAIC_METRICS_ALLOW=f"{SCRAPER}/32"), tmp_path / "gunicorn.log", workers=1)
    server.start()
    try:
        def metrics_status(**headers: str) -> int:
            return requests.get(f"{server.url}/metrics", headers=headers, timeout=30, allow_redirects=False).status_code

        assert metrics_status(**{"X-Forwarded-For": SCRAPER}) == 200
        assert metrics_status() == 302  # 127.0.0.1, the proxy itself, is not the scraper: sign in first
        # A client's own X-Forwarded-For is not believed: the one trusted proxy appends the address it saw.
        assert metrics_status(**{"X-Forwarded-For": f"{SCRAPER}, 192.0.2.7"}) == 302

        # HTTPS at the proxy: the session cookie (it carries the sign-in form's CSRF secret) is Secure, and HSTS
        # is sent; over plain HTTP neither.
        secure = requests.get(f"{server.url}/login", headers={"X-Forwarded-Proto": "https"}, timeout=30)
        plain = requests.get(f"{server.url}/login", timeout=30)
        assert "Secure" in secure.headers["Set-Cookie"] and "HttpOnly" in secure.headers["Set-Cookie"]
        assert "Strict-Transport-Security" in secure.headers
        assert "Secure" not in plain.headers["Set-Cookie"]
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        server.stop()


def test_gunicorn_in_production_refuses_to_start_without_a_secret_key(tmp_path, sqlite_url):
    env = _environment(tmp_path, sqlite_url, "", MAIC_BIND=f"127.0.0.1:{_free_port()}")
    env.pop("MAIC_SECRET_KEY")
    done = subprocess.run([str(GUNICORN), "app:create_app()"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "error: MAIC_ENV is production but MAIC_SECRET_KEY is not set" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data" / "secret_key").exists()  # no key was made up for it


def test_the_procfile_runs_web_and_scheduler_whose_counts_the_web_shows(tmp_path, sqlite_url):
    """`make prod`'s last step: honcho runs the Procfile; the scheduler, its own process, counts its job runs
    where gunicorn's worker can add them up, and both stop together."""
    port = _free_port()
    env = _environment(tmp_path, sqlite_url, secrets.token_hex(32), MAIC_WORKERS="1", MAIC_BIND=f"127.0.0.1:{port}",
                       MAIC_METRICS_ALLOW="127.0.0.1/32", MAIC_ENV="development")  # the Procfile sets production
    env.pop("PROMETHEUS_MULTIPROC_DIR")  # both default it to MAIC_DATA_DIR/metrics
    env["PATH"] = f"{GUNICORN.parent}{os.pathsep}{env.get('PATH', '')}"
    log = tmp_path / "honcho.log"
    with log.open("w") as out:
        honcho = subprocess.Popen([str(GUNICORN.parent / "honcho"), "--no-colour", "start", "-f", "Procfile"],
                                  cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        runs: dict[str, float] = {}
        while time.monotonic() < deadline and honcho.poll() is None:
            if "ready" in log.read_text():
                samples = _samples(f"http://127.0.0.1:{port}", {})
                runs = {dict(labels)["job"]: value for (name, labels), value in samples.items()
                        if name == "maic_scheduler_job_runs_total" and dict(labels)["outcome"] == "ok"}
                if "inbox-scan" in runs:
                    break
            time.sleep(0.5)
        text = log.read_text()
        assert runs.get("inbox-scan", 0) >= 1, text
        assert "scheduler lock taken" in text
        ready = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        assert (tmp_path / "data" / "metrics").is_dir()
    finally:
        honcho.send_signal(signal.SIGINT)
        try:
            honcho.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait()
    text = log.read_text()
    assert "web.1 stopped" in text and "scheduler.1 stopped" in text
