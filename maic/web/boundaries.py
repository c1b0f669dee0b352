"""The bundled district boundaries for the maps, fetched by the browser (plotly.js) once and kept.

The URL carries the file's hash (maic.geo.boundaries_url), so the answer may be cached for a long time.
Boundaries are open data (see maic/data/geo/LICENCE.md), but like every page they are for signed-in users.
"""

from __future__ import annotations

from flask import Blueprint, send_file

from maic import geo

bp = Blueprint("boundaries", __name__)
A_YEAR = 365 * 24 * 3600


@bp.get(geo.BOUNDARIES_PATH)
def districts():
    return send_file(geo.BOUNDARIES_FILE, mimetype="application/json", max_age=A_YEAR, conditional=True)


def init_app(app) -> None:
    app.register_blueprint(bp)
