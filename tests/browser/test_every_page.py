"""Every page of every role at a desk and on a phone: no page wider than the screen (nothing scrolls
sideways) and axe-core finds nothing critical or serious. Each page is also kept as a screenshot."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

ROLES = ["viewer", "analyst", "housing.lead", "admin", "norfolk.neighbour"]
SIZES = {"desk": (1366, 768), "phone": (390, 844)}
BLOCKING = {"critical", "serious"}


def settle(page) -> None:
    """A Dash page has rendered: its heading is there and nothing is loading or waiting on a callback."""
    expect(page.locator("main h1, .narrow h1").first).to_be_visible(timeout=20_000)
    page.wait_for_load_state("networkidle", timeout=20_000)
    expect(page.locator("[data-dash-is-loading='true']")).to_have_count(0, timeout=20_000)


def check(page, name: str, width: int) -> list[str]:
    settle(page)
    screenshot(page, name)
    problems = []
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        wide = page.evaluate("""(width) => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .slice(0, 4).map(e => e.tagName + '.' + e.className + '#' + e.id)""", width)
        problems.append(f"{name}: {scroll_width} px wide on a {width} px screen ({wide})")
    results = Axe().run(page)
    for violation in results.response["violations"]:
        if violation["impact"] in BLOCKING:
            targets = [n["target"] for n in violation["nodes"]][:3]
            problems.append(f"{name}: axe {violation['impact']} {violation['id']} at {targets}")
    return problems


@pytest.mark.parametrize("size", SIZES, ids=list(SIZES))
@pytest.mark.parametrize("role", ["signed-out", *ROLES])
def test_every_page_fits_the_screen_and_passes_axe(live_server, browser, role, size):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        if role == "signed-out":
            page.goto(live_server.url + "/login")
            problems = check(page, f"every-page-{size}-login", width)
        else:
            sign_in(page, live_server, role)
            expect(page.locator("nav.nav a").first).to_be_visible(timeout=20_000)
            paths = page.locator("nav.nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            assert paths, f"{role} has no pages"
            problems = []
            for path in paths:
                page.goto(live_server.url + path)
                slug = path.strip("/").replace("/", "-") or "dash"
                problems += check(page, f"every-page-{size}-{role}-{slug}", width)
    finally:
        context.close()
    assert not problems, "\n".join(problems)
