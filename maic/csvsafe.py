"""Cells safe to open in a spreadsheet: the one neutraliser every CSV export uses (panels, shared, audit).

A text cell starting with = + - @ (or a tab or carriage return) gets a leading apostrophe, so a spreadsheet
shows it as text and never runs it.
"""

from __future__ import annotations

import math

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    # Negative numbers would be caught too; they are figures, not formulas, so they stay as they are.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text
