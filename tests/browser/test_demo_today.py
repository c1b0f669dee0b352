"""The demo as `make run` seeds it, followed by its housing lead in Chromium on the day it is started."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import expect

from maic import dates
from maic.db import make_engine
from maic.models import utcnow
from maic.returns.template import HEADER_ROW
from maic.weeks import monday_of
from tests.browser.conftest import screenshot, sign_in


def _cambridge_households(db_url: str, week: dt.date) -> int | None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(
            "SELECT o.value FROM observation o JOIN metric m ON m.id = o.metric_id JOIN area a ON a.id = o.area_id "
            "WHERE m.key = 'households_in_ta' AND a.code = 'E07000008' AND o.week = :week "
            "AND o.superseded_at IS NULL"), {"week": week}).scalar()
    engine.dispose()
    return value


def _number(text: str) -> int:
    """A tile's figure: the number before its unit ("713 households")."""
    return int(re.match(r"[\d,]+", text.strip()).group().replace(",", ""))


def test_the_leads_returns_page_and_the_picture_tell_one_story(live_server_today, page, tmp_path):
    server = live_server_today
    latest = monday_of(utcnow().date()) - dt.timedelta(days=7)  # the last complete week: the demo's latest
    first = latest - dt.timedelta(weeks=15)
    heading = dates.week_beginning(latest)
    sign_in(page, server, "housing.lead")
    page.goto(server.url + "/dash/returns")

    due = page.locator("table.due")
    expect(due).to_be_visible(timeout=20_000)
    # Weeks as people read them (maic.dates): "Mon 23 Nov 2026".
    weeks = [dt.datetime.strptime(row.locator("th, td").first.inner_text().strip(), "%a %d %b %Y").date()
             for row in due.locator("tbody tr").all()]
    assert weeks and weeks[0] == latest
    assert all(first <= w <= latest for w in weeks), weeks  # nothing from another year, nothing before the demo
    expect(due).not_to_contain_text("missing (late)")
    expect(page.locator("#returns-week")).to_contain_text(dates.week_beginning(latest))
    expect(page.get_by_text("Returns received from Cambridge City Council housing")).to_be_visible()
    expect(page.locator("table.history")).to_contain_text("housing.lead")
    screenshot(page, "demo-today-returns")

    page.get_by_role("link", name="Common picture").click()
    tile = page.locator("#tile-households_in_ta .value")
    expect(tile).to_have_text(re.compile(r"\d"), timeout=20_000)
    before_cambridge = _cambridge_households(server.db_url, latest)
    if before_cambridge is not None:  # seeded before Monday's returns came in, the picture's latest is the week before
        expect(page.locator("#headline-asat")).to_contain_text(heading)
    expect(page.locator("#panel-releases")).to_contain_text("Tranche two (demo date)", timeout=20_000)

    # The lead's week as the picture shows it before the upload, opened by its link as after it (on a Monday the
    # default view is the week before; and other agencies' returns for the week may be in before Cambridge's).
    page.goto(server.url + f"/dash/?to={latest.isoformat()}")
    expect(page.locator("#headline-asat")).to_contain_text(heading, timeout=20_000)
    expect(tile).not_to_have_text("", timeout=20_000)
    week_tile = _number(tile.inner_text()) if re.match(r"\s*\d", tile.inner_text()) else 0

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Returns").click()
    expect(page.get_by_role("button", name="Download XLSX template")).to_be_visible(timeout=15_000)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download XLSX template").click()
    download = download_info.value
    assert download.suggested_filename == f"return-cambridge-housing-{latest.isoformat()}.xlsx"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    book = load_workbook(path)
    sheet = book.active
    keys = [cell.value for cell in sheet[HEADER_ROW]]
    for column in range(3, sheet.max_column + 1):
        sheet.cell(row=HEADER_ROW + 1, column=column, value=9)
    sheet.cell(row=HEADER_ROW + 1, column=keys.index("households_in_ta") + 1, value=(before_cambridge or 0) + 25)
    book.save(path)
    page.locator("#returns-upload input[type=file]").set_input_files(str(path))
    commit = page.get_by_role("button", name="Commit")
    expect(commit).to_be_enabled(timeout=20_000)
    commit.click()
    expect(page.locator("#returns-receipt-box")).to_contain_text("Committed: return", timeout=20_000)

    # The lead's week, chosen by its link: on a Monday its returns are not yet mostly in, so the picture would
    # open on the week before (the SCG's rule), and the week is then offered "in progress".
    page.goto(server.url + f"/dash/?to={latest.isoformat()}")
    expect(page.locator("#headline-asat")).to_contain_text(heading, timeout=20_000)
    # Cambridge's figure replaced by one 25 higher (or, before its return for the week came in, 25 added).
    expected = week_tile + 25
    expect(tile).to_have_text(re.compile(rf"^{expected:,}\b"), timeout=20_000)
    screenshot(page, "demo-today-picture")
