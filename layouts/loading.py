"""A panel that waits for the server shows it: the old content dimmed under a spinner, never passed off as new."""

from __future__ import annotations

from dash import dcc

# Shown only after a short delay, so the live poll's quick redraws do not flicker.
DELAY_MS = 250


def waiting(child) -> dcc.Loading:
    return dcc.Loading(child, type="circle", delay_show=DELAY_MS, parent_className="loading-panel",
                       overlay_style={"visibility": "visible", "opacity": 0.4, "filter": "grayscale(1)"})
