"""Read an XLSX return safely: the zip is checked before openpyxl opens it; nothing in the workbook runs.

Refused before parsing: macro-enabled workbooks (.xlsm, or a vbaProject inside), external links, legacy
.xls, anything that is not a zip package, and packages that would expand past a limit (a zip bomb named
.xlsx). openpyxl then reads in read-only mode with defusedxml (openpyxl uses it when it is installed) and
never evaluates a formula: a formula cell is refused with its row and column, so a cached value is never
trusted. Two layouts are read: the wide template (areas as rows, metrics as columns, written by
maic.returns.template) and the long layout (week, area_code, metric, value) as in the CSV.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
import zipfile

from maic.errors import Issue
from maic.returns.parse import (
    ALL_BLANK,
    LONG_COLUMNS,
    MAX_SHAPE_PROBLEMS,
    ParsedFile,
    RawRow,
    UnnamedColumns,
    column_name,
    long_header_issues,
    repeated_column_issues,
    stopped_reading,
    too_many_cells,
)

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_MEMBERS = 2000
# A real workbook compresses text and numbers perhaps 10-20x; hundreds or thousands to one is a bomb.
MAX_RATIO = 200
AGENCY_LABEL = "agency"
WEEK_LABEL = "week beginning"
AREA_CODE = "area_code"
AREA_NAME = "area_name"
FORMULA_REFUSED = "a formula is not accepted (formulas are never run here): type the number itself"


def _count_in_part(archive: zipfile.ZipFile, name: str, needle: bytes, limit: int) -> int:
    """How many times needle occurs in a part, read in chunks (never the whole part at once), up to limit + 1."""
    count, tail = 0, b""
    with archive.open(name) as part:
        while chunk := part.read(1 << 20):
            window = tail + chunk
            count += window.count(needle) - tail.count(needle)
            if count > limit:
                break
            tail = window[-(len(needle) - 1):] if len(needle) > 1 else b""
    return count


def check_package(data: bytes, max_unzipped: int, max_cells: int = 1_000_000) -> list[Issue]:
    """Problems with the zip package itself, found without decompressing anything."""
    if data.startswith(XLS_MAGIC):
        return [Issue(None, None, "this is an old-style .xls workbook (Excel 97-2003): save it as .xlsx and send that")]
    if not data.startswith(b"PK"):
        return [Issue(None, None, "this is not an XLSX workbook (it is not a zip package); send a .xlsx or .csv")]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return [Issue(None, None, f"this XLSX workbook is damaged and cannot be opened ({exc})")]
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            return [Issue(None, None, f"the workbook holds {len(members):,} parts; a return is one small sheet")]
        names = [m.filename.lower() for m in members]
        total = sum(m.file_size for m in members)
        if total > max_unzipped:
            return [Issue(None, None, f"the workbook would expand to {total:,} bytes (limit {max_unzipped:,}); "
                          "it was refused unopened, as it may be a zip bomb")]
        for member in members:
            if member.file_size > 1_000_000 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                return [Issue(None, None, f"a part of the workbook expands {member.file_size // max(member.compress_size, 1):,} "
                              "times over; it was refused unopened, as it may be a zip bomb")]
        if any("vbaproject" in n or n.endswith(".bin") and "activex" in n for n in names):
            return [Issue(None, None, "the workbook contains macros; macros are never run here. Save it as a plain "
                          ".xlsx workbook (no macros) and send that")]
        if "[content_types].xml" not in names or "xl/workbook.xml" not in names:
            return [Issue(None, None, "this zip file is not an Excel workbook; send a .xlsx or .csv return")]
        content_types = archive.read("[Content_Types].xml").lower()
        if b"macroenabled" in content_types:
            return [Issue(None, None, "the workbook is macro-enabled (.xlsm); macros are never run here. Save it as "
                          "a plain .xlsx workbook and send that")]
        if any(n.startswith("xl/externallinks/") for n in names):
            return [Issue(None, None, "the workbook links to other workbooks (external links); copy the values in "
                          "and remove the links")]
        # openpyxl reads every shared string when it opens the workbook: count them first (each is a cell's text).
        for member in members:
            if member.filename.lower() == "xl/sharedstrings.xml" and \
                    _count_in_part(archive, member.filename, b"<si", max_cells) > max_cells:
                return [Issue(None, None, f"the workbook holds more than {max_cells:,} texts; a return is one "
                              "agency's figures: split it (it was refused unopened)")]
    return []


def _dimensions_from_the_head(self) -> None:
    """openpyxl's ReadOnlyWorksheet._get_size, reading only up to <sheetData>: where the <dimension> element is.

    openpyxl waits for the *end* of <sheetData> (the whole sheet) before it concludes a sheet has no
    <dimension>, so opening a sheet without one cost a full parse before a single cell was read (6 s for a
    1.4 MB file of formulas). The result is the same: the dimension when the sheet states it, else none.
    """
    from openpyxl.worksheet._reader import DATA_TAG, DIMENSION_TAG
    from openpyxl.worksheet.dimensions import SheetDimension
    from openpyxl.xml.functions import iterparse

    src = self._get_source()
    try:
        for _event, element in iterparse(src, events=("start",)):
            if element.tag == DIMENSION_TAG:
                boundaries = SheetDimension.from_tree(element).boundaries
                if boundaries is not None:
                    self._min_column, self._min_row, self._max_column, self._max_row = boundaries
                return
            if element.tag == DATA_TAG:
                return
    finally:
        src.close()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _col(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def formula_message(cells: list[str], index: int, header: list[str], labels: list[str]) -> str:
    """A formula refused, named as the template shows it ("Fenland, People released: ...") when the cell is a
    figure under the header, as well as by its row and column."""
    refused = FORMULA_REFUSED

    def at(values: list[str], i: int) -> str:
        return values[i].strip() if 0 <= i < len(values) else ""

    if not header or index == 0 or index >= len(header):
        return refused
    if all(c in header for c in LONG_COLUMNS):
        area, measure = at(cells, header.index("area_code")), at(cells, header.index("metric"))
    else:
        named = header.index(AREA_NAME) if AREA_NAME in header else -1
        area = at(cells, named) or at(cells, 0)
        measure = at(labels, index) or header[index]
    return f"{area}, {measure}: {refused}" if area and measure else refused


def parse_xlsx(data: bytes, *, max_rows: int, max_unzipped: int, max_cells: int = 1_000_000) -> ParsedFile:
    parsed = ParsedFile(encoding="xlsx")
    parsed.issues = check_package(data, max_unzipped, max_cells)
    if parsed.issues:
        return parsed
    from openpyxl import load_workbook  # imported here: only XLSX returns pay for it
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    ReadOnlyWorksheet._get_size = _dimensions_from_the_head  # openpyxl==3.1.5 is pinned; tests check it still fits

    try:
        with warnings.catch_warnings():
            # Workbooks from other tools trigger openpyxl's notes about unsupported extensions; they are not ours.
            warnings.simplefilter("ignore")
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # noqa: BLE001  (any failure to open is the file's problem, told to its sender)
        parsed.issues.append(Issue(None, None, f"this XLSX workbook cannot be read ({exc.__class__.__name__})"))
        return parsed
    try:
        sheets = workbook.worksheets
        if len(sheets) != 1:
            parsed.issues.append(Issue(None, None, f"the workbook has {len(sheets)} sheets; a return has one sheet "
                                       "(the template's). Delete the others and send it again"))
            return parsed
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _read_sheet(sheets[0], parsed, max_rows, max_cells)
    finally:
        workbook.close()
    if not parsed.rows and not parsed.issues:
        parsed.issues.append(Issue(None, None, ALL_BLANK))
    return parsed


def _read_sheet(sheet, parsed: ParsedFile, max_rows: int, max_cells: int) -> None:
    layout = None  # "wide" or "long", decided by the header row
    header: list[str] = []
    unnamed = UnnamedColumns([], _col)
    week_text, week_at = "", (3, "B")
    data_rows = 0
    labels: list[str] = []  # the row above the header: the template's measure labels
    cells_read = 0
    for row_number, row in enumerate(sheet.iter_rows(), start=1):
        # Every cell read counts, blank or formula: a sheet padded to 16,384 columns or a million rows stops here.
        cells_read += len(row)
        if cells_read > max_cells:
            parsed.issues.append(Issue(row_number, None, too_many_cells(max_cells)))
            return
        cells: list[str] = []
        formulas: list[int] = []
        for index, cell in enumerate(row):
            if getattr(cell, "data_type", None) == "f":
                formulas.append(index)
                cells.append("")
                continue
            cells.append(_text(getattr(cell, "value", None)))
        parsed.issues.extend(Issue(row_number, _col(index), formula_message(cells, index, header, labels))
                             for index in formulas)
        if len(parsed.issues) >= MAX_SHAPE_PROBLEMS:
            parsed.issues.append(stopped_reading(row_number))
            return
        if not formulas and not any(cells):
            continue
        first = cells[0].strip().lower()
        if layout is None:
            names = [column_name(c) for c in cells]
            if all(c in names for c in LONG_COLUMNS) or names[0] == AREA_CODE:
                layout = "long" if all(c in names for c in LONG_COLUMNS) else "wide"
                header, unnamed = names, UnnamedColumns(names, _col)
                parsed.header_row = row_number
                parsed.headers = [(row_number, _col(i), c) for i, c in enumerate(cells) if c]
                if layout == "long":
                    parsed.issues.extend(long_header_issues(cells, row_number, _col))
                else:
                    parsed.issues.extend(repeated_column_issues(cells, row_number, _col))
                    parsed.metric_columns = [(row_number, _col(i), name) for i, name in enumerate(names)
                                             if i > 0 and name and name != AREA_NAME]
                if parsed.issues:
                    return
                continue
            labels = cells
            if first == AGENCY_LABEL and len(cells) > 1:
                parsed.declared_agency = cells[1].strip()
            elif first == WEEK_LABEL and len(cells) > 1:
                week_text, week_at = cells[1].strip(), (row_number, "B")
            else:
                parsed.other_cells.extend((row_number, _col(i), c) for i, c in enumerate(cells) if c)
            continue
        data_rows += 1  # a row of formulas is a data row too
        parsed.issues.extend(unnamed.issues(row_number, cells, width=len(header)))
        if data_rows > max_rows:
            parsed.issues.append(Issue(row_number, None, f"more than {max_rows:,} data rows; split the return "
                                       "(nothing more was read)"))
            return
        if parsed.issues:
            continue  # the file is refused already: its rows are not checked, only its shape and size
        if layout == "long":
            record = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header)}
            refs = tuple(_col(header.index(c)) for c in LONG_COLUMNS)
            parsed.rows.append(RawRow(row_number, *(record[c].strip() for c in LONG_COLUMNS), refs=refs))
            continue
        area = cells[0].strip()
        for index, metric in enumerate(header):
            if index == 0 or not metric:
                continue
            value = cells[index] if index < len(cells) else ""
            if metric == AREA_NAME:
                if value:
                    parsed.other_cells.append((row_number, _col(index), value))
                continue
            if value == "":
                continue  # left blank: not reported (never counted as zero)
            refs = ("B", "A", _col(index), _col(index))
            parsed.rows.append(RawRow(row_number, week_text, area, metric, value, refs=refs, week_at=week_at))
    if layout is None:
        parsed.issues.append(Issue(None, None, "no header row found: the sheet needs a row starting 'area_code' (the "
                                   "template's) or the columns week, area_code, metric, value"))
    elif layout == "wide" and not week_text and parsed.rows:
        parsed.issues.append(Issue(week_at[0], week_at[1], "the week is missing: write the Monday in the 'Week beginning' cell"))
