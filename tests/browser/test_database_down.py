"""An open page while the database is down says so, in Debian's Chromium, and recovers by itself once it is back.

The app runs on a PostgreSQL of the test's own (tests/services.py), which the test stops and starts.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures import PASSWORD, make_user
from tests.live_server import LiveServer
from tests.services import migrated_database, postgres_missing, private_postgres


def test_a_page_says_the_database_is_unavailable_and_recovers(page, tmp_path):
    reason = postgres_missing()
    if reason:
        pytest.skip(f"no private PostgreSQL: {reason}")
    from app import create_app

    with private_postgres() as pg:
        url = migrated_database(pg)
        app = create_app({"TESTING": True, "MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(tmp_path / "data"),
                          "MAIC_SECRET_KEY": "browser-db-down-secret"})
        admin = make_user(app.extensions["maic.db"]["factory"], "admin")
        with LiveServer(app) as server:
            page.goto(server.url + "/login")
            page.get_by_label("Username").fill(admin)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.goto(server.url + "/dash/admin/scheduler")
            status = page.locator("#scheduler-status")
            expect(status).to_contain_text("The scheduler has never run on this database")
            pg.stop()
            page.get_by_role("button", name="Refresh").click()
            notice = page.locator("#session-ended")
            expect(notice).to_contain_text("Database unavailable")
            expect(notice).to_contain_text("press Commit again")
            pg.start()
            page.get_by_role("button", name="Refresh").click()
            expect(notice).to_have_count(0)
            expect(status).to_contain_text("The scheduler has never run on this database")
