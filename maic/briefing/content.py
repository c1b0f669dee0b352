"""The SCG pack's content, every number from the one query module (maic.picture) for exactly one view.

Key points in plain English written from the headline tiles and the panels; the basis (completeness) first;
each panel as its sentence, the dashboard's own charts (maic.figures) and its table; the red list; the
forward look; what changed since the last pack and which earlier packs' figures have been revised; caveats,
method and sources. Deterministic: the same request as at the same time gives the same document (only the
cover's "made" time differs). No web.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy import orm

from maic import dates, figures, picture
from maic.briefing import revisions
from maic.briefing.document import (
    REVISED_MARK,
    SCG,
    Chart,
    Document,
    Section,
    Table,
    figure_key,
    signed,
)
from maic.briefing.request import NEIGHBOURS, BriefingSettings, PackRequest
from maic.errors import MaicError
from maic.models import Incident
from maic.picture import PictureQuery
from maic.picture.completeness import LATE, MISSING, NOT_DUE, ON_TIME
from maic.picture.core import value_map

SERIES_METRICS = ["releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa"]
# The latest weeks of the weekly series table printed (the chart shows every week; the CSV export has them all).
SERIES_ROWS = 12
HANDLING = {
    SCG: "For the Strategic Coordinating Group and the MAIC. Exact figures, small numbers included: do not pass on "
         "outside the SCG without the MAIC's agreement. Figures for neighbours and the public come from their own "
         "packs, which apply disclosure control.",
}


def pack_query(session: orm.Session, request: PackRequest, settings: BriefingSettings,
               as_at: dt.datetime) -> PictureQuery:
    """The dashboard's query for the request: its week when none is chosen is the week the picture opens on
    (the newest whose returns are due and mostly in), worked out as at the pack's time. A live pack (no as-at
    asked for) reads the current figures exactly as the live dashboard does; its as-at is the moment it is made,
    and there can be no revision since then to look for (which at national scale cost seconds a panel)."""
    at = request.as_at
    week = request.week
    if week is None:
        week = picture.default_week(picture.week_statuses(session, PictureQuery(as_at=at),
                                                          deadline_rule=settings.deadline_rule, tz=settings.tz))
    return PictureQuery(week_to=week, week_from=request.week_from, area_codes=(request.area,) if request.area else (),
                        include_neighbours=request.scope == NEIGHBOURS, as_at=at)


def _scope_text(session: orm.Session, query: PictureQuery, lrf_name: str) -> tuple[str, str]:
    """(where, in words for sentences; the scope line for the cover)."""
    where = lrf_name
    if query.area_codes:
        areas = picture.areas_in_scope(session, replace(query, include_neighbours=True))
        where = ", ".join(areas["name"]) or query.area_codes[0]
    scope = "home LRF and neighbouring LRFs" if query.include_neighbours else "home LRF"
    return where, f"{where}; {scope}"


def scg_document(session: orm.Session, request: PackRequest, settings: BriefingSettings,
                 as_at: dt.datetime) -> Document:
    query = pack_query(session, request, settings, as_at)
    home = picture.home_lrf(session)
    if home is None:
        raise MaicError("no home LRF: load the reference data first (maic reference load)")
    incident = session.scalar(sa.select(Incident).order_by(Incident.start))
    where, scope_text = _scope_text(session, query, home.name)
    week = query.week_to
    doc = Document(audience=SCG, title="SCG briefing pack",
                   lrf=home.name, incident=incident.name if incident else "", marking=settings.marking,
                   handling=HANDLING[SCG], as_at=as_at.isoformat(), as_at_text=dates.moment(as_at, settings.tz),
                   week=week.isoformat() if week else None,
                   week_text=dates.week_beginning(week) if week else "No week with returns yet",
                   scope_text=scope_text, version="", demo=settings.demo)
    doc.version = revisions.version_text(session, doc, as_at)
    if week is None:
        doc.key_points = ["No returns have been received yet: there are no figures to brief."]
        return doc
    heads = picture.headlines(session, query)
    tiles = {t.key: t for t in heads.tiles}
    doc.headline = {k: t.value for k, t in tiles.items()}
    found_short = picture.shortfall(session, query)
    found_pressure = picture.pressure(session, query)
    found_forward = picture.forward_look(session, query)
    by_area = picture.releases_by_area(session, query)
    series = picture.release_series(session, query)
    weekly = picture.completeness(session, replace(query, week_from=week, week_to=week),
                                  deadline_rule=settings.deadline_rule, tz=settings.tz)

    doc.basis = basis_lines(heads, weekly, settings.tz)
    doc.key_points = key_points(heads, tiles, found_short, found_pressure, found_forward, where, week)
    doc.sections = [
        headline_section(heads, as_at),
        shortfall_section(found_short),
        forward_section(found_forward),
        pressure_section(found_pressure),
        releases_section(by_area, series),
        completeness_section(weekly, settings.tz),
    ]
    span = picture.resolve_range(session, query)
    doc.figures = quoted_figures(session, query, span[0], week)
    doc.sections.append(revisions.since_last_section(session, doc, as_at, settings.tz))
    doc.sections.append(method_section(settings, weekly, settings.tz))
    return doc


def quoted_figures(session: orm.Session, query: PictureQuery, week_from: dt.date, week: dt.date) -> dict[str, int]:
    """Every value the pack is made of: each metric for the week and the three before it (the tiles' change,
    the RAG's last week, the forward look's share), and the release series for every week shown."""
    keys = list(picture.metric_catalogue(session)["key"])
    found = value_map(session, query, SERIES_METRICS, week_from, week)
    found.update(value_map(session, query, keys, max(week_from, week - 3 * picture.WEEK), week))
    return {figure_key(metric, area, when): value for (metric, area, when), value in found.items()}


def _status_names(weekly, status: str) -> list[str]:
    return [a.name for a in weekly.agencies for c in a.cells if c.status == status]


def basis_lines(heads, weekly, tz: str) -> list[str]:
    """Completeness before any figure: how many returns are in, whose are missing or late."""
    week_words = "week beginning " + dates.day(heads.week) if heads.week else ""
    lines = [f"{heads.returns_in} of {heads.returns_due} returns in for the {week_words} ({heads.returns_from})."]
    missing, late, not_due = (_status_names(weekly, s) for s in (MISSING, LATE, NOT_DUE))
    late_times = [f"{a.name} (received {dates.moment(c.first_received, tz)})" for a in weekly.agencies
                  for c in a.cells if c.status == LATE and c.first_received]
    lines.append("Missing: " + (", ".join(missing) if missing else "none") + ".")
    lines.append("Late: " + ("; ".join(late_times) if late else "none") + ".")
    if not_due:
        lines.append("Not yet due: " + ", ".join(not_due) + ".")
    corrected = [a.name for a in weekly.agencies for c in a.cells if c.corrected]
    if corrected:
        lines.append("Corrected since first sent: " + ", ".join(corrected) + ".")
    if heads.returns_in < heads.returns_due:
        lines.append("A missing return is not a zero: totals below cover only the returns in, and say so.")
    return lines


def _covers(tile) -> str:
    return f" (covers {tile.coverage})" if tile.coverage else ""


def key_points(heads, tiles, short, pressure, forward, where: str, week: dt.date) -> list[str]:
    out: list[str] = []
    released, to_date, nfa = tiles["released_week"], tiles["released_to_date"], tiles["released_nfa"]
    if released.value is None:
        out.append(f"No release figures for the week beginning {dates.day(week)}.")
    else:
        out.append(f"{released.value:,} people were released into {where} in the "
                   f"week beginning {dates.day(week)}{_covers(released)} ({signed(released.change)} on the "
                   f"week before); {to_date.value:,} have been released {to_date.note}{_covers(to_date)}."
                   if to_date.value is not None else
                   f"{released.value:,} people were released into {where} in the "
                   f"week beginning {dates.day(week)}{_covers(released)}.")
    if nfa.value is not None:
        share = f" ({nfa.note})" if nfa.note else ""
        out.append(f"{nfa.value:,} people released that week had no fixed abode{share}{_covers(nfa)}.")
    shortfall = tiles["shortfall"]
    short_rows = [r for r in short.rows if r.shortfall > 0]
    if shortfall.value is None:
        out.append("The accommodation shortfall cannot be worked out: no capacity figures for this week.")
    elif short_rows:
        out.append(f"Temporary accommodation is short by {shortfall.value:,} places{_covers(shortfall)} "
                   f"({signed(shortfall.change)} on the week before), in " + ", ".join(
                       f"{r.area_name} ({r.shortfall:,})" for r in short_rows) + ".")
    else:
        out.append(f"No area is short of temporary accommodation places ({len(short.rows)} areas reporting).")
    red = tiles["services_red"]
    reds = pressure.red
    if red.value is None:
        out.append("No service figures for this week: no RAG rating.")
    elif reds:
        out.append(f"{red.value:,} service and area pairs are at red (R) ({signed(red.change)} on the week before): "
                   + "; ".join(f"{c.label} in {c.area_name}" for c in reds[:8])
                   + ("; and more in the red list." if len(reds) > 8 else "."))
    else:
        out.append("No service is at red (R) this week.")
    totals = [t for t in forward.totals() if t is not None]
    if totals:
        line = f"Prisons have notified {sum(totals):,} releases over the next four weeks"
        if forward.expected_total is not None:
            line += (f"; at the recent no-fixed-abode share ({forward.share_text}), about {forward.expected_total:,} "
                     "may need emergency accommodation")
        places = [r for r in forward.rows if r.short]
        if places:
            line += "; places are expected to run short in " + ", ".join(
                f"{r.area_name} ({r.short:,})" for r in places)
        out.append(line + ".")
    if heads.returns_in < heads.returns_due:
        out.insert(0, f"Figures are based on {heads.returns_in} of {heads.returns_due} returns: see the basis below.")
    return out


def headline_section(heads, as_at: dt.datetime) -> Section:
    table = Table.from_frame(picture.headlines_table(heads).drop(columns=["Week beginning"]),
                             "Headline figures (the dashboard's tiles)")
    section = Section("headlines", "Headline figures", tables=[table])
    if any(t.revised for t in heads.tiles):
        section.notes.append(f"{REVISED_MARK} a figure revised since the as-at time.")
    return section


def shortfall_section(found) -> Section:
    section = Section("shortfall", "Accommodation shortfall")
    if found.week is None or not found.rows:
        section.sentences.append("No area has both a TA capacity and a households-in-TA figure for this week: the "
                                 "shortfall cannot be worked out (a missing return is not a zero).")
        return section
    sentence = picture.shortfall_sentence(found)
    section.sentences.append(sentence)
    if found.missing:
        section.notes.append("No capacity figure for " + ", ".join(found.missing) + ": not counted.")
    shown = found.rows[:CHART_AREAS]
    section.charts.append(Chart(figures.shortfall_bars(shown),
                                "Bar chart of demand against spare places by area, worst shortfall first. " + sentence))
    if len(found.rows) > CHART_AREAS:
        section.notes.append(f"The chart shows the {CHART_AREAS} areas with the largest shortfall; the table lists all "
                             f"{len(found.rows)}.")
    if sum(1 for _w, v, _n in found.trend if v is not None) > 1:
        section.charts.append(Chart(figures.trend_line([(w, v) for w, v, _n in found.trend], "Shortfall"),
                                    "Line chart of the total shortfall each week."))
    section.tables.append(Table.from_frame(picture.shortfall_table(found), "Accommodation shortfall by area "
                                           "(demand = no fixed abode + awaiting placement; spare = capacity - in TA)"))
    return section


def forward_section(found) -> Section:
    section = Section("forward", "Forward look: the next four weeks")
    totals = found.totals()
    if found.week is None or all(t is None for t in totals):
        section.sentences.append("No release notifications in the prisons' return for this week.")
        return section
    parts = [f"{t:,} in the week of {dates.day(w)}" if t is not None else f"no figure for the week of {dates.day(w)}"
             for w, t in zip(found.ahead, totals, strict=True)]
    sentence = "Releases notified: " + "; ".join(parts) + "."
    if found.expected_total is not None:
        sentence += (f" About {found.share_text} of recent releases had no fixed abode; at that share "
                     f"{found.expected_total:,} may need emergency accommodation (worked out on the total and rounded "
                     "once, so the areas' figures may not add up to it).")
    if found.coverage:
        sentence += f" Notifications cover {found.coverage}."
    section.sentences.append(sentence)
    chart = found
    if len(found.rows) > CHART_AREAS:
        chart = replace(found, rows=sorted(found.rows, key=lambda r: (-(r.short or 0), -(r.total or 0)))[:CHART_AREAS])
        section.notes.append(f"The chart shows the {CHART_AREAS} areas expected to be shortest of places (then with "
                             f"the most releases notified); the table lists all {len(found.rows)}.")
    section.charts.append(Chart(figures.forward_bars(chart), "Bar chart by area of releases notified for the next four "
                                "weeks, those expected with no fixed abode, and spare TA places now."))
    section.tables.append(Table.from_frame(picture.forward_table(found), "Releases notified for the coming four "
                                           "weeks against spare places"))
    return section


# Charts on paper show at most this many areas (the table beside each lists them all).
CHART_AREAS = 20
# More areas than this and the service pressure table is printed with one row per area.
WIDE_AREAS = 12
RAG_LETTER_WORDS = {"R": "R (red)", "A": "A (amber)", "G": "G (green)"}


def pressure_section(found) -> Section:
    section = Section("pressure", "Service pressure (RAG) and the red list")
    rated = [c for c in found.cells if c.rag]
    if found.week is None or not rated:
        section.sentences.append("No service figures for this week.")
        return section
    counts = {k: sum(1 for c in rated if c.rag == k) for k in "RAG"}
    section.sentences.append(
        f"Week beginning {dates.day(found.week)}: {counts['R']} red (R), {counts['A']} amber (A), {counts['G']} green "
        f"(G) of {len(found.cells)} service and area pairs ({len(found.cells) - len(rated)} without a figure).")
    if len(found.areas) <= CHART_AREAS:
        section.charts.append(Chart(figures.rag_heatmap(found.metrics, found.areas, found.cells,
                                                        area_lrfs=found.area_lrfs),
                                    "Heatmap of services by area with the letter R, A or G in each cell."))
    else:
        section.notes.append(f"With {len(found.areas)} areas the heatmap would not be legible on paper: the table "
                             "below gives every rating, and the red list every service at red.")
    by_key = {m.key: m for m in found.metrics}
    was = {"R": "red last week too", "A": "amber last week", "G": "green last week"}
    section.bullets = [f"R {c.label}, {c.area_name}: {c.value:,} ({by_key[c.metric].threshold_text()}; "
                       f"{was.get(c.previous_rag or '', 'no figure last week')})" for c in found.red]
    if not section.bullets:
        section.notes.append("No service is at red this week.")
    cells = {(c.metric, c.area_code): c for c in found.cells}

    def cell(metric: str, code: str) -> list[str]:
        c = cells.get((metric, code))
        if c is None or c.value is None:
            return ["–", "rag-none"]
        return [f"{c.rag or '–'} {c.value:,}" + (f" {REVISED_MARK}" if c.revised else ""), f"rag rag-{c.rag or 'none'}"]

    caption = "Service pressure by area: R red, A amber, G green, – no figure, then the value"
    if len(found.areas) <= WIDE_AREAS:
        section.tables.append(Table(caption, ["Service (thresholds)", *(name for _c, name in found.areas)],
                                    [[[f"{m.label} ({m.threshold_text()})", ""], *(cell(m.key, code)
                                                                                   for code, _n in found.areas)]
                                     for m in found.metrics]))
    else:  # many areas: one row per area, so the page stays readable; the thresholds are listed below
        section.tables.append(Table(caption, ["Area", *(m.label for m in found.metrics)],
                                    [[[name, ""], *(cell(m.key, code) for m in found.metrics)]
                                     for code, name in found.areas]))
        section.notes.append("Thresholds: " + "; ".join(f"{m.label}: {m.threshold_text()}" for m in found.metrics)
                             + ".")
    return section


def releases_section(by_area, series) -> Section:
    section = Section("releases", "Releases by area and by week")
    reported = [a for a in by_area.areas if a.count is not None]
    if by_area.week_to is None or not reported:
        section.sentences.append("No release figures for these weeks.")
        return section
    total = sum(a.count for a in reported)
    span = (f"the week beginning {dates.day(by_area.week_to)}" if by_area.week_from == by_area.week_to else
            f"the weeks beginning {dates.day(by_area.week_from)} to {dates.day(by_area.week_to)}")
    top = sorted(reported, key=lambda a: -(a.count or 0))[:3]
    section.sentences.append(f"{total:,} people released into {len(reported)} of {len(by_area.areas)} areas over "
                             f"{span}. Highest counts: " + ", ".join(f"{a.name} ({a.count:,})" for a in top) + ".")
    if any(w.total is not None for w in series.weeks):
        section.charts.append(Chart(figures.series_by_tranche(series), "Bar chart of people released each week, split "
                                    "into tranche one, tranche two and other releases, with the tranche dates marked."))
        section.charts.append(Chart(figures.series_by_accommodation(series),
                                    "Bar chart of people released each week with no fixed abode and housed."))
    section.notes.append("The dashboard's map of releases by area is given here as the table below.")
    section.tables.append(Table.from_frame(picture.releases_table(by_area), "People released by area"))
    weeks = picture.series_table(series)
    if len(weeks) > SERIES_ROWS:
        section.notes.append(f"The weekly table shows the latest {SERIES_ROWS} of {len(weeks)} weeks; the chart shows "
                             "them all.")
        weeks = weeks.tail(SERIES_ROWS)
    section.tables.append(Table.from_frame(weeks, "People released each week"))
    return section


def completeness_section(weekly, tz: str) -> Section:
    section = Section("completeness", "Returns: completeness and sources")
    cells = [(a, c) for a in weekly.agencies for c in a.cells]
    counts = {s: sum(1 for _a, c in cells if c.status == s) for s in (ON_TIME, LATE, MISSING, NOT_DUE)}
    section.sentences.append(f"{counts[ON_TIME]} on time, {counts[LATE]} late, {counts[MISSING]} missing"
                             + (f", {counts[NOT_DUE]} not yet due" if counts[NOT_DUE] else "")
                             + f" of {len(weekly.agencies)} agencies' returns for the week.")
    rows = [[[a.name, ""], [c.text, f"status status-{c.status}"],
             [dates.moment(c.first_received, tz) if c.first_received else "—", ""],
             [dates.moment(c.last_received, tz) if c.corrected and c.last_received else "", ""]] for a, c in cells]
    section.tables.append(Table("Sources: each agency's return for the week, with when it was received",
                                ["Agency", "Status", "Received", "Corrected (last received)"], rows))
    return section


def method_section(settings: BriefingSettings, weekly, tz: str) -> Section:
    threshold = settings.threshold
    return Section("method", "Caveats and method", bullets=[
        "As at: the pack shows the picture exactly as it stood at the as-at time, from the returns received by then. "
        "A correction received later does not change this pack; the next pack marks the figures it touches as "
        "revised, and so does the Briefings page.",
        "Weeks run Monday to Sunday. People released, referrals and notifications are summed over weeks and areas; "
        "households in temporary accommodation (TA) and TA capacity are end-of-week figures for the week shown.",
        "A missing return is never a zero: a total that lacks some areas says how many it covers ('5 of 6 areas'), "
        "and a change on the week before compares only the areas that reported both weeks.",
        "Accommodation shortfall = demand - spare places for each area, never below zero, summed over areas: demand = "
        "people released that week with no fixed abode + referrals awaiting placement; spare places = TA capacity - "
        "households in TA, never below zero. Areas with no capacity figure are listed, not counted.",
        "Service pressure: each service's measure (the value, per 10,000 people, or a ratio to another figure) against "
        "its amber and red thresholds. Every rating is shown as a letter (R, A, G) as well as a colour.",
        "Forward look: releases notified by the prisons for the next four weeks; the no-fixed-abode share of the last "
        "four weeks' releases applied to them estimates how many may need emergency accommodation.",
        "Rounding: shares, rates and estimates are rounded half up (12.5% is 13%), once, where shown: a total is "
        "worked out from unrounded parts, so rounded parts may not add up to it.",
        f"Disclosure control: this pack holds exact figures for the SCG. Figures shared with neighbouring LRFs show "
        f"counts from 1 to {threshold - 1} as <{threshold} and withhold others ([c]) so that a small count cannot be "
        "worked out; the Warn and Inform brief gives no figure below "
        f"{threshold} and rounds counts to the nearest 5.",
        "Sources: each agency's weekly return, listed with the time it was received in the Returns section above.",
    ], sentences=[f"Times are UK time ({tz})."])
