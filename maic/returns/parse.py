"""Turn a file's bytes into raw rows (strings, with their line numbers), or a list of problems.

Knows file formats and encodings; knows nothing about areas, metrics or the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from maic.errors import Issue
from maic.returns import personal_data

LONG_COLUMNS = ("week", "area_code", "metric", "value")
ALL_BLANK = "every value is blank, so the file reports nothing: a blank is 'not reported'; type 0 for none"


@dataclass(frozen=True, slots=True)
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
    # The wide template's metric columns as (row, column letter, key): checked against the catalogue.
    metric_columns: list[tuple[int, str, str]] = field(default_factory=list)


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


def column_name(text: str) -> str:
    """A header cell as compared: case, surrounding spaces and runs of inner spaces make no difference."""
    return re.sub(r"\s+", "_", text.strip()).lower()


def repeated_column_issues(header: list[str], row: int, label: Callable[[int], str]) -> list[Issue]:
    """Each column named twice (after column_name): refused, as it is unknowable which one the sender meant."""
    places: dict[str, list[int]] = {}
    for index, text in enumerate(header):
        if column_name(text):
            places.setdefault(column_name(text), []).append(index)
    issues = []
    for name, indexes in places.items():
        if len(indexes) > 1:
            where = ", ".join(label(i) for i in indexes[:-1]) + " and " + label(indexes[-1])
            issues.append(Issue(row, label(indexes[1]), f"the column '{name}' appears {len(indexes)} times "
                                f"(columns {where}; names are compared ignoring case and spaces): a return has "
                                "each column once, so delete the repeat"))
    return issues


def long_header_issues(header: list[str], row: int, label: Callable[[int], str]) -> list[Issue]:
    """The long layout's header (CSV, or an XLSX in the long layout): the four columns, each once, nothing else."""
    names = [column_name(h) for h in header]
    issues = []
    missing = [c for c in LONG_COLUMNS if c not in names]
    extra = [(i, h.strip()) for i, h in enumerate(header) if names[i] and names[i] not in LONG_COLUMNS]
    if missing:
        issues.append(Issue(row, ", ".join(missing), f"missing column(s); the header must be {','.join(LONG_COLUMNS)}"))
    issues.extend(repeated_column_issues(header, row, label))
    if extra:
        issues.append(Issue(row, ", ".join(h for _, h in extra), "unexpected column(s): a return holds only "
                            + ",".join(LONG_COLUMNS)))
        issues.extend(personal_data.header_issues((row, label(i), h) for i, h in extra))
    return issues


class UnnamedColumns:
    """Columns with a blank header: harmless while empty (a trailing comma), refused once they hold anything."""

    def __init__(self, names: list[str], label: Callable[[int], str]):
        self.indexes = [i for i, name in enumerate(names) if not name]
        self.label = label
        self.reported: set[int] = set()

    def issues(self, row: int, cells: list[str], width: int | None = None) -> list[Issue]:
        """Issues for this row's cells under no heading (each column once); cells from `width` on count too."""
        found = []
        beyond = range(width, len(cells)) if width is not None else range(0)
        for index in [*self.indexes, *beyond]:
            if index < len(cells) and cells[index].strip() and index not in self.reported:
                self.reported.add(index)
                found.append(Issue(row, self.label(index), f"'{shown(cells[index])}' is in a column with no "
                                   "heading: a return holds only its named columns; delete it or the column"))
        return found


def shown(text: str, width: int = 40) -> str:
    """A cell's text as quoted in a message: one line, cut short; always shown as text, never as markup."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


# A file refused for its shape (formulas, rows of the wrong width) is read no further after this many problems.
MAX_SHAPE_PROBLEMS = 1000


def stopped_reading(row: int) -> Issue:
    return Issue(row, None, f"reading stopped here after {MAX_SHAPE_PROBLEMS:,} problems, the rest of the file was not "
                 "read: fix these and send it again")


def too_many_cells(max_cells: int) -> str:
    return f"more than {max_cells:,} cells; a return is one agency's figures: split it (nothing more was read)"


def parse_long_csv(data: bytes, *, max_rows: int, max_cells: int = 1_000_000) -> ParsedFile:
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
    names = [column_name(h) for h in header]
    parsed.headers = [(1, h.strip(), h.strip()) for h in header if h.strip()]
    parsed.issues.extend(long_header_issues(header, 1, lambda i: str(i + 1)))
    if parsed.issues:
        return parsed
    unnamed = UnnamedColumns(names, lambda i: str(i + 1))
    iw, ia, im, iv = (names.index(name) for name in LONG_COLUMNS)
    cells = len(header)
    data_rows = 0
    try:
        for record in reader:
            line = reader.line_num
            cells += len(record)
            if cells > max_cells:
                parsed.issues.append(Issue(line, None, too_many_cells(max_cells)))
                return parsed
            if not "".join(record).strip():
                continue
            data_rows += 1
            if data_rows > max_rows:
                parsed.issues.append(Issue(line, None, f"more than {max_rows:,} data rows; split the return "
                                           "(nothing more was read)"))
                return parsed
            if len(record) != len(names):
                parsed.issues.append(Issue(line, None, f"{len(record)} cells where the header has {len(names)}"))
            elif unnamed.indexes:
                parsed.issues.extend(unnamed.issues(line, record))
            if len(parsed.issues) >= MAX_SHAPE_PROBLEMS:
                parsed.issues.append(stopped_reading(line))
                return parsed
            if parsed.issues:
                continue  # the file is refused already: its rows are not checked, only its shape and size
            parsed.rows.append(RawRow(line, record[iw].strip(), record[ia].strip(), record[im].strip(),
                                      record[iv].strip()))
    except csv.Error as exc:
        parsed.issues.append(Issue(reader.line_num, None, f"the CSV cannot be read here ({exc})"))
    if not parsed.rows and not parsed.issues:
        parsed.issues.append(Issue(None, None, "the file has a header but no data rows"))
    return parsed
