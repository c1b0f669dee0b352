"""Reference data (incident, LRFs, areas, agencies, metrics) from YAML into the database, idempotently.

Loading the same file twice changes nothing; a changed population, label or threshold is updated in place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import orm

from maic.models import LRF, Agency, Area, Incident, IncidentMarker, Metric

DEFAULT_REFERENCE = Path(__file__).parent / "data" / "reference" / "sds40_east_of_england.yaml"
NEIGHBOUR_KIND = "neighbour_maic"


@dataclass
class LoadSummary:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], kind: str) -> None:
        bucket[kind] = bucket.get(kind, 0) + 1

    def __str__(self) -> str:
        def fmt(d: dict[str, int]) -> str:
            return ", ".join(f"{v} {k}" for k, v in sorted(d.items())) or "nothing"

        return f"created {fmt(self.created)}; updated {fmt(self.updated)}"


def read_reference(path: Path | str = DEFAULT_REFERENCE) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _upsert(session: orm.Session, model, key: dict[str, Any], values: dict[str, Any], summary: LoadSummary):
    row = session.scalar(sa.select(model).filter_by(**key))
    if row is None:
        row = model(**key, **values)
        session.add(row)
        summary.count(summary.created, model.__tablename__)
        return row
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        summary.count(summary.updated, model.__tablename__)
    return row


def load_reference(session: orm.Session, data: dict[str, Any]) -> LoadSummary:
    summary = LoadSummary()
    incident_data = data["incident"]
    incident = _upsert(session, Incident, {"name": incident_data["name"]},
                       {"start": _date(incident_data["start"])}, summary)
    session.flush()
    for marker in incident_data.get("tranches", []):
        _upsert(session, IncidentMarker, {"incident_id": incident.id, "name": marker["name"]},
                {"date": _date(marker["date"]), "note": marker.get("note", "")}, summary)

    lrfs: dict[str, LRF] = {}
    areas: dict[str, Area] = {}
    for lrf_data in data["lrfs"]:
        lrf = _upsert(session, LRF, {"code": lrf_data["code"]},
                      {"name": lrf_data["name"], "region": lrf_data.get("region", ""),
                       "is_home": bool(lrf_data.get("home", False))}, summary)
        session.flush()
        lrfs[lrf.code] = lrf
        for area_data in lrf_data["areas"]:
            areas[area_data["code"]] = _upsert(
                session, Area, {"code": area_data["code"]},
                {"name": area_data["name"], "lrf_id": lrf.id, "population": area_data.get("population")}, summary)
    session.flush()

    for agency_data in data["agencies"]:
        lrf = lrfs[agency_data["lrf"]]
        agency = _upsert(session, Agency, {"slug": agency_data["slug"]},
                         {"name": agency_data["name"], "kind": agency_data["kind"], "lrf_id": lrf.id}, summary)
        codes = agency_data["areas"]
        wanted = [a for a in areas.values() if a.lrf_id == lrf.id] if codes == "all" else [areas[c] for c in codes]
        if {a.id for a in agency.areas} != {a.id for a in wanted}:
            agency.areas = sorted(wanted, key=lambda a: a.name)

    for order, metric_data in enumerate(data["metrics"]):
        rag = metric_data.get("rag") or {}
        _upsert(session, Metric, {"key": metric_data["key"]}, {
            "label": metric_data["label"],
            "description": metric_data.get("description", ""),
            "unit": metric_data["unit"],
            "agency_kind": metric_data["agency_kind"],
            "panel": metric_data["panel"],
            "aggregation": metric_data["aggregation"],
            "shareable": bool(metric_data.get("shareable", False)),
            "rag_basis": rag.get("basis"),
            "rag_amber": rag.get("amber"),
            "rag_red": rag.get("red"),
            "sort_order": order,
        }, summary)
    session.flush()
    return summary


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
