"""A real server on 127.0.0.1 with the demo data, and Debian's Chromium driven by Playwright.

Browser tests carry the `browser` marker; they run in `make test` and in CI.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from maic.db import make_engine, make_session_factory, transaction
from maic.demo import create_demo_users, seed
from tests.fixtures import settings_for
from tests.live_server import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


# How long an assertion waits for the page to get there, as a person would wait. Playwright's 5 s default was
# too short for the map's first draw on two loaded cores (it failed a panel test at random); a page that never
# gets there still fails, 15 s later.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


# The browser tests that read fixed dates (weeks of 2024, Peterborough's figures) see the demo seeded on this day:
# its last week is the week of 18 November 2024, where the story is written.
PINNED_DEMO_DAY = dt.datetime(2024, 11, 27, 12, 0)


def _seeded_template(folder: Path, sqlite_template: Path, now: dt.datetime | None) -> tuple[Path, dict[str, str]]:
    path = folder / "maic.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        logins = create_demo_users(session)
    seed(factory, settings_for(folder), folder / "demo-returns", now=now)
    engine.dispose()
    return path, {username: password for username, password, _ in logins}


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory, sqlite_template) -> tuple[Path, dict[str, str]]:
    """The migrated template with the demo seed (pinned to PINNED_DEMO_DAY) ingested, built once per run."""
    return _seeded_template(tmp_path_factory.mktemp("demo"), sqlite_template, PINNED_DEMO_DAY)


@pytest.fixture(scope="session")
def demo_today_template(tmp_path_factory, sqlite_template) -> tuple[Path, dict[str, str]]:
    """The demo as `make run` seeds it: dated by the clock, so that its last week is last week."""
    return _seeded_template(tmp_path_factory.mktemp("demo-today"), sqlite_template, None)


def _serve(tmp_path: Path, template: Path, logins: dict[str, str]):
    from app import create_app

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(template, data_dir / "maic.db")
    app = create_app({"MAIC_DATA_DIR": str(data_dir), "MAIC_SECRET_KEY": "browser-test-secret",
                      "MAIC_LIVE_POLL_SECONDS": 2, "MAIC_NOTIFY_POLL_SECONDS": 2})
    with LiveServer(app) as server:
        server.logins = logins
        server.db_url = app.config["MAIC_DATABASE_URL"]
        server.data_dir = data_dir
        yield server


@pytest.fixture
def live_server(tmp_path, demo_template):
    yield from _serve(tmp_path, *demo_template)


@pytest.fixture
def live_server_today(tmp_path, demo_today_template):
    """A server on the demo seeded today (see demo_today_template)."""
    yield from _serve(tmp_path, *demo_today_template)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, server, username: str) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(server.logins[username])
    page.get_by_role("button", name="Sign in").click()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def ingest_next_week(server) -> None:
    """Probation's return for the week after the demo's latest (two areas of six), straight into the server's
    database while a dashboard is open, as a return from any door would arrive."""
    from maic.returns.ingest import Submission, ingest_return
    from tests.fixtures import csv_bytes

    engine = make_engine(server.db_url)
    try:
        ingest_return(make_session_factory(engine), Submission(
            csv_bytes([("2024-11-25", "E07000008", "releases_total", 11), ("2024-11-25", "E06000031", "releases_total", 6)]),
            "probation-next-week.csv", "probation-cambs", actor="test"), settings_for(server.data_dir))
    finally:
        engine.dispose()
