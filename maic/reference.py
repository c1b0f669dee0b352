"""Reference data (incident, LRFs, areas, agencies, metrics) from YAML into the database, idempotently.

Loading the same file twice changes nothing; a changed population, label or threshold is updated in place.
A file an LRF edited by hand is checked whole first, and refused with every problem named (check_reference).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy import orm

from maic.errors import MaicError
from maic.models import (
    LRF,
    Agency,
    Area,
    Incident,
    IncidentMarker,
    Metric,
    MetricRelation,
    bump_data_version,
    utcnow,
)
from maic.weeks import monday_of

DEFAULT_REFERENCE = Path(__file__).parent / "data" / "reference" / "sds40_east_of_england.yaml"
NEIGHBOUR_KIND = "neighbour_maic"
AREA_CODE = re.compile(r"^[EWSN]\d{8}$")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
METRIC_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
RELATION_NAME = re.compile(r"^\S.*$")
AGGREGATIONS = ("sum", "latest")
RAG_BASES = ("value", "per_10k")


class ReferenceInvalid(MaicError):
    title = "Reference data refused"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"the reference data has {len(problems)} problem(s); nothing was loaded:\n"
                         + "\n".join(f"  - {p}" for p in problems))


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
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise MaicError(f"cannot read the reference file {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise MaicError(f"{path} is not valid YAML{line}: {getattr(exc, 'problem', None) or exc}") from exc
    if not isinstance(data, dict):
        raise MaicError(f"{path} does not hold a mapping with incident, lrfs, agencies and metrics")
    return data


def reference_path(option: str | None, configured: str | None) -> Path:
    """The file to load: the command's --file, else MAIC_REFERENCE_FILE, else the bundled demo reference."""
    return Path(option or configured or DEFAULT_REFERENCE)


def home_code(data: dict[str, Any], home_lrf: str = "") -> str | None:
    """The LRF the file makes home: the one marked `home: true`, else the configured MAIC_HOME_LRF."""
    marked = [lrf.get("code") for lrf in data.get("lrfs") or [] if isinstance(lrf, dict) and lrf.get("home")]
    return marked[0] if marked else (home_lrf or None)


def check_reference(data: dict[str, Any], *, home_lrf: str = "") -> list[str]:
    """Every problem in a reference file, each naming where it is; empty when the file can be loaded."""
    problems: list[str] = []
    for section in ("incident", "lrfs", "agencies", "metrics"):
        if not data.get(section):
            problems.append(f"'{section}' is missing or empty")
    if problems:
        return problems
    incident = data["incident"]
    if not isinstance(incident, dict) or not incident.get("name") or not _is_date(incident.get("start")):
        problems.append("incident: needs a name and a start date (YYYY-MM-DD)")
    problems += _check_lrfs(data["lrfs"], home_lrf)
    lrf_areas = {lrf.get("code"): {a.get("code") for a in lrf.get("areas") or [] if isinstance(a, dict)}
                 for lrf in data["lrfs"] if isinstance(lrf, dict)}
    problems += _check_agencies(data["agencies"], data.get("agency_kinds"), lrf_areas)
    problems += _check_metrics(data["metrics"], {a.get("kind") for a in data["agencies"] if isinstance(a, dict)})
    problems += _check_relations(data.get("metric_relations") or [], data["metrics"])
    return problems


def _entries(section: str, items: list[Any], key: str, pattern: re.Pattern, rule: str, noun: str,
             problems: list[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Each entry of a section whose key is well formed: (where, key, entry). A malformed key is named in
    `problems` and its entry skipped; a repeated one is named and the entry still checked."""
    seen: set[str] = set()
    for i, item in enumerate(items, start=1):
        value = item.get(key) if isinstance(item, dict) else None
        where = f"{section}[{i}] ({value})" if value else f"{section}[{i}]"
        if not isinstance(value, str) or not pattern.match(value):
            problems.append(f"{where}: {rule}")
            continue
        if value in seen:
            problems.append(f"{where}: {noun} '{value}' is listed twice")
        seen.add(value)
        yield where, value, item


def _check_lrfs(lrfs: list[Any], home_lrf: str) -> list[str]:
    problems: list[str] = []
    seen_lrfs: set[str] = set()
    seen_areas: dict[str, str] = {}
    for where, code, lrf in _entries("lrfs", lrfs, "code", SLUG, "code must be lower-case letters, digits and hyphens",
                                     "LRF", problems):
        seen_lrfs.add(code)
        if not lrf.get("name"):
            problems.append(f"{where}: name is missing")
        if not lrf.get("areas"):
            problems.append(f"{where}: lists no areas")
        for area in lrf.get("areas") or []:
            area_code = area.get("code") if isinstance(area, dict) else None
            if not isinstance(area_code, str) or not AREA_CODE.match(area_code):
                problems.append(f"{where}: area {area_code!r} is not an ONS GSS code such as E07000148")
                continue
            if area_code in seen_areas:
                problems.append(f"{where}: area {area_code} is already an area of LRF '{seen_areas[area_code]}'")
            seen_areas[area_code] = code
            if not area.get("name"):
                problems.append(f"{where}: area {area_code} has no name")
            population = area.get("population")
            if population is not None and (not isinstance(population, int) or population < 0):
                problems.append(f"{where}: area {area_code} population {population!r} is not a whole number")
    homes = [lrf.get("code") for lrf in lrfs if isinstance(lrf, dict) and lrf.get("home")]
    if len(homes) > 1:
        problems.append(f"lrfs: {len(homes)} LRFs are marked home ({', '.join(map(str, homes))}); mark one")
    elif homes and home_lrf and homes[0] != home_lrf:
        problems.append(f"lrfs: the file makes '{homes[0]}' home but MAIC_HOME_LRF is '{home_lrf}': write a "
                        f"file for '{home_lrf}' with `maic reference init --lrf {home_lrf}`")
    elif not homes and not home_lrf:
        problems.append("lrfs: no LRF is marked `home: true` (or set MAIC_HOME_LRF)")
    elif not homes and home_lrf not in seen_lrfs:
        problems.append(f"lrfs: MAIC_HOME_LRF is '{home_lrf}', which the file does not list")
    return problems


def _check_agencies(agencies: list[Any], kinds: Any, lrf_areas: dict[str, set[str]]) -> list[str]:
    problems: list[str] = []
    for where, _slug, agency in _entries("agencies", agencies, "slug", SLUG,
                                         "slug must be lower-case letters, digits and hyphens", "agency", problems):
        if not agency.get("name"):
            problems.append(f"{where}: name is missing")
        if isinstance(kinds, dict) and kinds and agency.get("kind") not in kinds:
            problems.append(f"{where}: kind {agency.get('kind')!r} is not one of agency_kinds ({', '.join(kinds)})")
        lrf = agency.get("lrf")
        if lrf not in lrf_areas:
            problems.append(f"{where}: LRF {lrf!r} is not listed under lrfs")
            continue
        areas = agency.get("areas")
        if areas == "all":
            continue
        if not isinstance(areas, list) or not areas:
            problems.append(f"{where}: areas must be 'all' or a list of the LRF's area codes")
            continue
        outside = [str(code) for code in areas if code not in lrf_areas[lrf]]
        if outside:
            problems.append(f"{where}: {', '.join(outside)} {'is not an area' if len(outside) == 1 else 'are not areas'}"
                            f" of LRF '{lrf}'")
    return problems


def _check_metrics(metrics: list[Any], agency_kinds: set[Any]) -> list[str]:
    problems: list[str] = []
    keys = {m.get("key") for m in metrics if isinstance(m, dict)}
    for where, _key, metric in _entries("metrics", metrics, "key", METRIC_KEY,
                                        "key must be lower-case letters, digits and underscores", "metric", problems):
        for name in ("label", "unit", "agency_kind", "panel"):
            if not metric.get(name):
                problems.append(f"{where}: {name} is missing")
        if metric.get("aggregation") not in AGGREGATIONS:
            problems.append(f"{where}: aggregation must be {' or '.join(AGGREGATIONS)}")
        if metric.get("agency_kind") and metric["agency_kind"] not in agency_kinds:
            problems.append(f"{where}: no agency is of kind {metric['agency_kind']!r}, so nobody could send it")
        rag = metric.get("rag")
        if rag:
            basis = rag.get("basis", "value") if isinstance(rag, dict) else None
            if basis not in RAG_BASES and basis not in keys:
                problems.append(f"{where}: rag basis {basis!r} is not value, per_10k or a metric key")
            elif not all(isinstance(rag.get(t), int | float) for t in ("amber", "red")):
                problems.append(f"{where}: rag needs numbers for amber and red")
    return problems


def _check_relations(relations: list[Any], metrics: list[Any]) -> list[str]:
    """A relation between metrics that do not add up (another unit or aggregation) would mislead disclosure
    control, so it is refused with the rest of the file."""
    problems: list[str] = []
    by_key = {m.get("key"): m for m in metrics if isinstance(m, dict)}
    for where, _name, rel in _entries("metric_relations", relations, "name", RELATION_NAME,
                                      "needs a name, a total, a list of parts and a rest label", "relation", problems):
        parts = rel.get("parts")
        if not isinstance(parts, list) or not parts:
            problems.append(f"{where}: parts must list at least one metric key")
            continue
        if not rel.get("rest"):
            problems.append(f"{where}: rest (what the parts leave out, in words) is missing")
        keys = [rel.get("total"), *parts]
        unknown = [str(k) for k in keys if k not in by_key]
        if unknown:
            problems.append(f"{where}: no metric {', '.join(unknown)}")
            continue
        if any(by_key[k].get("aggregation") not in AGGREGATIONS for k in keys):
            continue  # already named under metrics
        if len({(by_key[k].get("unit"), by_key[k].get("aggregation")) for k in keys}) > 1:
            problems.append(f"{where}: its metrics differ in unit or aggregation, so they cannot add up")
    return problems


def _is_date(value: Any) -> bool:
    try:
        _date(value)
    except (TypeError, ValueError):
        return False
    return True


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


def load_reference(session: orm.Session, data: dict[str, Any], *, home_lrf: str = "") -> LoadSummary:
    """Load a checked file; its home LRF (or MAIC_HOME_LRF's, when the file marks none) becomes the only home."""
    problems = check_reference(data, home_lrf=home_lrf)
    if problems:
        raise ReferenceInvalid(problems)
    home = home_code(data, home_lrf)
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
                       "is_home": lrf_data["code"] == home}, summary)
        session.flush()
        lrfs[lrf.code] = lrf
        for area_data in lrf_data["areas"]:
            areas[area_data["code"]] = _upsert(
                session, Area, {"code": area_data["code"]},
                {"name": area_data["name"], "lrf_id": lrf.id, "population": area_data.get("population")}, summary)
    session.flush()
    # A database that served another LRF before: that LRF is a neighbour now, never a second home.
    for other in session.scalars(sa.select(LRF).where(LRF.is_home.is_(True), LRF.code != home)):
        other.is_home = False
        summary.count(summary.updated, LRF.__tablename__)

    for agency_data in data["agencies"]:
        lrf = lrfs[agency_data["lrf"]]
        agency = _upsert(session, Agency, {"slug": agency_data["slug"]},
                         {"name": agency_data["name"], "kind": agency_data["kind"], "lrf_id": lrf.id}, summary)
        codes = agency_data["areas"]
        wanted = [a for a in areas.values() if a.lrf_id == lrf.id] if codes == "all" else [areas[c] for c in codes]
        if {a.id for a in agency.areas} != {a.id for a in wanted}:
            agency.areas = sorted(wanted, key=lambda a: a.name)
            summary.count(summary.updated, "agency_area")

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
    _load_relations(session, data, summary)
    if summary.created or summary.updated:
        # Areas, populations and thresholds shape every figure: open pictures redraw at their next poll.
        bump_data_version(session, utcnow(), first_week=None, written_at=None)
    return summary


def _load_relations(session: orm.Session, data: dict[str, Any], summary: LoadSummary) -> None:
    """Each `metric_relations` entry: {name, total, parts, rest}, as checked by `_check_relations`. The file
    lists them all: a relation it no longer lists is removed (it describes the data, it holds none)."""
    wanted = data.get("metric_relations") or []
    for rel in wanted:
        _upsert(session, MetricRelation, {"name": rel["name"]},
                {"total_key": rel["total"], "part_keys": list(rel["parts"]), "rest_label": rel["rest"]}, summary)
    names = {rel["name"] for rel in wanted}
    for gone in session.scalars(sa.select(MetricRelation).where(MetricRelation.name.not_in(names))):
        session.delete(gone)
        summary.count(summary.updated, MetricRelation.__tablename__)
    session.flush()


def first_week(session: orm.Session, configured: dt.date) -> dt.date:
    """The incident's first week: its start in the reference data (which the demo moves), never before the
    configured MAIC_INCIDENT_START. Returns, the returns page, the shared view and the API all count from it."""
    start = session.scalar(sa.select(sa.func.min(Incident.start)))
    return max(configured, monday_of(start)) if start else configured


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
