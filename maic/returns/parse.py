"""Turn a file's bytes into raw rows (strings, with their line numbers), or a list of problems.

Knows file formats and encodings; knows nothing about areas, metrics or the database.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from maic.errors import Issue
from maic.returns import personal_data

LONG_COLUMNS = ("week", "area_code", "metric", "value")


@dataclass(frozen=True)
class RawRow:
    line: int
    week: str
    area_code: str
    metric: str
    value: str
    # Spreadsheet column letters of the four fields (None for CSV, where the column names are used), and
    # where the week was read when it is not on this row (the template's one "Week beginning" cell).
    refs: tuple[str, str, str, str] | None = None
    week_at: tuple[int, str] | None = None

    def column(self, index: int, name: str) -> str:
        return self.refs[index] if self.refs else name


@dataclass
class ParsedFile:
    rows: list[RawRow] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    encoding: str = ""
    # What the personal-data check reads besides the rows: header names and other text cells
    # (row, column, text); and the agency a template names, checked against the submitting agency.
    headers: list[tuple[int, str, str]] = field(default_factory=list)
    other_cells: list[tuple[int, str, str]] = field(default_factory=list)
    declared_agency: str = ""
    header_row: int = 1


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with: UTF-8 (BOM or not), UTF-16 (with BOM), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="strict"), "cp1252"


def parse_long_csv(data: bytes, *, max_rows: int) -> ParsedFile:
    parsed = ParsedFile()
    if not data.strip():
        parsed.issues.append(Issue(None, None, "the file is empty"))
        return parsed
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        parsed.issues.append(Issue(None, None, "this is not a text file (it holds binary data); send a CSV or XLSX"))
        return parsed
    try:
        text, parsed.encoding = decode(data)
    except UnicodeDecodeError:
        parsed.issues.append(Issue(None, None, "the text encoding is not UTF-8, UTF-16 or Windows-1252"))
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        parsed.issues.append(Issue(1, None, f"the header line cannot be read ({exc})"))
        return parsed
    names = [h.strip().lower() for h in header]
    parsed.headers = [(1, h.strip(), h.strip()) for h in header if h.strip()]
    missing = [c for c in LONG_COLUMNS if c not in names]
    extra = [h for h in names if h and h not in LONG_COLUMNS]
    if missing:
        parsed.issues.append(Issue(1, ", ".join(missing),
                                   f"missing column(s); the header must be {','.join(LONG_COLUMNS)}"))
    if extra:
        parsed.issues.append(Issue(1, ", ".join(extra), "unexpected column(s): a return holds only "
                                   + ",".join(LONG_COLUMNS)))
        parsed.issues.extend(personal_data.header_issues((1, h.strip(), h.strip()) for h in header
                                                         if h.strip().lower() in extra))
    if parsed.issues:
        return parsed
    iw, ia, im, iv = (names.index(name) for name in LONG_COLUMNS)
    try:
        for record in reader:
            line = reader.line_num
            if not "".join(record).strip():
                continue
            if len(parsed.rows) >= max_rows:
                parsed.issues.append(Issue(line, None, f"more than {max_rows:,} data rows; split the return"))
                return parsed
            if len(record) != len(names):
                parsed.issues.append(Issue(line, None, f"{len(record)} cells where the header has {len(names)}"))
                continue
            parsed.rows.append(RawRow(line, record[iw].strip(), record[ia].strip(), record[im].strip(),
                                      record[iv].strip()))
    except csv.Error as exc:
        parsed.issues.append(Issue(reader.line_num, None, f"the CSV cannot be read here ({exc})"))
    if not parsed.rows and not parsed.issues:
        parsed.issues.append(Issue(None, None, "the file has a header but no data rows"))
    return parsed
