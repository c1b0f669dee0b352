"""The one rounding rule for every figure shown (tiles, panels, tables, exports, shared view, API): half up.

UK official statistics round half up (12.5% is 13%, 5 of 8 is 63%); Python's round() rounds half to even
and binary floats hold 0.125 or 2.675 inexactly, so the value goes through Decimal from its shortest repr.
Round once, where the figure is shown: a total is worked out from unrounded parts and then rounded, so
rounded parts shown beside it may not add up to it (and the screens say so). No database, no web.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

import pandas as pd

from maic import dates


def _decimal(value: float | int | Fraction | Decimal) -> Decimal:
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)


def round_half_up(value: float | int | Fraction | Decimal, digits: int = 0) -> float:
    """value to `digits` decimal places, halves away from zero (as published statistics do)."""
    return float(_decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def whole(value: float | int | Fraction | Decimal) -> int:
    """value to the nearest whole number, halves up."""
    return int(_decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent(numerator: int | float, denominator: int | float) -> int | None:
    """numerator / denominator as a whole percentage, halves up, from exact arithmetic on whole counts;
    None when there is no denominator."""
    if not denominator:
        return None
    if isinstance(numerator, int) and isinstance(denominator, int):
        return whole(Fraction(100 * numerator, denominator))
    return whole(100 * _decimal(numerator) / _decimal(denominator))


def percent_text(share: float | Fraction | None) -> str:
    """A share (0..1) as a whole percentage, e.g. '63%'; '' when there is none."""
    if share is None:
        return ""
    return f"{whole(_decimal(share) * 100)}%"


def fixed(value: float | int, digits: int) -> str:
    """value rounded half up and written with exactly `digits` decimals, e.g. fixed(2.675, 2) == '2.68'."""
    return f"{_decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):,.{digits}f}"


NO_FIGURE = "—"


def cell_text(value: Any) -> str:
    """How a figure reads in a table cell, on screen and in a pack alike: integers with thousands separators,
    other numbers by `fixed` to two places, days in the one date format, no figure as a dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return NO_FIGURE
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dates.day(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return fixed(value, 2) if not value.is_integer() else f"{int(value):,}"
    if hasattr(value, "item"):
        return cell_text(value.item())
    return str(value)
