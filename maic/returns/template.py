"""Return templates for one agency and week: an XLSX to fill in (areas as rows, metrics as columns) and a
long CSV. A filled-in template goes back through the same pipeline with no edits.

The XLSX: the agency and week written in and locked; the sheet protected except the value cells, which
accept whole numbers from 0 (Excel's own data validation, checked again on upload); instructions on the
sheet. Blank value cells mean "not reported", never zero.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from maic.errors import MaicError, NotFound
from maic.models import Agency, Metric
from maic.reference import NEIGHBOUR_KIND
from maic.returns.parse import LONG_COLUMNS
from maic.returns.xlsx import AREA_CODE, AREA_NAME

TITLE = "MAIC weekly return"
HEADER_ROW = 12
INSTRUCTIONS = (
    "How to fill this in:",
    "1. Type each figure as a whole number (0 or more) in the white cells: one row per area, one column per measure.",
    "2. Leave a cell blank only if you cannot report it: a blank is 'not reported', never zero; type 0 for none.",
    "3. Do not add names, dates of birth, addresses or any detail about a person: counts only.",
    "4. Do not type formulas; do not add sheets, rows or columns. The agency and week are fixed.",
    "5. Upload the saved .xlsx on the Returns page, or drop it into your agency's inbox folder.",
)


@dataclass(frozen=True)
class TemplateSpec:
    agency_slug: str
    agency_name: str
    week: dt.date
    areas: list[tuple[str, str]]  # (code, name)
    metrics: list[tuple[str, str, str]]  # (key, label, description)

    @property
    def basename(self) -> str:
        return f"return-{self.agency_slug}-{self.week.isoformat()}"


def template_spec(session: orm.Session, agency_slug: str, week: dt.date) -> TemplateSpec:
    agency = session.scalar(sa.select(Agency).where(Agency.slug == agency_slug))
    if agency is None:
        raise NotFound(f"there is no agency '{agency_slug}'")
    if week.weekday() != 0:
        raise MaicError(f"{week.isoformat()} is a {week:%A}: weeks are named by their Monday")
    stmt = sa.select(Metric).order_by(Metric.sort_order, Metric.key)
    if agency.kind == NEIGHBOUR_KIND:
        stmt = stmt.where(Metric.shareable.is_(True))
    else:
        stmt = stmt.where(Metric.agency_kind == agency.kind)
    metrics = [(m.key, m.label, m.description) for m in session.scalars(stmt)]
    areas = [(a.code, a.name) for a in sorted(agency.areas, key=lambda a: a.name)]
    return TemplateSpec(agency.slug, agency.name, week, areas, metrics)


def csv_template(spec: TemplateSpec) -> bytes:
    """The long layout, one row per area and metric with the value left blank for the sender to fill in."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LONG_COLUMNS)
    for code, _name in spec.areas:
        for key, _label, _description in spec.metrics:
            writer.writerow([spec.week.isoformat(), code, key, ""])
    return buffer.getvalue().encode("utf-8")


def xlsx_template(spec: TemplateSpec) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "Return"
    bold = Font(bold=True)
    sheet["A1"] = TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"], sheet["B2"], sheet["C2"] = "Agency", spec.agency_slug, spec.agency_name
    sheet["A3"], sheet["B3"] = "Week beginning", spec.week.isoformat()  # text, so no locale turns it into a date
    sheet["C3"] = f"Monday {spec.week:%d %B %Y} to Sunday {spec.week + dt.timedelta(days=6):%d %B %Y}"
    for cell in ("A2", "A3", "B2", "B3"):
        sheet[cell].font = bold
    for offset, line in enumerate(INSTRUCTIONS):
        sheet.cell(row=5 + offset, column=1, value=line).font = bold if offset == 0 else Font(italic=True)

    label_row = HEADER_ROW - 1
    sheet.cell(row=label_row, column=1, value="Area")
    sheet.cell(row=label_row, column=2, value="")
    sheet.cell(row=HEADER_ROW, column=1, value=AREA_CODE).font = bold
    sheet.cell(row=HEADER_ROW, column=2, value=AREA_NAME).font = bold
    for index, (key, label, description) in enumerate(spec.metrics, start=3):
        label_cell = sheet.cell(row=label_row, column=index, value=label)
        label_cell.alignment = Alignment(wrap_text=True, vertical="bottom")
        label_cell.font = bold
        if description:
            label_cell.comment = Comment(description, "MAIC")
        sheet.cell(row=HEADER_ROW, column=index, value=key).font = Font(color="555555", size=9)
        sheet.column_dimensions[label_cell.column_letter].width = 18
    sheet.row_dimensions[label_row].height = 60
    sheet.column_dimensions["A"].width = 16
    sheet.column_dimensions["B"].width = 24

    fill = PatternFill("solid", fgColor="FFFFFF")
    locked_fill = PatternFill("solid", fgColor="EEEEEE")
    validation = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                                showErrorMessage=True, errorTitle="Whole numbers only",
                                error="Type a whole number from 0 (a count), or leave the cell blank if not reported.")
    sheet.add_data_validation(validation)
    for offset, (code, name) in enumerate(spec.areas):
        row = HEADER_ROW + 1 + offset
        sheet.cell(row=row, column=1, value=code).fill = locked_fill
        sheet.cell(row=row, column=2, value=name).fill = locked_fill
        for column in range(3, 3 + len(spec.metrics)):
            cell = sheet.cell(row=row, column=column)
            cell.protection = Protection(locked=False)
            cell.fill = fill
            cell.number_format = "0"
    if spec.areas and spec.metrics:
        first = sheet.cell(row=HEADER_ROW + 1, column=3).coordinate
        last = sheet.cell(row=HEADER_ROW + len(spec.areas), column=2 + len(spec.metrics)).coordinate
        validation.add(f"{first}:{last}")
    sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=3)
    # Protected without a password: it stops slips (typing over the week or an area code), not people.
    sheet.protection.sheet = True
    sheet.protection.formatCells = False
    sheet.protection.formatColumns = False
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render(spec: TemplateSpec, fmt: str) -> tuple[str, bytes]:
    """(filename, bytes) for 'xlsx' or 'csv'."""
    if fmt == "xlsx":
        return spec.basename + ".xlsx", xlsx_template(spec)
    if fmt == "csv":
        return spec.basename + ".csv", csv_template(spec)
    raise MaicError(f"unknown template format '{fmt}': choose xlsx or csv")
