"""The demo seeded once (SQLite, pinned to the browser tests' day) for the briefing tests, and a fresh copy per test
with an app on it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from maic.db import make_engine, make_session_factory, transaction
from maic.demo import create_demo_users, seed
from tests.fixtures import settings_for

DEMO_DAY = dt.datetime(2024, 11, 27, 12, 0)
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def briefing_demo(tmp_path_factory, sqlite_template) -> Path:
    folder = tmp_path_factory.mktemp("briefing-demo")
    path = folder / "maic.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        create_demo_users(session)
    seed(factory, settings_for(folder), folder / "demo-returns", now=DEMO_DAY)
    engine.dispose()
    return path


@pytest.fixture
def demo_app(tmp_path, briefing_demo):
    from app import create_app

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(briefing_demo, data_dir / "maic.db")
    app = create_app({"TESTING": True, "MAIC_DATA_DIR": str(data_dir), "MAIC_SECRET_KEY": "briefing-test-secret"})
    yield app
    app.extensions["maic.db"]["engine"].dispose()


@pytest.fixture
def demo_factory(demo_app):
    return make_session_factory(demo_app.extensions["maic.db"]["engine"])


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser-deps` (apt-get install chromium)")
    return CHROMIUM
