"""The briefing document model: what a pack says, as plain JSON-able data, whoever it is for.

A pack is a cover, key points, a basis (completeness before any figure), sections (each a sentence, charts
and tables), and the figures it quoted keyed by metric, area and week (to find later revisions). Built by
maic.briefing.content (SCG), .neighbour and .comms; drawn by maic.briefing.render. No database, no web.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from maic.rounding import cell_text

SCG, NEIGHBOUR, COMMS = "scg", "neighbour", "comms"
AUDIENCES = (SCG, NEIGHBOUR, COMMS)
AUDIENCE_NAMES = {SCG: "SCG briefing pack", NEIGHBOUR: "Neighbours' pack", COMMS: "Warn and Inform brief"}
REVISED_MARK = "✱"


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[list[str]]]  # each cell [text, css class]; the first cell of a row is its header

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, caption: str, *, drop: tuple[str, ...] = ("Code",)) -> Table:
        columns = [str(c) for c in frame.columns if str(c) not in drop]
        rows = []
        for record in frame.to_dict("records"):
            cells = []
            for column in columns:
                text = cell_text(record[column])
                if column == "Revised since":
                    text = f"{REVISED_MARK} revised" if text == "yes" else ""
                cells.append([text, "num" if _is_number(record[column]) else ""])
            rows.append(cells)
        return cls(caption, columns, rows)


@dataclass
class Chart:
    figure: dict[str, Any]
    alt: str


@dataclass
class Section:
    key: str
    title: str
    sentences: list[str] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Document:
    audience: str
    title: str
    lrf: str
    incident: str
    marking: str
    handling: str
    as_at: str  # ISO, naive UTC
    as_at_text: str
    week: str | None  # ISO Monday
    week_text: str
    scope_text: str
    version: str
    key_points: list[str] = field(default_factory=list)
    basis: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    # "metric|area|week" -> value: every figure the pack is made of, to find the ones revised since.
    figures: dict[str, int] = field(default_factory=dict)
    # The headline figures by tile key (None: no figure), compared with the next pack.
    headline: dict[str, int | None] = field(default_factory=dict)
    demo: bool = False
    draft: bool = False
    approved: str = ""  # "Approved by NAME on TIME" once an analyst approved a Warn and Inform brief
    made_at_text: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Document:
        data = dict(data)
        data["sections"] = [Section(**{**s, "charts": [Chart(**c) for c in s["charts"]],
                                       "tables": [Table(**t) for t in s["tables"]]}) for s in data["sections"]]
        return cls(**data)

    def text_lines(self) -> list[str]:
        """Every sentence in the pack, for tests and for the plain-text check of the figures."""
        out = [*self.key_points, *self.basis]
        for s in self.sections:
            out += [*s.sentences, *s.bullets, *s.notes]
        return out


def figure_key(metric: str, area: str, week: dt.date) -> str:
    return f"{metric}|{area}|{week.isoformat()}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value))


def signed(value: int | None) -> str:
    if value is None:
        return "no change shown"
    return f"{value:+,}" if value else "no change"
