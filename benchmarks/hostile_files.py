"""Pathological returns, built in code (no fixtures on disk): what a careless or hostile sender could upload.

Used by the preview benchmark and by tests/returns (at the same sizes: each builds in about a second). The
workbooks are written as raw SpreadsheetML (inline strings), as any tool could, without openpyxl.
"""

from __future__ import annotations

import io
import random
import zipfile
from xml.sax.saxutils import escape

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Return" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_SHEET_TAIL = "</sheetData></worksheet>"
LONG_HEADER = ("week", "area_code", "metric", "value")


def _text_cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(text)}</t></is></c>'


def _header_row() -> str:
    return '<row r="1">' + "".join(_text_cell(f"{c}1", h) for c, h in zip("ABCD", LONG_HEADER, strict=True)) + "</row>"


def workbook(sheet_rows) -> bytes:
    """A one-sheet .xlsx from the <row> elements given (an iterable of strings)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(_SHEET_HEAD.encode())
            for row in sheet_rows:
                sheet.write(row.encode())
            sheet.write(_SHEET_TAIL.encode())
    return out.getvalue()


def formula_cells_xlsx(cells: int = 300_000) -> bytes:
    """A long-layout workbook whose every data cell is a formula (the attack: 300k formula cells, ~1.8 MB)."""
    def rows():
        yield _header_row()
        for r in range(2, cells // 4 + 2):
            yield f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><f>{c}{r - 1}+1</f></c>' for c in "ABCD") + "</row>"
    return workbook(rows())


def bad_rows_csv(rows: int = 200_000) -> bytes:
    """A long CSV where every row is wrong twice (an unknown area and a value that is not a count): ~8 MB."""
    lines = ["week,area_code,metric,value"]
    lines += [f"2024-09-09,X{i:08d},releases_total,n/a{i % 10}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def expanding_xlsx(unzipped: int = 99_600_000) -> bytes:
    """A workbook that expands to about `unzipped` bytes (default just under the old 100 MB limit) at a ratio a
    real workbook has: long rows of valid-looking figures, each with a long note in column E."""
    rng = random.Random(7)
    notes = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(40)) * 8 for _ in range(2000)]
    size = len(_SHEET_HEAD) + len(_SHEET_TAIL)

    def rows():
        nonlocal size
        yield _header_row()
        r = 2
        while size < unzipped:
            note = notes[rng.randrange(len(notes))]
            row = (f'<row r="{r}">' + _text_cell(f"A{r}", "2024-09-09") + _text_cell(f"B{r}", "E07000008")
                   + _text_cell(f"C{r}", "releases_total") + f'<c r="D{r}"><v>{r % 50}</v></c>'
                   + _text_cell(f"E{r}", note) + "</row>")
            size += len(row)
            r += 1
            yield row
    return workbook(rows())
