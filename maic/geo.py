"""District boundaries bundled with the package (maic/data/geo/*.geojson), for maps that work offline.

Owns loading the GeoJSON, picking the features for a set of areas and the map view (centre and zoom) that
shows them. The licence and attribution travel with the data (maic/data/geo/LICENCE.md) and ATTRIBUTION is
shown under every map. Never imports dash or plotly.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

GEO_DIR = Path(__file__).parent / "data" / "geo"
ATTRIBUTION = ("Boundaries: Martin Chorley (github.com/martinjc/UK-GeoJSON), CC BY 4.0. Contains OS data © Crown "
               "copyright and database right 2014; contains National Statistics data © Crown copyright and database "
               "right 2014 (OGL v3.0).")


@functools.cache
def _features() -> dict[str, dict[str, Any]]:
    """Every bundled district by its GSS code, read once per process (the files never change at run time)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(GEO_DIR.glob("*.geojson")):
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            out[feature["properties"]["code"]] = feature
    return out


BOUNDARIES_FILE = GEO_DIR / "districts.geojson"
BOUNDARIES_PATH = "/geo/districts.geojson"


def known_codes() -> set[str]:
    return set(_features())


def district_names() -> dict[str, str]:
    """Every bundled district's name by its GSS code."""
    return {code: feature["properties"]["name"] for code, feature in _features().items()}


def bordering(codes: Iterable[str]) -> set[str]:
    """The bundled districts that share a boundary with any of these (and are not among them).

    The shapes come from one topology, so neighbours share their boundary's points exactly (on the 0.0001
    degree grid): a shared point is a shared border."""
    wanted = set(codes)
    features = _features()
    ours = {(round(lon, 4), round(lat, 4)) for c in wanted if c in features for lon, lat in _points(features[c]["geometry"])}
    return {code for code, feature in features.items() if code not in wanted
            and any((round(lon, 4), round(lat, 4)) in ours for lon, lat in _points(feature["geometry"]))}


@functools.cache
def boundaries_url() -> str:
    """Where browsers fetch the boundaries (maic/web/boundaries.py), with the file's hash so that a new file is
    a new URL: the browser keeps one copy and maps never carry their shapes in every panel response."""
    digest = hashlib.sha256(BOUNDARIES_FILE.read_bytes()).hexdigest()[:12]
    return f"{BOUNDARIES_PATH}?v={digest}"


def _points(geometry: dict[str, Any]) -> Iterator[tuple[float, float]]:
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        for ring in polygon:
            yield from ((lon, lat) for lon, lat in ring)


def view_for(codes: Iterable[str], *, width_px: int = 560, height_px: int = 420) -> tuple[float, float, float]:
    """(centre latitude, centre longitude, zoom) that fits the districts in a map of about the given size."""
    boxes = [box for box in map(_box, codes) if box is not None]
    if not boxes:
        return 52.4, 0.2, 6.0
    # The extremes of every point are the extremes of each district's extremes.
    min_lon, max_lon = min(b[0] for b in boxes), max(b[1] for b in boxes)
    min_lat, max_lat = min(b[2] for b in boxes), max(b[3] for b in boxes)
    lon_span = max(max_lon - min_lon, 0.05)
    # Web Mercator: latitude spans stretch by 1/cos(latitude).
    mid_lat = (max_lat + min_lat) / 2
    lat_span = max((max_lat - min_lat) / math.cos(math.radians(mid_lat)), 0.05)
    zoom = min(math.log2(360 * width_px / 512 / lon_span), math.log2(360 * height_px / 512 / lat_span))
    return round(mid_lat, 4), round((max_lon + min_lon) / 2, 4), round(max(zoom - 0.15, 1.0), 2)


@functools.cache
def _box(code: str) -> tuple[float, float, float, float] | None:
    """A bundled district's (min lon, max lon, min lat, max lat); None for a code with no shape. Kept: the map's
    view is asked for on every new data version, and walking every point of fifty districts cost more than the
    panel's queries."""
    feature = _features().get(code)
    if feature is None:
        return None
    points = list(_points(feature["geometry"]))
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return min(lons), max(lons), min(lats), max(lats)
