"""Component trees as JSON, the form Dash sends to the browser, made once and kept.

`plain` turns a tree into plain data (dicts, lists, strings, numbers); `serialised` goes on to the JSON text,
wrapped as an orjson Fragment. Dash (through plotly's JSON encoder, which uses orjson) copies a Fragment into
its response as it is, so a panel kept this way costs a copy of bytes per request rather than a walk of
thousands of components. plotly still applies its escaping of '<', '>' and '/' to the whole response.
"""

from __future__ import annotations

from typing import Any

import orjson
from dash.development.base_component import Component


def plain(node: Any) -> Any:
    if isinstance(node, Component):
        data = node.to_plotly_json()
        data["props"] = {key: plain(value) for key, value in data["props"].items()}
        return data
    if isinstance(node, list | tuple):
        return [plain(item) for item in node]
    if isinstance(node, dict):
        return {key: plain(value) for key, value in node.items()}
    if hasattr(node, "item") and not isinstance(node, str | bytes):  # a numpy or pandas scalar
        return node.item()
    return node


def serialised(node: Any) -> orjson.Fragment:
    return orjson.Fragment(orjson.dumps(plain(node), option=orjson.OPT_NON_STR_KEYS))
