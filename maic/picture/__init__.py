"""The one query module: every figure anyone sees (panels, exports, shared view, API) is computed here.

A package with one module per panel, all built on `core`. Reads skip the ORM model and return dataclasses
or DataFrames. Import from `maic.picture`, not from the submodules.
"""

from maic.picture.cache import (
    PanelCache,
    RecentViews,
    SharedCache,
    SharedRecentViews,
    SharedWarmer,
    Warmer,
    panel_cache_for,
)
from maic.picture.changes import Change, DataChanges, affecting_stamp, data_changes
from maic.picture.completeness import (
    STATUS_TEXT,
    Completeness,
    completeness,
    completeness_grid,
    completeness_table,
    last_received,
    with_last_received,
)
from maic.picture.core import (
    WEEK,
    PictureQuery,
    areas_in_scope,
    changed_since,
    data_changed_at,
    data_stamp,
    data_version,
    home_lrf,
    incident_start,
    latest_week,
    metric_catalogue,
    metric_key_for,
    resolve_range,
    returns_completeness,
    tranche_markers,
    values,
    visible_at,
    weeks_with_data,
)
from maic.picture.drilldown import (
    Drill,
    FigureRef,
    area_figure,
    cell_figure,
    drill_table,
    returns_behind,
    tile_figure,
)
from maic.picture.export import csv_text, neutralise
from maic.picture.filters import (
    UK_DATE,
    FilterBounds,
    Filters,
    as_at_text_problem,
    as_at_words,
    checked_as_at,
    filter_bounds,
    local_time,
)
from maic.picture.forward import Forward, forward_look, forward_table
from maic.picture.headlines import HEADLINE_METRICS, Headlines, Tile, headlines, headlines_table
from maic.picture.pressure import RAG_WORDS, Pressure, measure_text, pressure, pressure_table, services_at_red
from maic.picture.quotable import QUOTABLE_SHARE, WeekStatus, default_week, week_statuses
from maic.picture.releases import (
    ReleasesByArea,
    ReleaseSeries,
    release_series,
    releases_by_area,
    releases_table,
    series_table,
)
from maic.picture.shortfall import (
    SHORTFALL_METRICS,
    Shortfall,
    shortfall,
    shortfall_sentence,
    shortfall_table,
)

__all__ = [
    "Change", "DataChanges", "affecting_stamp", "data_changes",
    "HEADLINE_METRICS", "SHORTFALL_METRICS", "UK_DATE", "FilterBounds", "Filters", "filter_bounds", "as_at_text_problem", "as_at_words", "checked_as_at", "PanelCache", "panel_cache_for", "RecentViews", "SharedCache", "SharedRecentViews", "SharedWarmer", "Warmer", "headlines_table", "local_time", "RAG_WORDS", "STATUS_TEXT", "WEEK", "Completeness", "Drill", "FigureRef", "Forward",
    "Headlines", "PictureQuery", "Pressure", "ReleaseSeries", "ReleasesByArea", "Shortfall", "Tile",
    "area_figure", "areas_in_scope", "cell_figure", "changed_since", "completeness", "completeness_grid", "completeness_table",
    "csv_text", "data_stamp", "data_version", "drill_table", "forward_look", "forward_table", "headlines", "home_lrf",
    "incident_start", "last_received", "latest_week", "measure_text", "metric_catalogue", "metric_key_for", "neutralise", "pressure",
    "pressure_table", "release_series", "releases_by_area", "releases_table", "resolve_range",
    "returns_completeness", "returns_behind", "series_table", "services_at_red", "shortfall",
    "shortfall_sentence", "shortfall_table", "tile_figure", "tranche_markers", "values", "visible_at", "weeks_with_data",
    "with_last_received",
    "QUOTABLE_SHARE", "WeekStatus", "default_week", "week_statuses", "data_changed_at",
]
