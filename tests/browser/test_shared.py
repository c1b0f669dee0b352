"""The neighbour's shared view and the admin page in Chromium, under the Content-Security-Policy."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in


def _watch_csp(page) -> list[str]:
    """Collect CSP violations and console errors: a page that works only with inline scripts would show here."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_the_neighbour_sees_only_the_shared_view_with_suppressed_figures(live_server, page):
    problems = _watch_csp(page)
    sign_in(page, live_server, "norfolk.neighbour")
    expect(page).to_have_url(re.compile(r"/dash/shared$"))
    expect(page.get_by_role("heading", name=re.compile("Shared picture"))).to_be_visible(timeout=15_000)
    table = page.locator("table.shared")
    expect(table).to_be_visible(timeout=15_000)
    expect(table.locator("td.suppressed").first).to_have_text("<5")
    expect(table).to_contain_text("All areas (Cambridgeshire & Peterborough LRF)")
    expect(page.locator("nav.nav a")).to_have_count(1)  # the shared view is all a neighbour has
    expect(page.get_by_text("OFFICIAL-SENSITIVE").first).to_be_visible()
    # Switch to a stock metric, pick two areas: the table follows.
    page.locator("#shared-metric").click()
    page.get_by_text("Households in emergency or temporary accommodation", exact=True).click()
    expect(table.locator("caption")).to_contain_text("Households in emergency or temporary accommodation")
    screenshot(page, "shared-neighbour")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems

    # An old bookmark of the common picture takes a neighbour to the page they can use, not to "Forbidden".
    page.goto(live_server.url + "/dash/")
    expect(page).to_have_url(re.compile(r"/dash/shared$"))
    expect(page.get_by_role("heading", name=re.compile("Shared picture"))).to_be_visible(timeout=15_000)


def _choose(page, control: str, option: str) -> None:
    page.locator(control).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_the_neighbour_chooses_weeks_in_any_order_and_reads_what_the_marks_mean(live_server, page):
    problems = _watch_csp(page)
    sign_in(page, live_server, "norfolk.neighbour")
    table = page.locator("table.shared")
    expect(table).to_be_visible(timeout=15_000)
    # Week headers carry the year; the marks are explained beside the table; no "data version" jargon.
    expect(table.locator("thead")).to_contain_text(re.compile(r"w/c \d\d \w\w\w 20\d\d"))
    legend = page.locator(".legend-note")
    expect(legend).to_contain_text("<5: a count from 1 to 4")
    expect(legend).to_contain_text("[c]: withheld")
    expect(page.locator("#shared-asat")).to_contain_text("Figures updated")
    expect(page.locator("#shared-asat")).not_to_contain_text("version")
    # The table waits under a loading indicator, so an old table is never passed off as the new choice.
    expect(page.locator(".loading-panel #shared-table")).to_have_count(1)
    # "To week" first, to a week before the current "From week": the range follows, no error.
    _choose(page, "#shared-week-to", "w/c 19 Aug 2024")
    expect(page.locator("#shared-week-from")).to_contain_text("w/c 19 Aug 2024", timeout=10_000)
    expect(table.locator("thead")).to_contain_text("w/c 19 Aug 2024", timeout=10_000)
    expect(page.get_by_text("Something is not right")).to_have_count(0)
    # And "From week" past "To week" moves "To week" along.
    _choose(page, "#shared-week-from", "w/c 02 Sep 2024")
    expect(page.locator("#shared-week-to")).to_contain_text("w/c 02 Sep 2024", timeout=10_000)
    expect(table.locator("thead")).to_contain_text("w/c 02 Sep 2024", timeout=10_000)
    expect(page.get_by_text("Something is not right")).to_have_count(0)
    screenshot(page, "shared-week-range")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_the_dashboard_works_under_the_csp(live_server, page):
    problems = _watch_csp(page)
    sign_in(page, live_server, "viewer")
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"^\d[\d,]* people$"), timeout=15_000)
    page.goto(live_server.url + "/dash/shared")
    expect(page.locator("table.shared")).to_be_visible(timeout=15_000)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_admin_creates_a_token_shown_once(live_server, page):
    problems = _watch_csp(page)
    sign_in(page, live_server, "admin")
    page.goto(live_server.url + "/dash/admin")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible(timeout=15_000)
    page.locator("#admin-token-name").fill("Norfolk LRF federation")
    page.get_by_role("button", name="Create token (shown once)").click()
    secret = page.locator(".copy-secret code")  # shown beside the form that made it
    expect(secret).to_have_text(re.compile(r"^maic_"), timeout=15_000)
    expect(page.locator("#admin-body")).to_contain_text("Norfolk LRF federation")
    expect(page.locator("#admin-audit-table")).to_contain_text("login.success")
    screenshot(page, "admin")
    page.set_viewport_size({"width": 1366, "height": 1400})
    page.screenshot(path=str(screenshot(page, "admin").with_name("admin-top.png")), full_page=False)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_the_sign_in_page_and_the_picture_load_with_no_error_and_show_the_icon(live_server, page):
    """The first page a browser opens used to log a 404 for /favicon.ico: the sign-in page linked no icon."""
    problems = _watch_csp(page)
    failed: list[str] = []
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    page.goto(live_server.url + "/login")
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert page.evaluate("async href => (await fetch(href)).status", icon) == 200
    assert page.evaluate("async () => (await fetch('/favicon.ico')).headers.get('content-type')") in (
        "image/vnd.microsoft.icon", "image/x-icon")
    sign_in(page, live_server, "viewer")
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"^\d[\d,]* people$"), timeout=15_000)
    icon = page.locator("link[rel=icon]").get_attribute("href")
    assert icon.startswith("/dash/assets/favicon.ico")
    assert page.evaluate("async href => (await fetch(href)).status", icon) == 200
    assert not failed and not problems, (failed, problems)
