"""CSV export of a panel's table: what the reader sees, headed by the marking, the as-at time and the filters.

Safe against formula injection: every cell goes through maic.csvsafe.neutralise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

import pandas as pd

from maic.csvsafe import neutralise


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
    """numpy scalars to Python ones, so that numbers are recognised as numbers; a missing figure is blank."""
    if value is pd.NA or value is None:
        return None
    return value.item() if hasattr(value, "item") else value


def whole_numbers(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Count columns as pandas' nullable integers: a blank cell no longer turns a column of counts into floats
    (which exports wrote as "6.0")."""
    for column in columns:
        table[column] = pd.array([None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else int(v)
                                  for v in table[column]], dtype="Int64")
    return table
