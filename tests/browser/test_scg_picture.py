"""The SCG chair's two minutes before a meeting (issue 19): the picture opens on a week that can be quoted, a
week still coming in says so on every tile, figures carry their units, the panels are one click away, and a
drill-down opens where the reader is looking."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from maic.db import make_engine, make_session_factory
from maic.returns.ingest import Submission, ingest_return
from tests.browser.conftest import screenshot
from tests.browser.test_picture import open_picture
from tests.fixtures import csv_bytes, settings_for

TILES = ["released_week", "released_to_date", "released_nfa", "households_in_ta", "shortfall", "services_red"]


def one_return_for_a_new_week(server) -> None:
    engine = make_engine(server.db_url)
    try:
        ingest_return(make_session_factory(engine), Submission(
            csv_bytes([("2024-11-25", "E07000008", "releases_total", 11),
                       ("2024-11-25", "E06000031", "releases_total", 6)]),
            "probation-next-week.csv", "probation-cambs", actor="test"), settings_for(server.data_dir))
    finally:
        engine.dispose()


def test_the_picture_opens_on_a_week_mostly_in_and_marks_a_newer_one_incomplete_on_every_tile(live_server, page):
    one_return_for_a_new_week(live_server)
    open_picture(page, live_server, user="scg.chair" if "scg.chair" in live_server.logins else "viewer")
    header = page.locator("#headline-asat")
    expect(header).to_contain_text("Week beginning Mon 18 Nov 2024")
    expect(header).to_contain_text(re.compile(r"Live: figures updated \w{3} \d+ \w{3} \d{4} \d\d:\d\d"))
    expect(page.locator(".tile-warning")).to_have_count(0)
    expect(page.locator("#tile-shortfall .value")).to_contain_text("places short")
    expect(page.locator("#tile-released_nfa")).to_contain_text("Released this week with no fixed abode")
    screenshot(page, "scg-default-week")

    page.locator("#week-picker").click()
    page.get_by_role("option", name=re.compile(r"Mon 25 Nov 2024 \(in progress: 1 of \d+ returns in\)")).click()
    expect(header).to_contain_text("Week beginning Mon 25 Nov 2024", timeout=15_000)
    expect(header.locator(".week-incomplete")).to_contain_text(re.compile(r"Incomplete week: 1 of \d+ returns in"))
    for key in TILES:
        expect(page.locator(f"#tile-{key} .tile-warning")).to_contain_text("Incomplete week: 1 of")
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=str(screenshot(page, "scg-incomplete-week").with_name("scg-incomplete-week-screen.png")))


def test_the_contents_list_reaches_the_forward_look_in_one_click(live_server, page):
    open_picture(page, live_server)
    order = page.locator("section.panel").evaluate_all("nodes => nodes.map(n => n.id)")
    assert order == ["panel-shortfall", "panel-forward", "panel-pressure", "panel-releases", "panel-completeness"]
    page.get_by_role("navigation", name="On this page").get_by_role("link", name="Forward look").click()
    expect(page.get_by_role("heading", name="Forward look", exact=True)).to_be_in_viewport()


def test_a_shortfall_bar_opens_its_calculation_in_view_with_focus_and_a_way_back(live_server, page):
    open_picture(page, live_server)
    page.locator("#panel-shortfall").scroll_into_view_if_needed()
    box = page.locator("#shortfall-panel .js-plotly-plot .bars path").last.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # as a person clicks the bar
    drill = page.locator("#drill-panel")
    expect(drill).to_contain_text("How the shortfall is worked out", timeout=15_000)
    expect(page.locator("#drill-heading")).to_be_focused()
    expect(page.locator("#drill-heading")).to_be_in_viewport()
    expect(drill).to_contain_text("Demand = people released this week with no fixed abode")
    expect(drill).not_to_contain_text("used total")  # several measures are not added together
    expect(drill).not_to_contain_text("households_in_ta")
    expect(drill).to_contain_text(re.compile(r"\(GMT\)|\(BST\)"))
    page.screenshot(path=str(screenshot(page, "scg-shortfall-drill").with_name("scg-shortfall-drill-screen.png")))
    drill.get_by_role("link", name="Back to Accommodation shortfall").click()
    expect(page.locator("#panel-shortfall")).to_be_in_viewport()
    page.locator("#drill-panel").get_by_role("button", name="Close").click()
    expect(page.locator("#panel-shortfall")).to_be_focused(timeout=5_000)


def test_the_tiles_and_contents_fit_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        open_picture(page, live_server)
        widths = page.evaluate("""() => [document.querySelector('nav.contents').scrollWidth,
                                         document.querySelector('#tile-shortfall').scrollWidth, window.innerWidth]""")
        assert widths[0] <= widths[2] and widths[1] <= widths[2], widths
        page.screenshot(path=str(screenshot(page, "scg-phone").with_name("scg-phone-screen.png")))
    finally:
        context.close()
