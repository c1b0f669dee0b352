"""Component trees as plain JSON data (dicts, lists, strings, numbers), the form Dash sends to the browser.

A panel's tree is built once per data version and kept in this form: converting it is the cost Dash would
otherwise pay on every request, and orjson serialises plain data in one pass with no fallback walk.
"""

from __future__ import annotations

from typing import Any

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
