"""A starting reference file for an LRF setting up its own instance (`maic reference init --lrf CODE`).

The LRF's districts come from a source reference file (the bundled one by default) or are listed by GSS code
and named from the bundled boundaries; its neighbours are the source file's LRFs whose districts border it.
The incident, agency kinds and metric catalogue are copied, so shared metrics keep the keys neighbours use.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from maic import geo
from maic.errors import MaicError
from maic.reference import NEIGHBOUR_KIND, ReferenceInvalid, check_reference
from maic.sharing.federation import NEIGHBOUR_AGENCY  # the agency a neighbour's figures are ingested as

PER_DISTRICT_KINDS = ("housing",)  # district councils' housing teams: one agency per district
ONE_LINE_EACH = ("agencies", "metrics", "metric_relations")  # sections written one item a line, as in the bundled file

HEADER = """\
# Reference data for {name} ({code}), written by `maic reference init --lrf {code}` as a starting point.
# Edit it, then load it:  MAIC_REFERENCE_FILE={file} MAIC_HOME_LRF={code} maic reference load
# Loading again after an edit updates names, populations and thresholds in place; a file with a problem
# is refused whole, each problem named.
#
# What to check before the first load:
#  - lrfs: your districts (ONS GSS codes) and their populations (ONS mid-year estimates; `null` means not
#    known: rates per 10,000 and per-10k RAG are then not computed for that district). The other LRFs are
#    your neighbours: their `<lrf>-maic` agency is how their shared figures arrive (`maic federation`).
#  - agencies: one housing team per district and one agency per other kind for the whole LRF, with
#    placeholder names. Rename, split (list the areas each covers) or remove them; keep the slugs short.
#  - metrics: the incident's catalogue, copied. Keep the keys of shareable metrics as they are: federation
#    matches figures between instances by key. Thresholds (rag) are yours to set.
"""

SECTION_NOTES = {
    "incident": "# The incident and its dates (tranche markers show on the weekly series).",
    "lrfs": "# Your LRF (home: true) first, then the neighbouring LRFs whose districts border yours.",
    "agency_kinds": "# Agency kinds: which metrics an agency may send is decided by its kind.",
    "agencies": "# Agencies that send returns, and the neighbouring LRFs' information cells (federation).",
    "metrics": "# Metrics. aggregation: sum (flows) or latest (stocks). rag: {basis: value | per_10k | <metric key>,\n"
               "# amber, red}. shareable: neighbours see it (with small numbers suppressed).",
    "metric_relations": "# How metrics add up: a total is its parts plus a rest nobody publishes. Disclosure control\n"
                        "# protects linked figures together. Keep these as they are unless the metrics change.",
}


def draft_reference(source: dict[str, Any], lrf_code: str, *, name: str | None = None, region: str | None = None,
                    area_codes: list[str] | None = None, neighbour_codes: list[str] | None = None) -> dict[str, Any]:
    """The reference data for `lrf_code` as home, built from `source`; raises MaicError naming what is wrong."""
    lrfs = {lrf["code"]: lrf for lrf in source["lrfs"]}
    known = lrfs.get(lrf_code, {})
    areas = _home_areas(source, lrf_code, known, area_codes)
    if not (name or known.get("name")):
        raise MaicError(f"LRF '{lrf_code}' is not in the source file: give its name with --name")
    ours = {a["code"] for a in areas}
    neighbours = _neighbours(lrfs, lrf_code, ours, neighbour_codes)
    home = {"code": lrf_code, "name": name or known["name"], "region": region if region is not None
            else known.get("region", ""), "home": True, "areas": areas}
    data = {
        "incident": source["incident"],
        "lrfs": [home] + neighbours,
        "agency_kinds": dict(source.get("agency_kinds") or {}),
        "agencies": _agencies(source, home) + [
            {"slug": NEIGHBOUR_AGENCY.format(lrf=n["code"]), "name": f"{n['name']} information cell",
             "kind": NEIGHBOUR_KIND, "lrf": n["code"], "areas": "all"} for n in neighbours],
        "metrics": source["metrics"],
        "metric_relations": source.get("metric_relations") or [],
    }
    if NEIGHBOUR_KIND not in data["agency_kinds"] and data["agency_kinds"]:
        data["agency_kinds"][NEIGHBOUR_KIND] = "A neighbouring LRF's information cell (shared figures)"
    problems = check_reference(data)
    if problems:
        raise ReferenceInvalid(problems)
    return data


def _home_areas(source: dict[str, Any], lrf_code: str, known: dict[str, Any],
                area_codes: list[str] | None) -> list[dict[str, Any]]:
    if not area_codes:
        if not known:
            listed = ", ".join(lrf["code"] for lrf in source["lrfs"])
            raise MaicError(f"LRF '{lrf_code}' is not in the source file (it lists {listed}): list its districts "
                            "with --areas E07000xxx,E06000xxx and give its --name")
        return [dict(area) for area in known["areas"]]
    names = geo.district_names()
    unknown = [code for code in area_codes if code not in names]
    if unknown:
        raise MaicError(f"{', '.join(unknown)}: not a district in the bundled boundaries (maic/data/geo), so "
                        "it could not be named or drawn; check the GSS code (2023 codes, such as E07000148)")
    populations = {a["code"]: a.get("population") for lrf in source["lrfs"] for a in lrf["areas"]}
    return [{"code": code, "name": names[code], "population": populations.get(code)}
            for code in dict.fromkeys(area_codes)]


def _neighbours(lrfs: dict[str, dict[str, Any]], lrf_code: str, ours: set[str],
                neighbour_codes: list[str] | None) -> list[dict[str, Any]]:
    others = {code: lrf for code, lrf in lrfs.items() if code != lrf_code}
    if neighbour_codes is None:
        border = geo.bordering(ours)
        chosen = [code for code, lrf in others.items() if any(a["code"] in border for a in lrf["areas"])]
    else:
        unknown = [code for code in neighbour_codes if code not in others]
        if unknown:
            raise MaicError(f"--neighbours: {', '.join(unknown)} not an LRF of the source file "
                            f"(it lists {', '.join(others)})")
        chosen = list(dict.fromkeys(neighbour_codes))
    out = []
    for code in chosen:
        lrf = others[code]
        areas = [dict(a) for a in lrf["areas"] if a["code"] not in ours]  # a district is in one LRF only
        if areas:
            out.append({"code": code, "name": lrf["name"], "region": lrf.get("region", ""), "areas": areas})
    return out


def _agencies(source: dict[str, Any], home: dict[str, Any]) -> list[dict[str, Any]]:
    """Placeholder agencies: one per district for the per-district kinds, one for the LRF for every other kind
    that owns a metric."""
    described = source.get("agency_kinds") or {}
    owning = [m["agency_kind"] for m in source["metrics"]]
    kinds = [k for k in [*described, *owning] if k != NEIGHBOUR_KIND and k in owning]
    short = re.sub(r"\s+LRF$", "", home["name"])
    agencies: list[dict[str, Any]] = []
    for kind in dict.fromkeys(kinds):
        if kind in PER_DISTRICT_KINDS:
            agencies += [{"slug": f"{_slug(area['name'])}-{_slug(kind)}", "name": f"{area['name']} council {kind}",
                          "kind": kind, "lrf": home["code"], "areas": [area["code"]]} for area in home["areas"]]
        else:
            label = described.get(kind, kind.replace("_", " "))
            agencies.append({"slug": f"{home['code']}-{_slug(kind)}", "name": f"{short}: {label}", "kind": kind,
                             "lrf": home["code"], "areas": "all"})
    return agencies


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("'", "")).strip("-")


def render(data: dict[str, Any], *, file_name: str) -> str:
    """The reference data as YAML in the bundled file's style (one line per area, agency and metric),
    with notes saying what to edit."""
    home = next(lrf for lrf in data["lrfs"] if lrf.get("home"))
    parts = [HEADER.format(name=home["name"], code=home["code"], file=file_name)]
    for section, value in data.items():
        if section in ONE_LINE_EACH:
            body = f"{section}:\n" + "".join(f"  - {_dump(item, flow=True)}" for item in value)
        else:
            body = _dump({section: value}, flow=False if isinstance(value, dict) and section != "incident" else None)
        parts.append(f"{SECTION_NOTES.get(section, '')}\n{body}")
    return "\n".join(parts)


def _dump(value: Any, *, flow: bool | None) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=flow, allow_unicode=True, width=100_000)
