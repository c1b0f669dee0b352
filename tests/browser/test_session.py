"""A dashboard left open: it keeps updating past an hour (the server's clock moved on in steps while the page
polls), and when its session ends elsewhere it says so and offers sign-in, in Debian's Chromium."""

from __future__ import annotations

import re

import pytest
from itsdangerous.timed import TimestampSigner
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, ingest_next_week, screenshot, sign_in
from tests.browser.test_picture import open_picture

UPDATE = "/_dash-update-component"


@pytest.fixture
def server_clock(monkeypatch):
    """Moves the server's clock for everything it signs and checks by time (session and CSRF cookies)."""
    real = TimestampSigner.get_timestamp
    offset = {"seconds": 0}
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + offset["seconds"])
    return offset


def _next_poll(page):
    """Waits for the dashboard's next live check to come back and returns its status."""
    with page.expect_response(lambda r: UPDATE in r.url and "data-version" in (r.request.post_data or ""),
                              timeout=15_000) as poll:
        pass
    return poll.value.status


def test_a_dashboard_left_open_for_over_an_hour_keeps_updating(live_server, page, server_clock):
    open_picture(page, live_server)
    failures = []
    page.on("response", lambda r: failures.append((r.status, r.url)) if UPDATE in r.url and r.status >= 400 else None)
    # Seventy minutes pass in ten-minute steps; the page polls in each (as it does every few seconds all day).
    for _ in range(7):
        server_clock["seconds"] += 600
        assert _next_poll(page) < 400
    ingest_next_week(live_server)
    # The new week reaches the open dashboard: offered in the week picker as in progress (the picture stays on the
    # last week mostly in), and a person can still open it and choose another.
    page.locator("#week-picker").click()
    page.get_by_role("option", name=re.compile(r"Week beginning Mon 25 Nov 2024 \(in progress")).click()
    expect(page.locator("#headline-asat")).to_contain_text("Week beginning Mon 25 Nov 2024", timeout=15_000)
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"^17\b"), timeout=15_000)
    page.locator("#week-picker").click()
    page.get_by_role("option", name=re.compile("Week beginning Mon 14 Oct 2024")).click()
    expect(page.locator("#headline-asat")).to_contain_text("13 of 14 returns in", timeout=15_000)
    assert failures == []
    expect(page.locator("#session-ended")).to_have_count(0)


def test_an_open_dashboard_says_when_it_was_signed_out_elsewhere(live_server, page, browser):
    open_picture(page, live_server)
    elsewhere = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        other = elsewhere.new_page()
        sign_in(other, live_server, "viewer")
        expect(other).to_have_url(re.compile(r"/dash/$"))
        other.get_by_role("button", name="Sign out").click()
        expect(other).to_have_url(re.compile(r"/login"))
    finally:
        elsewhere.close()
    notice = page.get_by_role("alert").filter(has_text="Signed out")
    expect(notice).to_contain_text("Signed out — sign in again", timeout=15_000)
    expect(notice).to_contain_text("stopped updating at")
    screenshot(page, "signed-out-notice-1366")
    link = notice.get_by_role("link", name="sign in again")
    expect(link).to_have_attribute("href", "/login?next=%2Fdash%2F")
    link.click()
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill(live_server.logins["viewer"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dash/$"))
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"\d"), timeout=20_000)
    expect(page.locator("#session-ended")).to_have_count(0)


def test_the_signed_out_notice_on_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        open_picture(page, live_server)
        context.clear_cookies()  # signed out in another tab of this browser
        notice = page.get_by_role("alert").filter(has_text="Signed out")
        expect(notice).to_be_visible(timeout=15_000)
        page.mouse.wheel(0, 1500)  # it stays in view over the figures as the person scrolls
        expect(notice).to_be_in_viewport()
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "signed-out-notice-390.png"))
    finally:
        context.close()
