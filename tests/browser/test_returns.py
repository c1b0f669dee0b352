"""The agency lead's journey in Chromium: download the template, fill it in, upload, preview, commit, receipt."""

from __future__ import annotations

import csv
import hashlib
import io
import re

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import expect

from maic.db import make_engine
from maic.returns.template import HEADER_ROW
from tests.browser.conftest import screenshot, sign_in


def test_agency_lead_downloads_fills_uploads_previews_and_commits(live_server, page, tmp_path):
    sign_in(page, live_server, "housing.lead")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Returns").click()
    expect(page.get_by_role("heading", name="Weekly returns")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("Returns received from Cambridge City Council housing")).to_be_visible(timeout=15_000)

    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download XLSX template").click()
    download = download_info.value
    assert re.fullmatch(r"return-cambridge-housing-\d{4}-\d{2}-\d{2}\.xlsx", download.suggested_filename)
    path = tmp_path / download.suggested_filename
    download.save_as(path)

    book = load_workbook(path)
    sheet = book.active
    assert sheet["B2"].value == "cambridge-housing"
    week = sheet["B3"].value
    for column in range(3, sheet.max_column + 1):
        sheet.cell(row=HEADER_ROW + 1, column=column, value=10 + column)
    book.save(path)

    page.locator("#returns-upload input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("Ready to commit")).to_be_visible(timeout=20_000)
    expect(page.locator("table.totals")).to_contain_text("People sleeping rough")
    screenshot(page, "returns-preview")
    commit = page.get_by_role("button", name="Commit")
    expect(commit).to_be_enabled()
    commit.click()
    expect(page.locator("#returns-receipt-box")).to_contain_text("Committed: return", timeout=20_000)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    expect(page.locator("#receipt-sha256")).to_have_text(sha)
    return_id = int(page.locator("#receipt-return-id").inner_text())
    expect(page.locator("table.history")).to_contain_text(download.suggested_filename)
    screenshot(page, "returns-receipt")

    engine = make_engine(live_server.db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT r.sha256, r.source, u.username, r.week FROM \"return\" r "
                                   "JOIN user_account u ON u.id = r.submitted_by_id WHERE r.id = :id"),
                           {"id": return_id}).one()
    engine.dispose()
    assert (row.sha256, row.source, row.username, str(row.week)) == (sha, "upload", "housing.lead", week)


def test_a_bad_file_shows_every_problem_as_text_and_cannot_be_committed(live_server, page, tmp_path):
    sign_in(page, live_server, "housing.lead")
    page.goto(live_server.url + "/dash/returns")
    bad = tmp_path / "bad.csv"
    bad.write_text("week,area_code,metric,value\n2024-09-09,E07000008,households_in_ta,<b>bold</b>\n"
                   "2024-09-09,E07000009,households_in_ta,4\n")
    page.locator("#returns-upload input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("This file cannot be committed")).to_be_visible(timeout=20_000)
    errors = page.locator("table.issues.errors")
    expect(errors).to_contain_text("'<b>bold</b>' is not a number")  # shown as text, not rendered as HTML
    expect(errors).to_contain_text("E07000009 is not an area this agency reports for")
    assert page.locator("table.issues b").count() == 0
    expect(page.get_by_role("button", name="Commit")).to_be_disabled()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Cancelled: nothing was written.")).to_be_visible()
    screenshot(page, "returns-refused")


def test_viewer_has_no_returns_page(live_server, page):
    sign_in(page, live_server, "viewer")
    expect(page.get_by_role("navigation", name="Pages")).to_be_visible(timeout=15_000)
    assert page.get_by_role("navigation", name="Pages").get_by_role("link", name="Returns").count() == 0
    page.goto(live_server.url + "/dash/returns")  # typed in: sent to the page the viewer can use
    expect(page).to_have_url(re.compile(r"/dash/$"))
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"\d"), timeout=20_000)
    expect(page.locator("h1", has_text="return")).to_have_count(0)



def test_a_formula_in_the_template_is_named_by_area_and_measure_and_weeks_read_as_dates(live_server, page, tmp_path):
    """The lead types a formula into the downloaded template (issue 19): the refusal names the area and the
    measure as the template shows them, and the page shows weeks as people write them, not 2024-11-18."""
    sign_in(page, live_server, "housing.lead")
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Returns").click()
    expect(page.get_by_text("Returns received from Cambridge City Council housing")).to_be_visible(timeout=15_000)
    expect(page.locator("table.history")).to_contain_text(re.compile(r"Mon \d+ \w{3} 2024"))
    expect(page.locator("table.history")).not_to_contain_text(re.compile(r"\b2024-\d\d-\d\d\b(?!\.csv)"))
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download XLSX template").click()
    path = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(path)
    book = load_workbook(path)
    sheet = book.active
    area, label = sheet.cell(row=HEADER_ROW + 1, column=2).value, sheet.cell(row=HEADER_ROW - 1, column=3).value
    sheet.cell(row=HEADER_ROW + 1, column=3, value="=2+3")
    book.save(path)

    page.locator("#returns-upload input[type=file]").set_input_files(str(path))
    expect(page.get_by_text("This file cannot be committed")).to_be_visible(timeout=20_000)
    errors = page.locator("table.issues.errors")
    expect(errors).to_contain_text(f"{area}, {label}: a formula is not accepted")
    expect(errors).to_contain_text(f"{HEADER_ROW + 1}")
    screenshot(page, "returns-formula")


def test_many_problems_show_the_first_hundred_and_the_csv_holds_every_one(live_server, page, tmp_path):
    sign_in(page, live_server, "housing.lead")
    page.goto(live_server.url + "/dash/returns")
    bad = tmp_path / "many-problems.csv"
    bad.write_text("week,area_code,metric,value\n"
                   + "".join(f"2024-09-09,E07000008,households_in_ta,=1+{i}\n" for i in range(250)))
    page.locator("#returns-upload input[type=file]").set_input_files(str(bad))
    expect(page.get_by_text("250 problems to fix")).to_be_visible(timeout=20_000)
    errors = page.locator("table.issues.errors")
    expect(errors).to_contain_text("the first 100 of 250 (every one is in the CSV)")
    expect(errors.locator("tbody tr")).to_have_count(100)
    screenshot(page, "returns-many-problems")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "returns-many-problems-phone")
    page.set_viewport_size({"width": 1366, "height": 768})
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download every problem (250) as CSV").click()
    download = download_info.value
    assert download.suggested_filename == "problems-many-problems.csv"
    rows = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8"))))
    assert rows[0] == ["row", "column", "kind", "problem"] and len(rows) == 251
    assert rows[1] == ["2", "value", "error", "'=1+0' looks like a formula or command; formulas are never run here: "
                                              "type the value itself"]
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(2, 252)]
