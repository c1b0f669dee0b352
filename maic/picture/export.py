"""CSV export of a panel's table: what the reader sees, headed by the marking, the as-at time and the filters.

Safe against formula injection: a cell starting with = + - @ (or a tab or carriage return) is prefixed with
an apostrophe so that a spreadsheet shows it as text and never runs it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable

import pandas as pd

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    # Negative numbers would be caught too; they are figures, not formulas, so they stay as they are.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_text(table: pd.DataFrame, *, title: str, marking: str, as_at: str,
             filters: Iterable[tuple[str, str]]) -> str:
    """The panel's table as CSV, with marking, title, as-at and filters above it and the marking again below."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(marking)])
    writer.writerow([neutralise(title)])
    writer.writerow(["As at", neutralise(as_at)])
    for name, value in filters:
        writer.writerow([neutralise(name), neutralise(value)])
    writer.writerow([])
    writer.writerow([neutralise(c) for c in table.columns])
    for row in table.itertuples(index=False):
        writer.writerow([neutralise(_plain(v)) for v in row])
    writer.writerow([])
    writer.writerow([neutralise(marking)])
    return buffer.getvalue()


def _plain(value: object) -> object:
    """numpy scalars to Python ones, so that numbers are recognised as numbers."""
    return value.item() if hasattr(value, "item") else value
