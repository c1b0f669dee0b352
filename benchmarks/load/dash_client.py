"""A browser's Dash renderer, reduced to the requests it sends: which callbacks fire, in which order, with which
values, taken from the app's own /_dash-layout and /_dash-dependencies (never a hand-written list of requests).

It keeps the page's components and their properties, fires the layout's initial callbacks, applies each answer
(new children bring their own initial callbacks; a changed property fires the callbacks that read it) and
lets a simulated person change a property (pick a week, press a button) as the browser's setProps does. The
rules follow dash-renderer: a callback waits while another pending callback still writes one of its inputs;
`prevent_initial_call` holds a callback back when its outputs arrive with its inputs, not when only its
inputs arrive later; a callback whose inputs are all absent is not fired. Clientside callbacks run in the
browser and send nothing, so they are skipped.

Transport-agnostic: `post(body, label) -> (status, json or None)` sends one callback request, so the same
client runs under Locust (benchmarks/load/swarm.py) and against Flask's test client (its test).
"""

from __future__ import annotations

import html
import json
import queue
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

WILDCARDS = ("ALL", "MATCH", "ALLSMALLER")
MAX_REQUESTS = 200  # far more than any one change of this app sets off: a loop in these rules, not the app
Post = Callable[[dict, str], tuple[int, Any]]


def update_url(page_html: str, base: str = "/dash/") -> str:
    """Where the page sends its callbacks: Dash 4 echoes the page's signed `end_id` (from the _dash-config in
    the HTML) on every callback request, as `?endId=`."""
    found = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>', page_html, re.S)
    end_id = json.loads(html.unescape(found.group(1))).get("end_id") if found else None
    return f"{base}_dash-update-component" + (f"?endId={quote(end_id, safe='~')}" if end_id else "")


def stringify_id(ident: str | dict) -> str:
    """Dash's own key for an id: dict ids as JSON with sorted keys and no spaces."""
    if isinstance(ident, dict):
        return json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return ident


def parse_id(text: str) -> str | dict:
    if text.startswith("{"):
        return json.loads(text)
    return text


def _wild(value: Any) -> str | None:
    if isinstance(value, list) and len(value) == 1 and value[0] in WILDCARDS:
        return value[0]
    return None


@dataclass(frozen=True)
class Dep:
    ident: str | dict  # a plain id, or a dict id whose values may be ["ALL"] / ["MATCH"]
    prop: str

    @property
    def wildcard(self) -> bool:
        return isinstance(self.ident, dict) and any(_wild(v) for v in self.ident.values())

    @property
    def multi(self) -> bool:  # ALL / ALLSMALLER: the value sent is a list
        return isinstance(self.ident, dict) and any(_wild(v) in ("ALL", "ALLSMALLER") for v in self.ident.values())

    def matches(self, ident: str | dict, match: dict | None = None) -> bool:
        if not isinstance(self.ident, dict):
            return self.ident == ident
        if not isinstance(ident, dict) or set(ident) != set(self.ident):
            return False
        for key, wanted in self.ident.items():
            kind = _wild(wanted)
            if kind is None and ident[key] != wanted:
                return False
            if kind == "MATCH" and match is not None and match.get(key) != ident[key]:
                return False
        return True


@dataclass
class Callback:
    output: str  # the request's `output` string, exactly as in the dependencies
    outputs: list[Dep]
    inputs: list[Dep]
    state: list[Dep]
    prevent_initial_call: bool
    multi_output: bool

    @classmethod
    def from_dependency(cls, dep: dict) -> Callback:
        def deps(items: Iterable[dict]) -> list[Dep]:
            return [Dep(parse_id(d["id"]) if isinstance(d["id"], str) else d["id"], d["property"]) for d in items]

        text = dep["output"]
        multi = text.startswith("..") and text.endswith("..")
        parts = text[2:-2].split("...") if multi else [text]
        outputs = []
        for part in parts:
            ident, _, prop = part.rpartition(".")
            outputs.append(Dep(parse_id(ident), prop.split("@", 1)[0]))
        return cls(text, outputs, deps(dep.get("inputs", [])), deps(dep.get("state", [])),
                   bool(dep.get("prevent_initial_call")), multi)

    def match_keys(self) -> list[str]:
        return sorted({k for d in self.outputs + self.inputs for k, v in
                       (d.ident.items() if isinstance(d.ident, dict) else ()) if _wild(v) == "MATCH"})


@dataclass
class Pending:
    callback: Callback
    match: dict | None = None  # the values of the MATCH keys, for a pattern-matching callback
    changed: list[str] = field(default_factory=list)  # "id.prop" that triggered it ([] for an initial call)

    @property
    def key(self) -> tuple[str, str]:
        return self.callback.output, stringify_id(self.match or {})


class DashPage:
    """One browser tab's Dash state: components by id, their properties, and the callbacks of the app."""

    def __init__(self, layout: dict, dependencies: list[dict], *, pathname: str = "/dash/", search: str = ""):
        self.callbacks = [Callback.from_dependency(d) for d in dependencies if not d.get("clientside_function")]
        self.pathname, self.search = pathname, search
        self.props: dict[str, dict[str, Any]] = {}  # stringified id -> props
        self.idents: dict[str, str | dict] = {}
        self.kinds: dict[str, str] = {}  # stringified id -> component type
        self.reported: dict[str, set[str]] = {}  # a dcc.Location's id -> the props it reported on mount
        self.children_of: dict[str, set[str]] = {}  # a component's id -> the ids inside its children
        self.sent: list[str] = []  # every callback sent, in order (its output string): what a test compares
        self.errors: list[str] = []
        self.last_answer: dict[str, float] = {}
        self.root_ids = self._add_tree(layout)

    # --- the component tree ----------------------------------------------------------------------------

    def _add_tree(self, node: Any) -> set[str]:
        """Register every component with an id inside `node`; returns their ids."""
        found: set[str] = set()
        stack = [node]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
                continue
            if not isinstance(item, dict) or "props" not in item:
                continue
            props = item["props"] or {}
            inside = self._children_ids(props)
            if "id" in props and props["id"] is not None:
                key = stringify_id(props["id"])
                self.idents[key] = props["id"]
                self.props[key] = {k: v for k, v in props.items() if k != "id"}
                self.kinds[key] = item.get("type", "")
                self.children_of[key] = inside
                if item.get("type") == "Location":
                    # dcc.Location on mount reports where the browser is, but only for the props the layout left
                    # unset: one the layout sets is kept as it is, and reported to no callback.
                    where = {"pathname": self.pathname, "search": self.search, "hash": "",
                             "href": f"http://localhost{self.pathname}{self.search}"}
                    unset = {name for name in where if props.get(name) is None}
                    self.props[key].update({name: where[name] for name in unset})
                    self.reported[key] = unset
                found.add(key)
            found |= inside
        return found

    def _children_ids(self, props: dict) -> set[str]:
        found: set[str] = set()
        for name, value in props.items():
            if name != "id" and isinstance(value, dict | list):
                found |= self._add_tree(value)
        return found

    def _ids_inside(self, key: str) -> set[str]:
        found, stack = set(), list(self.children_of.get(key, ()))
        while stack:
            inner = stack.pop()
            if inner not in found:
                found.add(inner)
                stack.extend(self.children_of.get(inner, ()))
        return found

    def _remove(self, keys: Iterable[str]) -> None:
        for key in list(keys):
            for inner in self.children_of.pop(key, set()):
                self._remove([inner])
            self.props.pop(key, None)
            self.idents.pop(key, None)
            self.kinds.pop(key, None)
            self.reported.pop(key, None)

    def present(self, dep: Dep, match: dict | None = None) -> list[str]:
        if not dep.wildcard:
            key = stringify_id(dep.ident)
            return [key] if key in self.props else []
        return [k for k, ident in self.idents.items() if dep.matches(ident, match)]

    def value(self, key: str, prop: str) -> Any:
        return self.props.get(key, {}).get(prop)

    def find(self, kind: str | None = None, id_type: str | None = None) -> list[str]:
        """Ids of the components of a type (e.g. "Dropdown"), or of pattern-matching ids of a `type`."""
        return [k for k, ident in self.idents.items()
                if (kind is None or self.kinds.get(k) == kind)
                and (id_type is None or (isinstance(ident, dict) and ident.get("type") == id_type))]

    # --- which callbacks fire --------------------------------------------------------------------------

    def _instances(self, callback: Callback, keys: set[str] | None = None) -> list[dict | None]:
        """The MATCH values a callback runs for (one None for a callback without MATCH)."""
        names = callback.match_keys()
        if not names:
            return [None]
        found = []
        for dep in callback.outputs:
            for key in self.present(dep):
                if keys is not None and key not in keys and not any(
                        k in keys for d in callback.inputs for k in self.present(d, self._match_of(key, names))):
                    continue
                match = self._match_of(key, names)
                if match not in found:
                    found.append(match)
        return found

    def _match_of(self, key: str, names: list[str]) -> dict:
        ident = self.idents.get(key)
        return {n: ident[n] for n in names} if isinstance(ident, dict) else {}

    def _outputs_present(self, callback: Callback, match: dict | None) -> bool:
        return any(self.present(d, match) for d in callback.outputs)

    def _inputs_state(self, callback: Callback, match: dict | None) -> str:
        """'all' present, 'none' present (not fired), or 'some' (the browser reports an error, fires nothing)."""
        missing = [d for d in callback.inputs if not d.multi and not self.present(d, match)]
        if not missing:
            return "all"
        absent_multi = [d for d in callback.inputs if d.multi and not self.present(d, match)]
        return "none" if len(missing) + len(absent_multi) == len(callback.inputs) else "some"

    def layout_callbacks(self, new: set[str], replaced: set[str] = frozenset()) -> list[Pending]:
        """Callbacks to fire because the components `new` appeared (the page's layout, or new children).

        A callback whose outputs appeared makes its initial call (no input changed); one whose inputs appeared
        into outputs already there is sent those inputs as changed. A dcc.Location reports where the browser
        is when it mounts, for the props its layout left unset: those count as changed for the callbacks that read
        them."""
        fired = []
        for callback in self.callbacks:
            for match in self._instances(callback):
                if not self._outputs_present(callback, match):
                    continue
                outputs_new = any(k in new for d in callback.outputs for k in self.present(d, match))
                new_inputs = [f"{k}.{d.prop}" for d in callback.inputs for k in self.present(d, match) if k in new
                              and (not outputs_new or d.prop in self.reported.get(k, ()))]
                if not (outputs_new or new_inputs):
                    continue
                if not outputs_new and any(d.matches(parse_id(k), match) for d in callback.inputs for k in replaced):
                    continue  # its inputs were redrawn, not added
                if callback.prevent_initial_call and outputs_new:
                    continue
                if self._inputs_state(callback, match) != "all":
                    continue
                fired.append(Pending(callback, match or None, new_inputs))
        return fired

    def input_callbacks(self, key: str, prop: str) -> list[Pending]:
        """Callbacks that read `key.prop` as an input: fired when it changes."""
        ident = self.idents.get(key)
        if ident is None:
            return []
        fired = []
        for callback in self.callbacks:
            for dep in callback.inputs:
                if dep.prop != prop or not dep.matches(ident):
                    continue
                names = callback.match_keys()
                match = self._match_of(key, names) if names else None
                if self._outputs_present(callback, match) and self._inputs_state(callback, match) == "all":
                    fired.append(Pending(callback, match, [f"{key}.{prop}"]))
                break
        return fired

    # --- requests --------------------------------------------------------------------------------------

    def _item(self, key: str, prop: str) -> dict:
        return {"id": self.idents[key], "property": prop, "value": self.value(key, prop)}

    def _values(self, deps: list[Dep], match: dict | None) -> list:
        out = []
        for dep in deps:
            keys = self.present(dep, match)
            if dep.multi:
                out.append([self._item(k, dep.prop) for k in keys])
            elif keys:
                out.append(self._item(keys[0], dep.prop))
            else:  # a State that is absent is sent without a value, as the browser does
                out.append({"id": dep.ident, "property": dep.prop})
        return out

    def request_body(self, pending: Pending) -> dict:
        callback, match = pending.callback, pending.match
        outputs = []
        for dep in callback.outputs:
            keys = self.present(dep, match)
            if dep.multi:
                outputs.append([{"id": self.idents[k], "property": dep.prop} for k in keys])
            else:
                outputs.append({"id": self.idents[keys[0]] if keys else dep.ident, "property": dep.prop})
        return {"output": callback.output, "outputs": outputs if callback.multi_output else outputs[0],
                "inputs": self._values(callback.inputs, match), "state": self._values(callback.state, match),
                "changedPropIds": list(pending.changed)}

    def apply(self, answer: dict | None, source: Callback | None = None) -> list[Pending]:
        """Apply a callback's answer (None: no update); returns the callbacks it sets off, never the callback
        that gave it (Dash lets a callback write what it reads without calling itself again)."""
        if not answer:
            return []
        fired: list[Pending] = []
        updates = dict(answer.get("response", {}))
        for side_key, side_props in (answer.get("sideUpdate") or {}).items():
            updates.setdefault(side_key, {}).update(side_props)
        for key, new_props in updates.items():
            key = stringify_id(parse_id(key))
            if key not in self.props:
                continue
            for prop, value in new_props.items():
                self.props[key][prop] = value
                if prop == "children":
                    before = self._ids_inside(key)
                    self._remove(self.children_of.get(key, set()))
                    inside = self._add_tree(value)
                    self.children_of[key] = inside
                    # Redrawn children (a panel's new figures) set off only what children appearing where there
                    # were none would: Chromium, recorded (tests/browser/test_load_client.py), sends no
                    # drill-down callback when a redrawn panel gains a button the old one did not have.
                    fired += self.layout_callbacks(inside - before, replaced=before)
                fired += [p for p in self.input_callbacks(key, prop) if p.callback is not source]
        return fired

    def set_props(self, key: str, **values: Any) -> list[Pending]:
        """A person's change (typing, picking, clicking): the callbacks it sets off, all of them sent the
        change together, as one setProps does."""
        self.props[key].update(values)
        merged: dict[tuple, Pending] = {}
        for prop in values:
            for pending in self.input_callbacks(key, prop):
                if pending.key in merged:
                    merged[pending.key].changed += pending.changed
                else:
                    merged[pending.key] = pending
        return list(merged.values())

    def run(self, fired: list[Pending], post: Post, label: str,
            spawn: Callable[[Callable[[], None]], None] | None = None) -> None:
        """Send the callbacks and everything they set off until the page is quiet. Each answer is applied as it
        arrives and whatever is then ready is sent at once, as dash-renderer does; `spawn` runs a request
        concurrently (a greenlet, a thread), by default each is sent and answered before the next."""
        pending: dict[tuple, Pending] = {}
        flying: dict[tuple, Pending] = {}
        done: queue.Queue = queue.Queue()

        def add(items: list[Pending]) -> None:
            for item in items:
                if item.key in pending:
                    pending[item.key].changed += [c for c in item.changed if c not in pending[item.key].changed]
                else:
                    pending[item.key] = item

        def job(item: Pending, body: dict) -> Callable[[], None]:
            def go() -> None:
                try:
                    done.put((item, *post(body, label)))
                except BaseException:
                    done.put((item, 0, None))
                    raise
            return go

        add(fired)
        sent = 0
        while pending or flying:
            writes = {(k, d.prop) for p in (*pending.values(), *flying.values()) for d in p.callback.outputs
                      for k in self.present(d, p.match)}
            ready = [p for p in pending.values() if p.key not in flying and not any(
                (k, d.prop) in writes for d in p.callback.inputs for k in self.present(d, p.match)
                if not self._writes_itself(p, k, d.prop))]
            if not ready and not flying:  # a cycle: the browser would refuse it too; send what is left one by one
                ready = list(pending.values())[:1]
            for item in ready:
                del pending[item.key]
                if not self._outputs_present(item.callback, item.match):
                    continue  # its outputs went away with the children that held them
                flying[item.key] = item
                self.sent.append(item.callback.output)
                sent += 1
                (spawn or (lambda f: f()))(job(item, self.request_body(item)))
            if sent > MAX_REQUESTS:
                raise RuntimeError(f"more than {MAX_REQUESTS} callbacks from one change: {self.sent[-5:]}")
            if not flying:
                continue
            item, status, answer = done.get()
            del flying[item.key]
            if status == 200 and answer is not None:
                add(self.apply(answer, item.callback))
            elif status != 204:
                self.errors.append(f"{item.callback.output}: HTTP {status}")

    def _writes_itself(self, pending: Pending, key: str, prop: str) -> bool:
        return any(prop == d.prop and key in self.present(d, pending.match) for d in pending.callback.outputs)
