"""Parsing long CSV returns: encodings, headers and shape problems, each with its line."""

from __future__ import annotations

import pytest

from maic.returns.parse import parse_long_csv
from maic.returns.validate import parse_count

GOOD = "week,area_code,metric,value\n2024-09-09,E07000008,releases_total,12\n"


@pytest.mark.parametrize("data", [
    GOOD.encode("utf-8"),
    b"\xef\xbb\xbf" + GOOD.encode("utf-8"),
    GOOD.encode("utf-16"),
    GOOD.replace("releases_total", "releases_total").encode("cp1252"),
    GOOD.replace("\n", "\r\n").encode("utf-8"),
])
def test_reads_the_encodings_agencies_send(data):
    parsed = parse_long_csv(data, max_rows=10)
    assert parsed.issues == []
    assert [(r.line, r.area_code, r.value) for r in parsed.rows] == [(2, "E07000008", "12")]


def test_windows_1252_text_is_read_not_refused():
    data = "week,area_code,metric,value\n2024-09-09,E07000008,caf\xe9,1\n".encode("cp1252")
    parsed = parse_long_csv(data, max_rows=10)
    assert parsed.encoding == "cp1252" and parsed.rows[0].metric == "caf\xe9"


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"week,area_code,metric,value\n", "header but no data rows"),
    (b"week,area,metric,value\n2024-09-09,E07000008,x,1\n", "missing column(s)"),
    (b"week,area_code,metric,value,name\n2024-09-09,E07000008,x,1,Bob\n", "unexpected column(s)"),
    (b"\x00\x01\x02PK\x03\x04binary", "not a text file"),
])
def test_shape_problems_are_named(data, message):
    parsed = parse_long_csv(data, max_rows=10)
    assert not parsed.rows or parsed.issues
    assert any(message in str(i) for i in parsed.issues), parsed.issues


@pytest.mark.parametrize("header", [
    "Week,Area_Code,METRIC,Value",  # case
    " week , area_code,metric ,value ",  # surrounding spaces
    "week,Area Code,metric,value",  # an inner space for the underscore
    "week,area_code,metric,value,",  # a trailing comma: an empty column with no heading
])
def test_headers_differing_only_in_case_or_spaces_are_the_same_columns(header):
    trailing = "," * (header.count(",") - 3)
    parsed = parse_long_csv(f"{header}\n2024-09-09,E07000008,releases_total,12{trailing}\n".encode(), max_rows=10)
    assert parsed.issues == []
    assert [(r.week, r.area_code, r.metric, r.value) for r in parsed.rows] == [
        ("2024-09-09", "E07000008", "releases_total", "12")]


@pytest.mark.parametrize("header, where", [
    ("week,area_code,metric,value,value", "column 5: the column 'value' appears 2 times (columns 4 and 5"),
    ("Value,week,area_code,metric, VALUE", "column 5: the column 'value' appears 2 times (columns 1 and 5"),
    ("week,week,area_code,metric,value,week", "the column 'week' appears 3 times (columns 1, 2 and 6"),
])
def test_a_repeated_column_is_refused_naming_it(header, where):
    cells = ",".join("1" for _ in header.split(","))
    parsed = parse_long_csv(f"{header}\n{cells}\n".encode(), max_rows=10)
    assert not parsed.rows
    assert any(where in str(i) for i in parsed.issues), parsed.issues


def test_a_value_under_a_blank_heading_is_refused_with_its_row_and_column():
    parsed = parse_long_csv(b"week,,area_code,metric,value\n2024-09-09,,E07000008,releases_total,1\n"
                            b"2024-09-09,12,E07000009,releases_total,2\n2024-09-09,13,E07000010,releases_total,3\n",
                            max_rows=10)
    assert [str(i) for i in parsed.issues] == [
        "row 3, column 2: '12' is in a column with no heading: a return holds only its named columns; delete it "
        "or the column"]


def test_a_blank_value_is_read_as_blank_for_the_rules_to_treat_as_not_reported():
    parsed = parse_long_csv(GOOD.encode() + b"2024-09-09,E07000009,releases_total,\n", max_rows=10)
    assert parsed.issues == [] and [r.value for r in parsed.rows] == ["12", ""]


def test_row_limit_is_enforced_with_the_line():
    data = GOOD.encode() + b"2024-09-09,E07000009,releases_total,1\n"
    parsed = parse_long_csv(data, max_rows=1)
    assert any("more than 1 data rows" in str(i) and i.row == 3 for i in parsed.issues)


def test_ragged_row_names_its_line():
    parsed = parse_long_csv(GOOD.encode() + b"2024-09-09,E07000009\n", max_rows=10)
    assert [str(i) for i in parsed.issues] == ["row 3: 2 cells where the header has 4"]


@pytest.mark.parametrize("text, value", [("0", 0), ("12", 12), (" 7 ", 7), ("12.0", 12), ("1,200", 1200)])
def test_counts(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text, message", [
    ("-1", "negative"), ("2.5", "not a whole number"), ("twelve", "not a number"), ("", "empty"),
    ("=1+1", "not a number"), ("1e3", "not a whole number"), ("99999999999", "larger than any plausible"),
])
def test_bad_counts(text, message):
    with pytest.raises(ValueError, match=message):
        parse_count(text)
