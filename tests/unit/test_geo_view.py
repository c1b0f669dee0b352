"""The map's view (maic/geo.py view_for) from each district's kept extremes equals the view from every point."""

from __future__ import annotations

import math
import random

from maic import geo


def _view_from_every_point(codes, width_px: int = 560, height_px: int = 420) -> tuple[float, float, float]:
    """view_for as it was first written: every point of every district walked."""
    features = geo._features()
    points = [p for c in codes if c in features for p in geo._points(features[c]["geometry"])]
    if not points:
        return 52.4, 0.2, 6.0
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon_span = max(max(lons) - min(lons), 0.05)
    mid_lat = (max(lats) + min(lats)) / 2
    lat_span = max((max(lats) - min(lats)) / math.cos(math.radians(mid_lat)), 0.05)
    zoom = min(math.log2(360 * width_px / 512 / lon_span), math.log2(360 * height_px / 512 / lat_span))
    return round(mid_lat, 4), round((max(lons) + min(lons)) / 2, 4), round(max(zoom - 0.15, 1.0), 2)


def test_the_view_from_kept_extremes_is_the_view_from_every_point():
    codes = sorted(geo.known_codes())
    assert len(codes) > 20
    rng = random.Random(17)
    choices = [[], ["not-a-code"], codes[:1], codes, [*codes[:3], "not-a-code"]]
    choices += [rng.sample(codes, rng.randint(1, 40)) for _ in range(40)]
    for chosen in choices:
        assert geo.view_for(chosen) == _view_from_every_point(chosen), chosen
        assert geo.view_for(iter(chosen), width_px=300, height_px=900) == _view_from_every_point(chosen, 300, 900)
