"""Builders for issue-4 tests: filled-in templates and submissions."""

from __future__ import annotations

import datetime as dt
import io

from maic.returns.ingest import Submission
from maic.returns.template import HEADER_ROW, template_spec, xlsx_template

WEEK = dt.date(2024, 9, 9)


def filled_template(factory, agency: str, week: dt.date = WEEK, value=lambda row, col: row + col,
                    edit=None) -> bytes:
    """Generate the real template, fill every value cell with openpyxl (as a person in Excel would), save."""
    from openpyxl import load_workbook

    with factory() as session:
        spec = template_spec(session, agency, week)
    book = load_workbook(io.BytesIO(xlsx_template(spec)))
    sheet = book.active
    for row in range(HEADER_ROW + 1, HEADER_ROW + 1 + len(spec.areas)):
        for col in range(3, 3 + len(spec.metrics)):
            sheet.cell(row=row, column=col, value=value(row, col))
    if edit:
        edit(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def submission(data: bytes, agency: str = "probation-cambs", filename: str = "return.csv", **kw) -> Submission:
    return Submission(data=data, filename=filename, agency_slug=agency, actor="test", **kw)
