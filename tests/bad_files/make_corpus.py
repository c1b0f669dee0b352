"""Writes the bad-file corpus (small files, committed) and its manifest. Run: python -m tests.bad_files.make_corpus

The big ones (oversize file, a CSV with a million rows, a zip bomb) are built at test time in tmp_path.
Each entry: the file, the agency it is sent for, and the words its refusal must contain.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
H = "week,area_code,metric,value\n"
W = "2024-09-09"
P = "probation-cambs"
CH = "cambridge-housing"


def row(value, area="E07000008", metric="releases_total", week=W) -> str:
    return f"{week},{area},{metric},{value}\n"


CSV: list[tuple[str, str, bytes, str]] = [
    ("empty.csv", P, b"", "the file is empty"),
    ("whitespace_only.csv", P, b"  \r\n\r\n", "the file is empty"),
    ("header_only.csv", P, H.encode(), "the file has a header but no data rows"),
    ("wrong_columns.csv", P, b"week,area,metric,count\n2024-09-09,E07000008,releases_total,1\n", "missing column(s)"),
    ("extra_column.csv", P, b"week,area_code,metric,value,notes\n2024-09-09,E07000008,releases_total,1,ok\n",
     "unexpected column(s)"),
    ("repeated_column.csv", P, b"week,area_code,metric,value,value\n2024-09-09,E07000008,releases_total,1,2\n",
     "row 1, column 5: the column 'value' appears 2 times (columns 4 and 5"),
    ("repeated_column_case_and_spaces.csv", P,
     b"week,Area Code,metric,value, AREA_CODE \n2024-09-09,E07000008,releases_total,1,E07000009\n",
     "the column 'area_code' appears 2 times (columns 2 and 5"),
    ("repeated_extra_column.csv", P, b"week,area_code,metric,value,notes,Notes\n2024-09-09,E07000008,releases_total,1,,\n",
     "the column 'notes' appears 2 times (columns 5 and 6"),
    ("unnamed_column_with_data.csv", P, b"week,area_code,metric,value,\n2024-09-09,E07000008,releases_total,1,\n"
     b"2024-09-09,E07000009,releases_total,2,see note\n",
     "row 3, column 5: 'see note' is in a column with no heading"),
    ("ragged_row.csv", P, (H + "2024-09-09,E07000008,releases_total\n").encode(), "3 cells where the header has 4"),
    ("duplicate_rows.csv", P, (H + row(1) + row(2)).encode(),
     "a second value for releases_total in E07000008 for 2024-09-09 (first on row 2)"),
    ("unknown_area.csv", P, (H + row(1, area="E99999999")).encode(), "'E99999999' is not a known area code"),
    ("unknown_metric.csv", P, (H + row(1, metric="releases_made_up")).encode(), "'releases_made_up' is not a known metric"),
    ("negative.csv", P, (H + row(-3)).encode(), "'-3' is negative"),
    ("fractional.csv", P, (H + row(2.5)).encode(), "'2.5' is not a whole number"),
    ("text_in_number.csv", P, (H + row("twelve")).encode(), "'twelve' is not a number"),
    ("every_value_blank.csv", P, (H + row("") + row("", area="E07000009")).encode(),
     "every value is blank, so the file reports nothing"),
    ("implausible_value.csv", P, (H + row(99999999999)).encode(), "larger than any plausible count"),
    ("formula_hyperlink.csv", P, (H + row('"=HYPERLINK(""http://evil.example/?x="",""click"")"')).encode(),
     "looks like a formula or command"),
    ("formula_cmd.csv", P, (H + row("=cmd|' /C calc'!A0")).encode(), "looks like a formula or command"),
    ("formula_at.csv", P, (H + row("@SUM(1+1)*cmd|' /C calc'!A0")).encode(), "looks like a formula or command"),
    ("formula_plus.csv", P, (H + row("+1+1")).encode(), "looks like a formula or command"),
    ("formula_minus.csv", P, (H + row("-2+3")).encode(), "looks like a formula or command"),
    ("formula_in_area.csv", P, (H + row(1, area="=1+2")).encode(), "column area_code: '=1+2' looks like a formula"),
    ("future_week.csv", P, (H + row(1, week="2031-01-06")).encode(), "2031-01-06 is in the future"),
    ("before_incident.csv", P, (H + row(1, week="2024-07-29")).encode(), "is before the incident began"),
    ("not_a_monday.csv", P, (H + row(1, week="2024-09-10")).encode(), "2024-09-10 is a Tuesday"),
    ("not_a_week.csv", P, (H + row(1, week="next week")).encode(), "'next week' is not a week"),
    ("other_agency_metric.csv", P, (H + row(1, metric="households_in_ta")).encode(),
     "'households_in_ta' is reported by another kind of agency"),
    ("area_out_of_scope.csv", CH, (H + row(1, area="E07000009", metric="households_in_ta")).encode(),
     "E07000009 is not an area this agency reports for"),
    ("personal_surname_column.csv", P, b"week,area_code,metric,value,Surname\n2024-09-09,E07000008,releases_total,1,Smith\n",
     "the column 'Surname' looks like personal data (names)"),
    ("personal_dob_column.csv", P, b"week,area_code,metric,value,date_of_birth\n2024-09-09,E07000008,releases_total,1,"
     b"12/03/1985\n", "looks like personal data (dates of birth)"),
    ("personal_ni_number.csv", P, (H + row("QQ123456C")).encode(), "looks like a National Insurance number"),
    ("personal_prison_number.csv", P, (H + row("A1234BC")).encode(), "looks like a prison number"),
    ("personal_postcode.csv", P, (H + row("CB1 2AB")).encode(), "looks like a postcode"),
    ("personal_email.csv", P, (H + row("jo.bloggs@example.org")).encode(), "looks like an email address"),
    ("personal_name.csv", P, (H + row("John Smith")).encode(), "looks like a person's name"),
    ("personal_dob_cell.csv", P, (H + row(1, area="03/04/1979")).encode(), "looks like a date of birth"),
    ("binary_renamed.csv", P, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "this is not a text file"),
    ("utf16_without_bom.csv", P, (H + row(1)).encode("utf-16-le"), "this is not a text file"),
    ("undecodable.csv", P, (H + row(1)).encode() + b"\x81\x8d\x8f\x90\x9d\n", "the text encoding is not UTF-8"),
    ("report.pdf", P, b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "'.pdf' files are not accepted"),
    ("old_excel.xls", P, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old-style .xls workbooks"),
    ("not_a_zip.xlsx", P, b"week,area_code,metric,value\n", "this is not an XLSX workbook"),
    ("damaged.xlsx", P, b"PK\x03\x04" + b"\x00garbage" * 20, "this XLSX workbook is damaged"),
]


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _template(agency: str, name: str, kind_metrics: list[tuple[str, str, str]], areas: list[tuple[str, str]],
              edit=None) -> bytes:
    from openpyxl import load_workbook

    from maic.returns.template import HEADER_ROW, TemplateSpec, xlsx_template

    spec = TemplateSpec(agency, name, dt.date(2024, 9, 9), areas, kind_metrics)
    book = load_workbook(io.BytesIO(xlsx_template(spec)))
    sheet = book.active
    for r in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(areas)):
        for c in range(3, 3 + len(kind_metrics)):
            sheet.cell(row=r, column=c, value=5)
    if edit:
        edit(book, sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HOUSING = [("housing_referrals", "Housing referrals", ""), ("households_in_ta", "Households in TA", "")]


def _long_workbook(header: list[str], rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for line in [header, *rows]:
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_files() -> list[tuple[str, str, bytes, str]]:
    def formulas(_book, sheet):
        sheet["C13"] = '=HYPERLINK("http://evil.example","click")'

    def second_sheet(book, _sheet):
        book.create_sheet("Notes")["A1"] = "notes"

    def surname_column(_book, sheet):
        sheet["E12"] = "surname"
        sheet["E13"] = "Smith"

    def name_in_cell(_book, sheet):
        sheet["A20"] = "Contact: Jane Doe"
        sheet["B20"] = "Jane Doe"

    def negative(_book, sheet):
        sheet["D13"] = -4

    def repeated_metric(_book, sheet):
        sheet["E12"] = " Households_in_TA"  # the same key again, differently typed; its cells left blank

    def unnamed_column(_book, sheet):
        sheet["F13"] = 7

    def unknown_column(_book, sheet):
        sheet["E11"], sheet["E12"] = "Notes", "notes"

    def other_kind_column(_book, sheet):
        sheet["E12"] = "releases_total"

    def repeated_area_code(_book, sheet):
        sheet["E12"] = "area_code"

    long_row = ["2024-09-09", "E07000008", "housing_referrals", 3]
    good = _template(CH, "Cambridge City Council housing", HOUSING, [("E07000008", "Cambridge")])
    with_vba = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(with_vba, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 fake vba")
    with_link = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(with_link, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr("xl/externalLinks/externalLink1.xml", b"<externalLink/>")
    return [
        ("macro_enabled.xlsm", CH, good, "macro-enabled workbooks (.xlsm) are not accepted"),
        ("vba_inside.xlsx", CH, with_vba.getvalue(), "the workbook contains macros"),
        ("external_link.xlsx", CH, with_link.getvalue(), "links to other workbooks (external links)"),
        ("formula_cells.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], formulas),
         "row 13, column C: Cambridge, Housing referrals: a formula is not accepted"),
        ("two_sheets.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], second_sheet),
         "the workbook has 2 sheets"),
        ("surname_column.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], surname_column),
         "the column 'surname' looks like personal data (names)"),
        ("name_in_a_cell.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], name_in_cell),
         "'Jane Doe' looks like a person's name"),
        ("negative_in_template.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], negative),
         "row 13, column D: '-4' is negative"),
        ("other_agencys_template.xlsx", "fenland-housing", good, "this template is for the agency 'cambridge-housing'"),
        ("not_a_workbook.xlsx", CH, _zip({"hello.txt": b"hi"}), "this zip file is not an Excel workbook"),
        ("repeated_column.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], repeated_metric),
         "row 12, column E: the column 'households_in_ta' appears 2 times (columns D and E"),
        ("repeated_area_code.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], repeated_area_code),
         "the column 'area_code' appears 2 times (columns A and E"),
        ("unnamed_column.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], unnamed_column),
         "row 13, column F: '7' is in a column with no heading"),
        ("unknown_column.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], unknown_column),
         "row 12, column E: the column 'notes' is not a known metric"),
        ("other_kind_column.xlsx", CH, _template(CH, "x", HOUSING, [("E07000008", "Cambridge")], other_kind_column),
         "row 12, column E: the column 'releases_total' is a metric reported by another kind of agency"),
        ("repeated_column_long.xlsx", CH, _long_workbook(["week", "area_code", "metric", "value", "Value"],
                                                         [[*long_row, 4]]),
         "row 1, column E: the column 'value' appears 2 times (columns D and E"),
        ("extra_column_long.xlsx", CH, _long_workbook(["week", "area_code", "metric", "value", "comment"],
                                                      [[*long_row, "fine"]]),
         "row 1, column comment: unexpected column(s)"),
        ("unnamed_column_long.xlsx", CH, _long_workbook(["week", "area_code", "metric", "value"],
                                                        [[*long_row, None, "Smith"]]),
         "row 2, column F: 'Smith' is in a column with no heading"),
    ]


def main() -> None:
    manifest = []
    for name, agency, data, message in CSV + xlsx_files():
        (HERE / name).write_bytes(data)
        manifest.append({"file": name, "agency": agency, "message": message})
    (HERE / "manifest.yaml").write_text(
        "# The bad-file corpus: each file, the agency it is sent for, and words its refusal must contain.\n"
        "# Written by make_corpus.py; the big files are made at test time (tests/returns/test_bad_files.py).\n"
        + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=200))
    print(f"wrote {len(manifest)} files")


if __name__ == "__main__":
    main()
