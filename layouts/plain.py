"""Component trees as JSON, the form Dash sends to the browser, made once and kept.

`plain` turns a tree into plain data (dicts, lists, strings, numbers); `serialised` goes on to the JSON text,
wrapped as an orjson Fragment. Dash (through plotly's JSON encoder, which uses orjson) copies a Fragment into
its response as it is, so a panel kept this way costs a copy of bytes per request rather than a walk of
thousands of components. The kept text is escaped as plotly escapes every answer ('<', '>', '/' and the two
JavaScript line separators as \\u escapes, so nothing in it can close a script tag); plotly escapes the whole
answer again on each request, and finds nothing left to replace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from dash.development.base_component import Component


def _set_props(node: Component) -> dict[str, Any]:
    """The props given to a component, as Component.to_plotly_json reads them, but from the instance's own
    attributes: to_plotly_json asks hasattr of every prop the component could have (a table cell has over a
    hundred), which on a panel of thousands of components cost more than everything else in turning it to JSON."""
    own = vars(node)
    names, wildcards = _PROPS.get(type(node)) or _PROPS.setdefault(
        type(node), (frozenset(node._prop_names), tuple(node._valid_wildcard_attributes)))
    # The instance's few attributes looked up among the class's props, not the other way round: a component sets
    # a handful of the dozens of props it could have. (Key order differs from Dash's; JSON objects have none.)
    return {name: value for name, value in own.items()
            if name in names or (wildcards and name.startswith(wildcards))}


# Per component class: its prop names and its wildcard prefixes (data-, aria-), the same for every instance.
_PROPS: dict[type, tuple[frozenset[str], tuple[str, ...]]] = {}


# Exactly these types are plain already: a figure's arrays are thousands of them, each of which went through
# every check below (hasattr fails slowly) before being returned as it was.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def plain(node: Any) -> Any:
    if type(node) in _PLAIN_TYPES:
        return node
    if isinstance(node, Component):
        return {"props": {key: plain(value) for key, value in _set_props(node).items()},
                "type": node._type, "namespace": node._namespace}
    if isinstance(node, list | tuple):
        return [plain(item) for item in node]
    if isinstance(node, dict):
        return {key: plain(value) for key, value in node.items()}
    if hasattr(node, "item") and not isinstance(node, str | bytes):  # a numpy or pandas scalar
        return node.item()
    return node


# plotly.io._json._swap_orjson, as bytes of UTF-8.
ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"/", b"\\u002f"),
           ("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))


def _json_text(node: Any) -> bytes:
    text = orjson.dumps(plain(node), option=orjson.OPT_NON_STR_KEYS)
    for unsafe, safe in ESCAPES:
        text = text.replace(unsafe, safe)
    return text


def serialised(node: Any) -> orjson.Fragment:
    return orjson.Fragment(_json_text(node))


@dataclass(frozen=True)
class Rendered:
    """A callback's answer kept as JSON: one fragment per output, and its size in bytes (what keeping it costs;
    a Fragment does not say)."""

    parts: tuple[orjson.Fragment, ...]
    nbytes: int
    single: bool

    def value(self) -> orjson.Fragment | tuple[orjson.Fragment, ...]:
        return self.parts[0] if self.single else self.parts


def rendered(built: Any) -> Rendered:
    """A component tree, or a tuple of them (one per output), rendered once to keep (or already rendered:
    a panel assembled from kept parts, fill_slots)."""
    if isinstance(built, Rendered):
        return built
    single = not isinstance(built, tuple)
    texts = [_json_text(part) for part in ((built,) if single else built)]
    return Rendered(tuple(orjson.Fragment(text) for text in texts), sum(len(text) for text in texts), single)


@dataclass(frozen=True)
class Slotted:
    """One output's JSON text with holes in it, each for a string's text inside a JSON string (a table cell in
    a panel's HTML): the text between the holes, kept, so that an answer whose other parts change more often is
    assembled by joining bytes rather than built and serialised again."""

    pieces: tuple[bytes, ...]

    @property
    def nbytes(self) -> int:
        return sum(len(piece) for piece in self.pieces)


def slotted(built: Any, slot: str) -> Slotted:
    """`built` rendered, split at each occurrence of `slot` (letters and digits only: JSON and the escapes leave
    it as it is) inside its strings."""
    if not slot.isascii() or not slot.isalnum():
        raise ValueError("a slot is letters and digits")
    return Slotted(tuple(_json_text(built).split(slot.encode())))


def _inner(text: str) -> bytes:
    """A string as it reads inside a JSON string of the rendered text: quoted by orjson, escaped as _json_text
    escapes (character by character, so a string's text is the same alone as inside a longer one)."""
    encoded = orjson.dumps(text)[1:-1]
    for unsafe, safe in ESCAPES:
        encoded = encoded.replace(unsafe, safe)
    return encoded


def fill_slots(parts: Slotted, texts: Sequence[str]) -> Rendered:
    """The answer `parts` was rendered from, with `texts` in its slots in order, as rendered() gives it."""
    if len(texts) != len(parts.pieces) - 1:
        raise ValueError(f"{len(texts)} texts for {len(parts.pieces) - 1} slots")
    out = [parts.pieces[0]]
    for text, piece in zip(texts, parts.pieces[1:], strict=True):
        out += (_inner(text), piece)
    joined = b"".join(out)
    return Rendered((orjson.Fragment(joined),), len(joined), True)


def to_bytes(answer: Rendered) -> bytes:
    """A rendered answer as bytes to share between processes (maic.picture.SharedCache): a JSON header giving
    each part's length, a newline, then the parts' JSON text as it was rendered. No pickle: reading it back only
    slices bytes."""
    texts = [orjson.dumps(part) for part in answer.parts]  # a Fragment gives its text back only this way
    header = orjson.dumps({"single": answer.single, "sizes": [len(text) for text in texts]})
    return header + b"\n" + b"".join(texts)


def from_bytes(data: bytes) -> Rendered:
    header, _, body = data.partition(b"\n")
    meta = orjson.loads(header)
    parts, start = [], 0
    for size in meta["sizes"]:
        parts.append(orjson.Fragment(body[start:start + size]))
        start += size
    if start != len(body):
        raise ValueError("a shared answer's parts do not add up to its length")
    return Rendered(tuple(parts), len(body), bool(meta["single"]))


def _fill(node: Any, props_by_id: list[tuple[Any, dict[str, Any]]]) -> None:
    if isinstance(node, list):
        for item in node:
            _fill(item, props_by_id)
        return
    if not isinstance(node, dict):
        return
    props = node.get("props")
    if isinstance(props, dict):
        ident = props.get("id")
        if ident is not None:
            for wanted, values in props_by_id:
                if ident == wanted:
                    props.update(values)
        _fill(props.get("children"), props_by_id)


def filled(frame: orjson.Fragment, props_by_id: list[tuple[Any, dict[str, Any]]]) -> orjson.Fragment:
    """A kept page frame with some of its components' props set (by id: a string or a dict), as one answer.

    The values may be kept answers (Fragments, copied in as they are) or plain data and component trees. The
    frame is read back from its JSON (a few hundred components: well under a millisecond), never rebuilt; the
    text is escaped again as a whole, which leaves the kept parts as they were (they hold nothing to escape)."""
    tree = orjson.loads(orjson.dumps(frame))
    _fill(tree, [(ident, {name: value if isinstance(value, orjson.Fragment) else plain(value)
                          for name, value in values.items()}) for ident, values in props_by_id])
    text = orjson.dumps(tree, option=orjson.OPT_NON_STR_KEYS)
    for unsafe, safe in ESCAPES:
        text = text.replace(unsafe, safe)
    return orjson.Fragment(text)
