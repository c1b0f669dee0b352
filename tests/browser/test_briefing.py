"""The briefing pack from the common picture's button (a real download, read back), the neighbours' pack from the
shared view, and the printable HTML pack checked by axe-core and kept as a screenshot to look at."""

from __future__ import annotations

import io
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from pypdf import PdfReader

from maic import briefing
from maic.config import load
from maic.db import make_engine, make_session_factory
from tests.browser.conftest import SCREENSHOTS, sign_in


def read_pdf(path) -> list[str]:
    with open(path, "rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF")
    return [p.extract_text() for p in PdfReader(io.BytesIO(data)).pages]


def test_the_briefing_pack_button_downloads_the_pack_for_the_view_on_screen(live_server, page):
    sign_in(page, live_server, "viewer")
    page.goto(live_server.url + "/dash/?to=2024-11-11&area=E06000031")
    tile = page.locator("#tile-released_week .value")
    expect(tile).to_have_text(re.compile(r"\d"), timeout=20_000)
    link = page.get_by_role("link", name="Briefing pack (PDF)")
    expect(link).to_have_attribute("href", re.compile(r"/briefings/pack\?.*to=2024-11-11.*area=E06000031"))
    shown = re.search(r"[\d,]+", tile.inner_text()).group(0)
    with page.expect_download(timeout=90_000) as download:
        link.click()
    assert download.value.suggested_filename.startswith("maic-scg-pack-2024-11-11-asat-")
    texts = read_pdf(download.value.path())
    for number, text in enumerate(texts, start=1):
        assert "OFFICIAL-SENSITIVE" in text and f"page {number} of {len(texts)}" in text
    whole = re.sub(r"\s+", " ", "\n".join(texts))
    assert "Week beginning Mon 11 Nov 2024" in whole and "Peterborough" in whole
    assert re.search(rf"Released this week {shown}\b", whole), f"the tile shows {shown}; the pack does not"


def test_the_shared_view_gives_neighbours_their_pack(live_server, page):
    sign_in(page, live_server, "norfolk.neighbour")
    page.goto(live_server.url + "/dash/shared")
    link = page.get_by_role("link", name="Neighbours' pack (PDF)")
    expect(link).to_have_attribute("href", re.compile(r"/briefings/neighbour\?week_from=.*week_to="))
    with page.expect_download(timeout=90_000) as download:
        link.click()
    whole = "\n".join(read_pdf(download.value.path()))
    assert "Neighbours' pack" in whole and "<5" in whole


def test_the_printable_pack_passes_axe_and_prints_in_a_readable_layout(live_server, browser):
    config = load({"MAIC_DATA_DIR": str(live_server.data_dir)})
    engine = make_engine(live_server.db_url)
    try:
        with make_session_factory(engine)() as session:
            doc = briefing.make_document(session, briefing.PackRequest(format="html"),
                                         briefing.BriefingSettings.from_config(config))
    finally:
        engine.dispose()
    context = browser.new_context(viewport={"width": 1000, "height": 1200})
    page = context.new_page()
    try:
        page.route(re.compile(r"^https?://"), lambda route: route.abort())  # the pack needs nothing from outside
        page.set_content(briefing.html_page(doc), wait_until="load")
        expect(page.locator("html")).to_have_attribute("data-charts", "ready", timeout=30_000)
        expect(page.locator(".chart svg.main-svg").first).to_be_visible()
        results = Axe().run(page)
        details = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]]
        assert results.violations_count == 0, details
        page.emulate_media(media="print")
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "briefing-pack.png"), full_page=False)
        page.locator("#s-pressure").scroll_into_view_if_needed()
        page.locator("section[aria-labelledby='s-pressure']").screenshot(
            path=str(SCREENSHOTS / "briefing-pack-pressure.png"))
    finally:
        context.close()
    assert_axis_names_readable_at_print_width(browser, briefing.html_page(doc))


# Each chart's area names inside its box and clear of its legend (they were cut off behind it on paper).
AXIS_NAMES_CLASHING = """() => {
  const inside = (a, b) => a.left >= b.left - 1 && a.right <= b.right + 1 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const problems = [];
  document.querySelectorAll(".chart .plot").forEach((plot) => {
    const box = plot.querySelector("svg.main-svg").getBoundingClientRect();
    const legend = plot.querySelector("g.legend");
    const legendBox = legend ? legend.getBoundingClientRect() : null;
    plot.querySelectorAll("g.xtick text").forEach((tick) => {
      const r = tick.getBoundingClientRect();
      if (!r.width) return;
      if (!inside(r, box)) problems.push(plot.id + ": '" + tick.textContent + "' cut off");
      if (legendBox && overlap(r, legendBox)) problems.push(plot.id + ": '" + tick.textContent + "' under the legend");
    });
  });
  return problems;
}"""


def assert_axis_names_readable_at_print_width(browser, page_html: str) -> None:
    from maic.briefing.render import PRINT_WIDTH_PX

    context = browser.new_context(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
    try:
        page = context.new_page()
        page.route(re.compile(r"^https?://"), lambda route: route.abort())
        page.set_content(page_html, wait_until="load")
        expect(page.locator("html")).to_have_attribute("data-charts", "ready", timeout=30_000)
        assert page.evaluate(AXIS_NAMES_CLASHING) == []
    finally:
        context.close()
