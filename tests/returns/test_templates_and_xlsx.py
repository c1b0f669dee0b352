"""Templates round-trip through the pipeline; XLSX is read safely; formulas and macros are refused."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa

from maic.errors import ValidationFailed
from maic.models import Metric, Observation
from maic.returns.ingest import check_submission, ingest_return
from maic.returns.parse import parse_long_csv
from maic.returns.template import csv_template, render, template_spec
from maic.returns.xlsx import parse_xlsx
from tests.fixtures import settings_for
from tests.returns.helpers import WEEK, filled_template, submission


def test_a_filled_in_xlsx_template_uploads_with_no_edits(factory, data_dir):
    data = filled_template(factory, "probation-cambs")
    receipt = ingest_return(factory, submission(data, filename="return-probation-cambs-2024-09-09.xlsx"),
                            settings_for(data_dir))
    assert receipt.rows == 6 * 6 and receipt.weeks == [WEEK]
    with factory() as session:
        values = session.execute(sa.select(Observation.value).order_by(Observation.value)).scalars().all()
    # Row 13 (first area) column 3 (first metric) holds 16: what the helper typed in.
    assert min(values) == 16 and len(values) == 36
    assert (data_dir / "archive" / "probation-cambs" / f"{receipt.sha256}.xlsx").exists()


def test_xlsx_template_has_agency_week_validation_and_protection(factory):
    from openpyxl import load_workbook

    with factory() as session:
        spec = template_spec(session, "cambridge-housing", WEEK)
    sheet = load_workbook(io.BytesIO(render(spec, "xlsx")[1])).active
    assert (sheet["B2"].value, sheet["B3"].value) == ("cambridge-housing", "2024-09-09")
    assert sheet.protection.sheet is True
    assert sheet["B3"].protection.locked is True and sheet["C13"].protection.locked is False
    assert sheet["A13"].value == "E07000008" and sheet["C12"].value == "housing_referrals"
    (validation,) = sheet.data_validations.dataValidation
    assert (validation.type, validation.operator, validation.formula1) == ("whole", "greaterThanOrEqual", "0")
    assert "C13" in str(validation.sqref)


def test_csv_template_filled_in_uploads(factory, data_dir):
    with factory() as session:
        spec = template_spec(session, "cambridge-housing", WEEK)
    text = csv_template(spec).decode()
    assert text.splitlines()[0] == "week,area_code,metric,value"
    filled = "\r\n".join(line + ("3" if i else "") for i, line in enumerate(text.splitlines())) + "\r\n"
    receipt = ingest_return(factory, submission(filled.encode(), agency="cambridge-housing"), settings_for(data_dir))
    assert receipt.rows == len(spec.metrics)


def test_blank_cells_in_the_template_are_not_reported_not_zero(factory, data_dir):
    data = filled_template(factory, "cambridge-housing", value=lambda row, col: 5 if col == 3 else None)
    receipt = ingest_return(factory, submission(data, agency="cambridge-housing", filename="r.xlsx"),
                            settings_for(data_dir))
    assert receipt.rows == 1


def _partly_filled(factory, door: str) -> tuple[bytes, str]:
    """The agency's own template, first metric 4 for every area, every other value left blank."""
    if door == "xlsx":
        return filled_template(factory, "cambridge-housing", value=lambda row, col: 4 if col == 3 else None), "r.xlsx"
    with factory() as session:
        spec = template_spec(session, "cambridge-housing", WEEK)
    first = spec.metrics[0][0]
    lines = [line + ("4" if line.split(",")[2] == first else "") if i else line
             for i, line in enumerate(csv_template(spec).decode().splitlines())]
    return ("\r\n".join(lines) + "\r\n").encode(), "r.csv"


@pytest.mark.parametrize("door", ["csv", "xlsx"])
def test_a_blank_value_means_not_reported_through_either_door(factory, data_dir, door):
    """A blank neither counts as zero nor withdraws a figure sent before; the filled values supersede."""
    with factory() as session:
        spec = template_spec(session, "cambridge-housing", WEEK)
    codes = [code for code, _name in spec.areas]
    keys = [key for key, _label, _description in spec.metrics]
    earlier = "week,area_code,metric,value\n" + "".join(f"{WEEK},{c},{k},9\n" for c in codes for k in keys)
    ingest_return(factory, submission(earlier.encode(), agency="cambridge-housing", filename="first.csv"),
                  settings_for(data_dir))
    data, filename = _partly_filled(factory, door)
    receipt = ingest_return(factory, submission(data, agency="cambridge-housing", filename=filename),
                            settings_for(data_dir))
    assert receipt.rows == len(codes) and receipt.superseded == 0
    with factory() as session:
        current = session.execute(sa.select(Metric.key, Observation.value).join(Metric)
                                  .where(Observation.superseded_at.is_(None))).all()
    assert sorted(current) == sorted([(keys[0], 4)] * len(codes) + [(k, 9) for k in keys[1:] for _ in codes])


@pytest.mark.parametrize("door", ["csv", "xlsx"])
def test_a_return_with_every_value_blank_reports_nothing_and_is_refused_alike(factory, data_dir, door):
    with factory() as session:
        spec = template_spec(session, "cambridge-housing", WEEK)
    data = csv_template(spec) if door == "csv" else filled_template(factory, "cambridge-housing",
                                                                    value=lambda row, col: None)
    with pytest.raises(ValidationFailed) as caught:
        ingest_return(factory, submission(data, agency="cambridge-housing", filename=f"r.{door}"),
                      settings_for(data_dir))
    assert caught.value.report().endswith("\n- every value is blank, so the file reports nothing: a blank is "
                                          "'not reported'; type 0 for none")


def test_template_for_another_agency_is_refused(factory, data_dir):
    data = filled_template(factory, "cambridge-housing")
    with pytest.raises(ValidationFailed) as caught:
        ingest_return(factory, submission(data, agency="fenland-housing", filename="r.xlsx"), settings_for(data_dir))
    assert "this template is for the agency 'cambridge-housing'" in caught.value.report()


def test_formula_cells_are_refused_with_row_and_column(factory, data_dir):
    def put_formulas(sheet):
        sheet["D13"] = "=HYPERLINK(\"http://evil.example\",\"x\")"
        sheet["E14"] = "=1+1"

    data = filled_template(factory, "probation-cambs", edit=put_formulas)
    with factory() as session:
        checked = check_submission(session, submission(data, filename="r.xlsx"), settings_for(data_dir))
    assert [(i.row, i.column) for i in checked.errors] == [(13, "D"), (14, "E")]
    assert all("formula is not accepted" in i.message for i in checked.errors)


def test_a_future_week_in_the_template_is_reported_once_at_its_cell(factory, data_dir):
    data = filled_template(factory, "cambridge-housing", week=WEEK)
    with factory() as session:
        checked = check_submission(session, submission(data, agency="cambridge-housing", filename="r.xlsx"),
                                   settings_for(data_dir, today=WEEK.replace(day=1)))
    assert [(i.row, i.column) for i in checked.errors] == [(3, "B")]
    assert "is in the future" in checked.errors[0].message


def test_text_formula_in_a_csv_is_refused_and_never_run(factory, data_dir):
    data = b"week,area_code,metric,value\n2024-09-09,E07000008,releases_total,=cmd|' /C calc'!A0\n" \
           b"2024-09-09,E07000009,releases_total,@SUM(1+1)\n2024-09-09,E07000010,releases_total,+5\n"
    with factory() as session:
        checked = check_submission(session, submission(data), settings_for(data_dir))
    assert [(i.row, i.column) for i in checked.errors] == [(2, "value"), (3, "value")]
    assert "looks like a formula or command" in checked.errors[0].message


def test_openpyxl_reads_with_defusedxml():
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_zip_bomb_is_refused_before_it_is_opened():
    bomb = _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<x/>",
                 "xl/worksheets/sheet1.xml": b"\0" * 30_000_000})
    assert len(bomb) < 100_000
    parsed = parse_xlsx(bomb, max_rows=10, max_unzipped=20_000_000)
    assert "may be a zip bomb" in str(parsed.issues[0])


def test_long_layout_xlsx_is_read(factory):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["week", "area_code", "metric", "value"])
    sheet.append(["2024-09-09", "E07000008", "releases_total", 4])
    out = io.BytesIO()
    book.save(out)
    parsed = parse_xlsx(out.getvalue(), max_rows=10, max_unzipped=10**8)
    assert parsed.issues == [] and [(r.line, r.value, r.refs) for r in parsed.rows] == [(2, "4", ("A", "B", "C", "D"))]


def test_csv_parse_is_unchanged_for_long_files():
    parsed = parse_long_csv(b"week,area_code,metric,value\n2024-09-09,E07000008,releases_total,1\n", max_rows=5)
    assert parsed.rows[0].column(3, "value") == "value"
