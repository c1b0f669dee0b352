"""The admin page as an admin uses it: one threshold changed and nothing else, roles in words, a page that fits."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect

from maic.db import make_engine
from tests.browser.conftest import SCREENSHOTS, sign_in

HOUSEHOLDS_IN_TA = "Households in emergency or temporary accommodation"


def _settings(server, key: str) -> tuple:
    engine = make_engine(server.db_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text("SELECT shareable, rag_amber, rag_red FROM metric WHERE key = :k"),
                                      {"k": key}).one())
    finally:
        engine.dispose()


def _open_admin(page, server) -> None:
    sign_in(page, server, "admin")
    page.goto(server.url + "/dash/admin")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible(timeout=15_000)


def _choose_metric(page, label: str) -> None:
    page.locator("#admin-metric-key").click()
    page.get_by_role("option", name=label, exact=True).click()


def test_changing_one_threshold_keeps_the_rest_and_every_open_picture_follows(live_server, browser, page):
    viewer = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    sign_in(viewer, live_server, "viewer")
    pressure = viewer.locator("#pressure-panel")
    expect(pressure).to_contain_text(f"{HOUSEHOLDS_IN_TA} (amber from 90%", timeout=20_000)

    _open_admin(page, live_server)
    _choose_metric(page, HOUSEHOLDS_IN_TA)
    # The current settings are loaded, with what the numbers mean.
    expect(page.locator("#admin-metric-shareable input")).to_be_checked(timeout=10_000)
    expect(page.locator("#admin-metric-amber")).to_have_value("0.9")
    expect(page.locator("#admin-metric-red")).to_have_value("1")
    expect(page.locator("#admin-metric-unit")).to_contain_text("a share of Emergency and temporary accommodation "
                                                               "capacity")
    page.locator("#admin-metric-amber").fill("0.85")
    page.get_by_role("button", name="Save metric settings").click()
    message = page.locator("#admin-metric-message")
    expect(message).to_contain_text("Before: shared: yes, amber at 0.9, red at 1.", timeout=10_000)
    expect(message).to_contain_text("After: shared: yes, amber at 0.85, red at 1.")
    assert _settings(live_server, "households_in_ta") == (True, 0.85, 1.0)
    message.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "admin-metric-saved-1366.png"))

    # The picture already open moves to the new rule at its next live poll.
    expect(pressure).to_contain_text(f"{HOUSEHOLDS_IN_TA} (amber from 85%", timeout=20_000)

    # Taking something away is shown before and after, and waits for a yes.
    page.locator("#admin-metric-shareable input").uncheck()
    page.locator("#admin-metric-red").fill("")
    page.get_by_role("button", name="Save metric settings").click()
    review = page.locator("#admin-metric-review")
    expect(review).to_be_visible(timeout=10_000)
    expect(review).to_contain_text("neighbouring LRFs will no longer see this metric")
    expect(review).to_contain_text("the red threshold is removed")
    expect(review).to_contain_text("After: shared: no, amber at 0.85, red at none")
    review.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "admin-metric-review-1366.png"))
    page.get_by_role("button", name="Cancel").click()
    expect(review).to_be_hidden()
    assert _settings(live_server, "households_in_ta") == (True, 0.85, 1.0)
    page.get_by_role("button", name="Save metric settings").click()
    page.get_by_role("button", name="Yes, save this change").click()
    expect(page.locator("#admin-metric-message")).to_contain_text("After: shared: no", timeout=10_000)
    assert _settings(live_server, "households_in_ta") == (False, 0.85, None)
    page.locator("#admin-audit-actor").fill("admin")
    page.locator("#admin-audit-actor").press("Enter")
    expect(page.locator("#admin-audit-table")).to_contain_text(
        "shareable=True amber=0.9 red=1.0 -> shareable=True amber=0.85 red=1.0", timeout=10_000)
    viewer.context.close()


def test_roles_are_words_and_the_page_fits_a_laptop_and_a_phone(live_server, page):
    _open_admin(page, live_server)
    users = page.locator("#admin-body table").first
    expect(users).to_contain_text("Agency lead")
    expect(users).not_to_contain_text("agency_lead")
    expect(page.locator("#admin-token-scope")).to_contain_text("cannot upload")
    # The role change has its own fields, next to the user it changes.
    page.locator("#admin-user-id").click()
    page.get_by_role("option", name="viewer (Viewer)", exact=True).click()
    page.locator("#admin-role-set").click()
    page.get_by_role("option", name="Analyst", exact=True).click()
    page.get_by_role("button", name="Change role").click()
    expect(page.locator("#admin-message")).to_contain_text("'viewer' is now analyst", timeout=10_000)
    for width, height in ((1366, 768), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"the admin page is {scroll}px wide on a {width}px screen"
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(SCREENSHOTS / f"admin-top-{width}.png"))
