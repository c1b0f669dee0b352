"""Kept panel answers (layouts/plain.py): the same JSON Dash would send, escaped as plotly escapes it."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from dash import dcc, html
from plotly.io.json import to_json_plotly

from layouts.plain import fill_slots, plain, rendered, serialised, slotted


def test_a_kept_answer_is_what_dash_would_have_sent():
    tree = html.Div(id="x", children=["</script><script>alert(1)</script> a/b \u2028", np.int64(7),
                                      dcc.Graph(figure={"data": [{"type": "bar", "y": [1, None]}]})])
    kept = to_json_plotly({"response": {"x": {"children": serialised(tree)}}})
    direct = to_json_plotly({"response": {"x": {"children": tree}}})
    assert json.loads(kept) == json.loads(direct)
    assert "<" not in kept and ">" not in kept and "/" not in kept and "\u2028" not in kept
    assert plain(tree)["props"]["children"][1] == 7 and type(plain(tree)["props"]["children"][1]) is int


def _dash_plain(node):
    """What plain() must equal: Dash's own to_plotly_json, all the way down."""
    from dash.development.base_component import Component

    if isinstance(node, Component):
        data = node.to_plotly_json()
        data["props"] = {key: _dash_plain(value) for key, value in data["props"].items()}
        return data
    if isinstance(node, list | tuple):
        return [_dash_plain(item) for item in node]
    if isinstance(node, dict):
        return {key: _dash_plain(value) for key, value in node.items()}
    return node.item() if hasattr(node, "item") and not isinstance(node, str | bytes) else node


def test_plain_reads_the_same_props_as_dash_set_none_wildcards_and_set_later():
    cell = html.Td("3", **{"data-area": "E07000008", "aria-label": "three"}, className=None)
    cell.style = {"textAlign": "right"}  # set after construction, as layouts sometimes do
    tree = html.Div(id={"type": "panel", "key": "x"}, children=[
        html.Table([html.Tbody([html.Tr([cell, html.Th("Area", scope="row")])])]),
        dcc.Dropdown(options=[{"label": "a", "value": 1}], value=None, clearable=False),
        dcc.Markdown("**x**"), html.Button("Go", n_clicks=0, disabled=False), "text", 4.5, None,
    ])
    assert plain(tree) == _dash_plain(tree)
    assert json.dumps(plain(tree), sort_keys=True, default=str) == json.dumps(_dash_plain(tree), sort_keys=True,
                                                                             default=str)
    assert plain(cell)["props"]["className"] is None and "aria-label" in plain(cell)["props"]


def test_an_answer_filled_in_its_slots_is_the_answer_rendered_whole():
    texts = ["</td><script>\u2028\u2029 \"quoted\" back\\slash a/b", "Mon 23 Nov 2026 10:36 (GMT) é ✱", "", "never"]

    def tree(cells):
        return [html.P("a summary </p>"), dcc.Markdown("<table>" + "".join(f"<td>{c}</td>" for c in cells) + "</table>")]

    slot = "maicslot0123456789abcdef"
    parts = slotted(tree([slot] * len(texts)), slot)
    assert len(parts.pieces) == len(texts) + 1
    filled = fill_slots(parts, texts)
    whole = rendered(tree(texts))
    assert orjson.dumps(filled.value()) == orjson.dumps(whole.value()) and filled.nbytes == whole.nbytes
    assert rendered(filled) is filled  # an assembled answer is kept as it is
    with pytest.raises(ValueError):
        fill_slots(parts, texts[:-1])
    with pytest.raises(ValueError):
        slotted(tree([]), "a-slot")
