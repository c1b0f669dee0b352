"""Stored text (file names, people's names) is shown as text in Chromium: never a link, never a table of its own."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from maic.db import make_engine, make_session_factory
from maic.models import ReturnSource, User
from maic.returns.ingest import Submission, ingest_return
from tests.browser.conftest import screenshot, sign_in
from tests.fixtures import csv_bytes, settings_for

PHISH = ("f2\n\n[Session expired - sign in again](https://evil.example/phish)\n\n| Return | Value |\n|---|---|\n"
         "| 999 | 123456 |\n\n.csv")


def test_a_file_name_and_a_display_name_with_markdown_show_as_text_in_the_drill_down(live_server, page):
    engine = make_engine(live_server.db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session, session.begin():
            # A display name as it could have been stored before names were checked at the door.
            analyst = session.scalar(sa.select(User).where(User.username == "analyst"))
            session.execute(sa.update(User).where(User.id == analyst.id).values(
                display_name="Ann\n\n[Click here](https://evil.example/who)\n\n\u202eelif"))
            analyst_id = analyst.id
        ingest_return(factory, Submission(
            csv_bytes([("2024-11-18", "E07000008", "releases_total", 9)]), PHISH, "probation-cambs",
            source=ReturnSource.UPLOAD, user_id=analyst_id, actor="analyst"), settings_for(live_server.data_dir))
    finally:
        engine.dispose()

    sign_in(page, live_server, "viewer")
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"\d"), timeout=20_000)
    page.get_by_role("button", name="Returns behind Released this week", exact=True).click()
    drill = page.locator("#drill-panel")
    expect(drill).to_contain_text("Returns behind: Released this week", timeout=15_000)
    expect(drill).to_contain_text("f2 [Session expired - sign in again](https://evil.example/phish) | Return | Value |")
    expect(drill).to_contain_text("Ann [Click here](https://evil.example/who) elif")
    screenshot(page, "drill-stored-text")
    assert page.locator("a[href*='evil.example']").count() == 0
    # One table only, with no cell holding the forged figure on its own.
    expect(drill.locator("table")).to_have_count(1)
    expect(drill.locator("td", has_text=re.compile(r"^123456$"))).to_have_count(0)
    expect(drill.locator("th", has_text=re.compile(r"^999$"))).to_have_count(0)
    assert "\u202e" not in drill.inner_text()
    page.set_viewport_size({"width": 390, "height": 844})
    expect(drill).to_contain_text("f2 [Session expired")
    screenshot(page, "drill-stored-text-phone")
