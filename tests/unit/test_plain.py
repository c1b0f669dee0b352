"""Kept panel answers (layouts/plain.py): the same JSON Dash would send, escaped as plotly escapes it."""

from __future__ import annotations

import json

import numpy as np
from dash import dcc, html
from plotly.io.json import to_json_plotly

from layouts.plain import plain, serialised


def test_a_kept_answer_is_what_dash_would_have_sent():
    tree = html.Div(id="x", children=["</script><script>alert(1)</script> a/b \u2028", np.int64(7),
                                      dcc.Graph(figure={"data": [{"type": "bar", "y": [1, None]}]})])
    kept = to_json_plotly({"response": {"x": {"children": serialised(tree)}}})
    direct = to_json_plotly({"response": {"x": {"children": tree}}})
    assert json.loads(kept) == json.loads(direct)
    assert "<" not in kept and ">" not in kept and "/" not in kept and "\u2028" not in kept
    assert plain(tree)["props"]["children"][1] == 7 and type(plain(tree)["props"]["children"][1]) is int
