"""A preview's cost is bounded: hostile files are refused with the first problems shown and the rest counted,
every problem is in the downloadable report, and every cell read counts (formulas and blanks too)."""

from __future__ import annotations

import base64
import csv
import io
import zipfile

import pytest

from benchmarks import hostile_files as hostile
from callbacks import returns as cb
from layouts import returns as view
from maic.errors import Issue
from maic.returns.ingest import check_submission
from maic.returns.parse import MAX_SHAPE_PROBLEMS, parse_long_csv
from maic.returns.report import problems_csv
from maic.returns.xlsx import parse_xlsx
from tests.returns.helpers import submission
from tests.returns.test_upload_callbacks import as_user

AGENCY = "cambridge-housing"


@pytest.fixture(scope="module")
def hostile_uploads() -> dict[str, bytes]:
    return {"formulas.xlsx": hostile.formula_cells_xlsx(), "bad-rows.csv": hostile.bad_rows_csv(),
            "expands.xlsx": hostile.expanding_xlsx()}


def contents(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


def _walk(node):
    yield node
    kids = getattr(node, "children", None)
    for kid in kids if isinstance(kids, list) else [kids] if kids is not None else []:
        yield from _walk(kid)


def rendered_rows(children) -> int:
    """Rows in the problems table the page would draw (wherever it sits: it scrolls in its own box)."""
    table = next(c for top in children for c in _walk(top) if "issues errors" in (getattr(c, "className", "") or ""))
    body = next(part for part in table.children if type(part).__name__ == "Tbody")
    return len(body.children)


def test_the_three_hostile_files_are_refused_with_a_capped_list_and_a_count_of_the_rest(app, hostile_uploads):
    context = as_user(app, "agency_lead")  # cambridge-housing, as in the attack
    try:
        answers = {name: cb.preview_data(AGENCY, contents(data), name) for name, data in hostile_uploads.items()}
    finally:
        context.pop()
    formulas, bad_rows, expands = answers["formulas.xlsx"], answers["bad-rows.csv"], answers["expands.xlsx"]
    for answer in answers.values():
        assert answer["errors"] and len(answer["errors"]) <= cb.SHOWN_ISSUES and answer["rows"] == 0
    # Formulas: each refused with its cell, reading stopped after MAX_SHAPE_PROBLEMS, the stop said where.
    assert formulas["errors_total"] == MAX_SHAPE_PROBLEMS + 1 and len(formulas["errors"]) == cb.SHOWN_ISSUES
    assert formulas["errors"][0] == ("2", "A", "a formula is not accepted (formulas are never run here): type the "
                                     "number itself")
    # Bad rows: every row read and checked (three problems each for a housing lead), the first 100 shown, all
    # of them counted.
    assert bad_rows["errors_total"] == 600_000 and len(bad_rows["errors"]) == cb.SHOWN_ISSUES
    assert bad_rows["errors"][:3] == [
        ("2", "area_code", "'X00000000' is not a known area code"),
        ("2", "metric", "'releases_total' is reported by another kind of agency, not by a housing agency"),
        ("2", "value", "'n/a0' is not a number")]
    # 99.6 MB unzipped: over the (proportionate) limit, refused before it is opened.
    assert expands["errors_total"] == 1 and "refused unopened" in expands["errors"][0][2]
    children = view.preview_children(bad_rows)
    assert rendered_rows(children) == cb.SHOWN_ISSUES
    assert "the first 100 of 600,000 (every one is in the CSV)" in str(children)
    assert "Download every problem (600,000) as CSV" in str(children)
    assert "600,000 problems to fix" in str(children)


def test_the_report_download_holds_every_problem(app, hostile_uploads):
    data = hostile_uploads["bad-rows.csv"]
    context = as_user(app, "agency_lead")
    try:
        sent = cb.problems_report([1], contents(data), "bad-rows.csv", AGENCY)
        assert cb.problems_report([None], contents(data), "bad-rows.csv", AGENCY) is cb.no_update
        expected = check_submission(cb.db(), submission(data, AGENCY, "bad-rows.csv"), cb._settings())
    finally:
        context.pop()
    assert sent["filename"] == "problems-bad-rows.csv"
    rows = list(csv.reader(io.StringIO(sent["content"])))
    assert rows[0] == ["row", "column", "kind", "problem"]
    assert len(rows) - 1 == len(expected.issues) == 600_000
    assert rows[1:] == [[str(i.row), i.column, i.severity, i.message] for i in expected.issues]


def test_the_report_is_neutralised_against_formula_injection():
    text = problems_csv([Issue(3, "=cmd|' /C calc'!A0", "=HYPERLINK(\"https://evil.example\")"),
                         Issue(None, None, "@SUM(1)", severity="warning"), Issue(4, "value", "-2 is negative")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["3", "'=cmd|' /C calc'!A0", "error", "'=HYPERLINK(\"https://evil.example\")"]
    assert rows[2] == ["", "", "warning", "'@SUM(1)"] and rows[3] == ["4", "value", "error", "'-2 is negative"]


def _formula_rows(rows: int, width: int = 4) -> list[str]:
    return [f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><f>1+1</f></c>' for c in "ABCDEFGH"[:width]) + "</row>"
            for r in range(2, rows + 2)]


def test_formula_cells_count_towards_the_cell_and_row_limits():
    book = hostile.workbook([hostile._header_row(), *_formula_rows(5)])
    by_cells = parse_xlsx(book, max_rows=100, max_unzipped=10**7, max_cells=12)
    # The header's 4 cells, then rows 2 and 3 of formulas make 12; row 4 goes past the limit and is not read.
    assert str(by_cells.issues[-1]) == ("row 4: more than 12 cells; a return is one agency's figures: split it "
                                        "(nothing more was read)")
    assert [i.row for i in by_cells.issues[:-1]] == [2, 2, 2, 2, 3, 3, 3, 3]
    by_rows = parse_xlsx(book, max_rows=3, max_unzipped=10**7)
    assert "row 5: more than 3 data rows" in str(by_rows.issues[-1])  # rows of nothing but formulas count
    assert len(by_rows.issues) == 4 * 4 + 1  # the fourth data row is read (its formulas listed), then it stops


def test_blank_cells_inside_the_sheet_count_too():
    # A sheet that states it spans A1:XFD3 makes openpyxl hand over 16,384 cells a row, blank or not.
    rows = [hostile._header_row(), '<row r="2"><c r="A2" t="inlineStr"><is><t>2024-09-09</t></is></c></row>']
    book = hostile.workbook(rows)

    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            part = source.read(member.filename)
            if member.filename.endswith("sheet1.xml"):
                part = part.replace(b"<sheetData>", b'<dimension ref="A1:XFD3"/><sheetData>')
            archive.writestr(member.filename, part)
    parsed = parse_xlsx(out.getvalue(), max_rows=100, max_unzipped=10**7, max_cells=20_000)
    assert "row 2: more than 20,000 cells" in str(parsed.issues[-1])


def test_csv_cells_count_and_wrong_width_rows_stop_after_the_shape_limit():
    wide = ("week,area_code,metric,value\n" + "2024-09-09,E07000008,households_in_ta,1,x,y\n" * 5).encode()
    assert "more than 20 cells" in str(parse_long_csv(wide, max_rows=100, max_cells=20).issues[-1])
    ragged = ("week,area_code,metric,value\n" + "a,b\n" * 5000).encode()
    parsed = parse_long_csv(ragged, max_rows=100_000)
    assert len(parsed.issues) == MAX_SHAPE_PROBLEMS + 1 and parsed.rows == []
    assert str(parsed.issues[-1]).startswith(f"row {MAX_SHAPE_PROBLEMS + 1}: reading stopped here after 1,000 problems")


def test_a_shared_string_table_bigger_than_the_cell_limit_is_refused_unopened():
    book = hostile.workbook([hostile._header_row()])
    source = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            archive.writestr(member.filename, source.read(member.filename))
        archive.writestr("xl/sharedStrings.xml", '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                         'main">' + "".join(f"<si><t>{i}</t></si>" for i in range(3000)) + "</sst>")
    parsed = parse_xlsx(out.getvalue(), max_rows=100, max_unzipped=10**7, max_cells=2500)
    assert str(parsed.issues[0]) == ("the workbook holds more than 2,500 texts; a return is one agency's figures: "
                                     "split it (it was refused unopened)")


def test_sheet_dimensions_are_read_from_the_head_as_openpyxl_would(factory):
    """The replacement for openpyxl's ReadOnlyWorksheet._get_size gives the same answer, with and without
    a <dimension> (openpyxl is pinned; this fails if a new version changes what it reads)."""
    from openpyxl import load_workbook
    from openpyxl.worksheet._reader import WorkSheetParser

    from tests.returns.helpers import filled_template

    for book in (filled_template(factory, "probation-cambs"), hostile.formula_cells_xlsx(400)):
        parse_xlsx(book, max_rows=100, max_unzipped=10**7)  # installs the replacement
        sheet = load_workbook(io.BytesIO(book), read_only=True).worksheets[0]
        with sheet._get_source() as src:
            theirs = WorkSheetParser(src, []).parse_dimensions()
        ours = (sheet._min_column, sheet._min_row, sheet._max_column, sheet._max_row)
        assert ours == (theirs or (1, 1, None, None))
