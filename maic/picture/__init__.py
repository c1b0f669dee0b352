"""The one query module: every figure anyone sees (panels, exports, shared view, API) is computed here.

A package with one module per panel, all built on `core`. Reads skip the ORM model and return dataclasses
or DataFrames. Import from `maic.picture`, not from the submodules.
"""

from maic.picture.core import (
    WEEK,
    PictureQuery,
    areas_in_scope,
    data_version,
    home_lrf,
    latest_week,
    returns_completeness,
    shortfall_by_area,
    tranche_markers,
    values,
    visible_at,
    weeks_with_data,
)
from maic.picture.headlines import HEADLINE_METRICS, Headlines, Tile, headlines

__all__ = [
    "HEADLINE_METRICS", "WEEK", "Headlines", "PictureQuery", "Tile", "areas_in_scope", "data_version", "headlines",
    "home_lrf", "latest_week", "returns_completeness", "shortfall_by_area", "tranche_markers", "values",
    "visible_at", "weeks_with_data",
]
