"""Chart layouts that stay readable however few areas a chart has."""

from __future__ import annotations

import pytest

from maic.figures import shortfall_bars
from maic.picture.shortfall import ShortfallRow


def _row(code: str) -> ShortfallRow:
    return ShortfallRow(code, f"Area {code}", nfa=1, awaiting=2, demand=3, capacity=4, in_ta=3, spare=1,
                        shortfall=2, change=None)


@pytest.mark.parametrize("areas", [1, 2, 12])
def test_the_shortfall_legend_never_sits_on_the_axis_title(areas):
    """Below the bars, the legend sat on 'Households / places' when one area made the chart short (seen in a
    screenshot of Fenland alone): it goes above the plot, in the top margin kept for it."""
    figure = shortfall_bars([_row(f"E0{i}") for i in range(areas)])
    layout = figure["layout"]
    assert layout["legend"]["y"] >= 1 and layout["legend"]["yanchor"] == "bottom"
    assert layout["margin"]["t"] >= 30
    assert layout["xaxis"]["title"]
