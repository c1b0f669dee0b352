"""Personal data is refused with the reason; change warnings; the preview's errors, warnings and totals."""

from __future__ import annotations

import datetime as dt

import pytest

from maic.returns import personal_data
from maic.returns.ingest import check_submission
from maic.returns.preview import build_preview
from tests.fixtures import csv_bytes, ingest, settings_for
from tests.returns.helpers import submission

W = "2024-09-09"
TODAY = dt.date(2024, 12, 2)


@pytest.mark.parametrize("text, kind", [
    ("jo.bloggs@example.org", "an email address"),
    ("QQ 12 34 56 C", "a National Insurance number"),
    ("A1234BC", "a prison number"),
    ("CB1 2AB", "a postcode"),
    ("12/03/1985", "a date of birth"),
    ("John Smith", "a person's name"),
    ("07700 900123", "a phone number"),
])
def test_cells_that_look_like_personal_data(text, kind):
    assert personal_data.cell_reason(text, TODAY) == kind


@pytest.mark.parametrize("text", ["E07000008", "releases_total", "2024-09-09", "12", "East Cambridgeshire",
                                  "2024-W37", "People released"])
def test_ordinary_cells_are_not_personal_data(text):
    assert personal_data.cell_reason(text, TODAY, frozenset({"east cambridgeshire"})) is None


def test_a_column_of_surnames_is_refused_saying_why(factory, data_dir):
    data = csv_bytes([(W, "E07000008", "releases_total", 1, "Smith")], header="week,area_code,metric,value,Surname")
    with factory() as session:
        checked = check_submission(session, submission(data), settings_for(data_dir))
    messages = [str(i) for i in checked.errors]
    assert any("the column 'Surname' looks like personal data (names)" in m and "aggregate counts only" in m
               for m in messages)


def test_a_name_in_a_value_cell_is_refused_as_personal_data_only(factory, data_dir):
    data = csv_bytes([(W, "E07000008", "releases_total", "Jane Doe"), (W, "E07000009", "releases_total", "x")])
    with factory() as session:
        checked = check_submission(session, submission(data), settings_for(data_dir))
    assert [str(i) for i in checked.errors] == [
        "row 2, column value: 'Jane Doe' looks like a person's name: returns carry aggregate counts only, never "
        "details of people; remove it and send the counts"]


def test_a_big_move_on_last_week_is_a_warning_not_an_error(factory, data_dir):
    ingest(factory, data_dir, "probation-cambs", [("2024-09-02", "E07000008", "releases_total", 10),
                                                  ("2024-09-02", "E07000009", "releases_total", 10)])
    data = csv_bytes([(W, "E07000008", "releases_total", 31), (W, "E07000009", "releases_total", 29)])
    with factory() as session:
        checked = check_submission(session, submission(data), settings_for(data_dir, change_factor=3.0))
    assert not checked.errors
    assert [(w.row, w.severity) for w in checked.issues] == [(2, "warning")]
    assert "31 is more than 3 times up on last week's 10" in checked.issues[0].message
    receipt = ingest(factory, data_dir, "probation-cambs", [(W, "E07000008", "releases_total", 31)])
    assert len(receipt.warnings) == 1


def test_preview_lists_totals_that_would_change(factory, data_dir):
    ingest(factory, data_dir, "probation-cambs", [(W, "E07000008", "releases_total", 10),
                                                  (W, "E07000009", "releases_total", 5)])
    data = csv_bytes([(W, "E07000008", "releases_total", 12), (W, "E07000008", "releases_nfa", 2)])
    with factory() as session:
        preview = build_preview(session, submission(data), settings_for(data_dir))
    assert preview.can_commit and preview.rows == 2 and preview.duplicate_of is None
    totals = {t.metric: (t.current, t.after, t.change) for t in preview.totals}
    assert totals == {"releases_total": (15, 17, 2), "releases_nfa": (None, 2, None)}


def test_preview_of_a_bad_file_lists_every_error_and_writes_nothing(factory, data_dir):
    data = csv_bytes([(W, "E07000008", "releases_total", -1), (W, "E99999999", "releases_total", 1)])
    with factory() as session:
        preview = build_preview(session, submission(data), settings_for(data_dir))
    assert not preview.can_commit
    assert [(e.row, e.column) for e in preview.errors] == [(2, "value"), (3, "area_code")]
    assert not list((data_dir / "archive").rglob("*"))
