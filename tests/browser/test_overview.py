"""A person signs in and reads the headline tiles, in Debian's Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def test_viewer_signs_in_and_sees_headline_tiles_with_real_numbers(live_server, page):
    sign_in(page, live_server, "viewer")
    expect(page).to_have_url(re.compile(r"/dash/$"))
    expect(page.get_by_text("Cambridgeshire & Peterborough LRF")).to_be_visible()
    expect(page.get_by_text("OFFICIAL-SENSITIVE").first).to_be_visible()
    tile = page.locator("#tile-released_week")
    expect(tile).to_contain_text("Released this week", timeout=15_000)
    assert re.search(r"\d", tile.locator(".value").inner_text())
    expect(page.locator("#tile-released_to_date .value")).to_have_text(re.compile(r"^\d[\d,]* people\s*$"))
    expect(page.get_by_text("Week beginning Mon 18 Nov 2024", exact=True)).to_be_visible()
    expect(page.get_by_text("14 of 14 returns in")).to_be_visible()
    screenshot(page, "overview-1366")


def test_choosing_an_earlier_week_shows_its_figures(live_server, page):
    sign_in(page, live_server, "viewer")
    expect(page.locator("#tile-released_week")).to_be_visible(timeout=15_000)
    page.locator("#week-picker").click()
    page.get_by_text("Week beginning Mon 14 Oct 2024", exact=True).click()
    # East Cambridgeshire housing is missing: the header and every tile say the week is incomplete
    expect(page.locator("#headline-asat .week-incomplete")).to_contain_text("Incomplete week: 13 of 14 returns in")
    expect(page.locator("#tile-released_week .tile-warning")).to_contain_text("13 of 14 returns in")


def test_wrong_password_stays_on_login_with_a_message(live_server, page):
    page.goto(live_server.url + "/login")
    page.get_by_label("Username").fill("viewer")
    page.get_by_label("Password").fill("wrong password here")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an active account")


def test_an_odd_link_opens_the_incidents_weeks_and_says_what_changed(live_server, page, browser):
    sign_in(page, live_server, "viewer")
    expect(page.locator("#tile-released_week")).to_be_visible(timeout=15_000)
    page.goto(live_server.url + "/dash/?from=0001-01-01&to=9999-12-20&area=NOWHERE")
    alert = page.locator("#alert")
    expect(alert).to_contain_text("From week 0001-01-01 is before the incident's first week", timeout=15_000)
    expect(alert).to_contain_text("Week 9999-12-20 is after the latest week with returns: showing 18 Nov 2024.")
    expect(alert).to_contain_text("Area 'NOWHERE' is not an area of this picture: showing all areas.")
    expect(page.locator("#headline-asat")).to_contain_text("Week beginning Mon 18 Nov 2024")
    expect(page.locator("#completeness-panel")).to_contain_text("weeks and", timeout=15_000)
    screenshot(page, "odd-link-1366")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "odd-link-390")
