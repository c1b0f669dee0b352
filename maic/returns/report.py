"""Every problem found in a file as a CSV (row, column, kind, problem): the full list behind a preview that shows
only the first ones. Cells are neutralised (maic.csvsafe), since messages quote what the file held."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from maic.csvsafe import neutralise
from maic.errors import Issue

HEADER = ("row", "column", "kind", "problem")


def problems_csv(issues: Iterable[Issue]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows((neutralise(i.row), neutralise(i.column or ""), i.severity, neutralise(i.message))
                     for i in issues)
    return out.getvalue()
