"""The picture with the neighbours in scope, and each role's bookmarks, as people use them in Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, sign_in


def test_the_heatmap_of_home_and_neighbours_labels_every_area_in_lrf_blocks(live_server, page):
    sign_in(page, live_server, "viewer")
    expect(page.locator("#pressure-panel .summary")).to_be_visible(timeout=20_000)
    expect(page.locator(".loading-panel #pressure-panel")).to_have_count(1)  # a waiting panel shows it
    page.get_by_text("Home + neighbours").click()
    expect(page).to_have_url(re.compile(r"scope=neighbours"), timeout=20_000)
    expect(page.locator("#releases-panel .summary")).to_contain_text("of 54 areas", timeout=20_000)
    heatmap = page.locator("#pressure-panel .js-plotly-plot").first
    expect(heatmap.locator(".xtick text")).to_have_count(54, timeout=20_000)
    labels = heatmap.locator(".xtick text").all_text_contents()
    assert "Cambridge" in labels and "Norwich" in labels, labels
    notes = heatmap.locator(".annotation-text").all_text_contents()
    assert any("Cambridgeshire" in n for n in notes) and any("Norfolk" in n for n in notes), notes
    # The labels do not overlap: each starts right of where the one before it started.
    lefts = [box["x"] for box in (t.bounding_box() for t in heatmap.locator(".xtick text").all()) if box]
    assert all(b > a for a, b in zip(lefts, lefts[1:], strict=False)), lefts
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator("#panel-pressure").screenshot(path=str(SCREENSHOTS / "pressure-neighbours-1366.png"))


def test_each_role_is_sent_to_a_page_it_can_use(live_server, page):
    sign_in(page, live_server, "viewer")
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"\d"), timeout=20_000)
    page.goto(live_server.url + "/dash/admin")
    expect(page).to_have_url(re.compile(r"/dash/$"))
    expect(page.get_by_text("Forbidden")).to_have_count(0)
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"\d"), timeout=20_000)
    # A link inside the app to a page the role cannot use names the page it can.
    page.evaluate("window.history.pushState({}, '', '/dash/admin'); window.dispatchEvent(new PopStateEvent('popstate'))")
    expect(page.get_by_role("heading", name="This page is not open to your role")).to_be_visible(timeout=10_000)
    expect(page.get_by_role("link", name="Common picture").last).to_be_visible()
