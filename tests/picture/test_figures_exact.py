"""Issue 16, parts 1-4: partial totals say so and changes compare like with like, one half-up rounding rule,
"revised since" on every figure (the forward look's share included), counts exported as whole numbers, and the
headline's returns count covering the grid's agencies.

Real returns through the real ingest; every expected figure is worked out here, in plain Python from the rows
below, not with the project's code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from layouts import panels
from maic.db import transaction
from maic.models import Area
from maic.picture import (
    PictureQuery,
    completeness,
    csv_text,
    forward_look,
    forward_table,
    headlines,
    headlines_table,
    measure_text,
    pressure,
    pressure_table,
    releases_by_area,
    releases_table,
    shortfall,
    shortfall_table,
)
from tests.fixtures import ingest
from tests.security.conftest import make_app, new_token

W0, W1, W2 = dt.date(2024, 9, 30), dt.date(2024, 10, 7), dt.date(2024, 10, 14)
AT = dt.datetime(2024, 10, 15, 9)  # every week's returns are in by then
CAMBRIDGE, EAST_CAMBS, FENLAND = "E07000008", "E07000009", "E07000010"
HUNTS, SOUTH_CAMBS, PETERBOROUGH = "E07000011", "E07000012", "E06000031"
HOUSING = {CAMBRIDGE: "cambridge-housing", EAST_CAMBS: "east-cambs-housing", FENLAND: "fenland-housing",
           HUNTS: "huntingdonshire-housing", SOUTH_CAMBS: "south-cambs-housing", PETERBOROUGH: "peterborough-housing"}
POPULATION = {CAMBRIDGE: 146000, EAST_CAMBS: 90000, FENLAND: 103000, HUNTS: 182000, SOUTH_CAMBS: 164000,
              PETERBOROUGH: 219000}
# Week W1 every district sent its housing return; week W2 East Cambridgeshire sent none.
IN_TA = {W1: {CAMBRIDGE: 120, EAST_CAMBS: 23, FENLAND: 95, HUNTS: 140, SOUTH_CAMBS: 108, PETERBOROUGH: 200},
         W2: {CAMBRIDGE: 121, FENLAND: 96, HUNTS: 140, SOUTH_CAMBS: 109, PETERBOROUGH: 200}}
CAPACITY = {CAMBRIDGE: 125, EAST_CAMBS: 30, FENLAND: 100, HUNTS: 150, SOUTH_CAMBS: 110, PETERBOROUGH: 210}
ROUGH = {W1: {CAMBRIDGE: 12, EAST_CAMBS: 6, FENLAND: 9, HUNTS: 15, SOUTH_CAMBS: 8, PETERBOROUGH: 17},
         W2: {CAMBRIDGE: 14, FENLAND: 7, HUNTS: 13, SOUTH_CAMBS: 8, PETERBOROUGH: 19}}
REFERRALS = {W1: {CAMBRIDGE: 5, EAST_CAMBS: 5, FENLAND: 6, HUNTS: 7, SOUTH_CAMBS: 5, PETERBOROUGH: 9},
             W2: {CAMBRIDGE: 6, FENLAND: 5, HUNTS: 8, SOUTH_CAMBS: 5, PETERBOROUGH: 10}}


def half_up(value: Decimal, places: str = "1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def seed_housing(factory, data_dir) -> None:
    for week in (W1, W2):
        for code, slug in HOUSING.items():
            if code not in IN_TA[week]:
                continue  # no return at all from this district for the week
            ingest(factory, data_dir, slug, [
                (week.isoformat(), code, "households_in_ta", IN_TA[week][code]),
                (week.isoformat(), code, "ta_capacity", CAPACITY[code]),
                (week.isoformat(), code, "rough_sleepers", ROUGH[week][code]),
                (week.isoformat(), code, "housing_referrals", REFERRALS[week][code]),
                (week.isoformat(), code, "referrals_awaiting_placement", 0),
            ], filename=f"{slug}-{week}.csv", received_at=dt.datetime.combine(week + dt.timedelta(days=8),
                                                                              dt.time(9)))


# --- 1. totals that lack an area ------------------------------------------------------------------------------

def test_a_total_lacking_an_area_says_so_and_its_change_compares_the_same_areas(factory, data_dir):
    seed_housing(factory, data_dir)
    total_w2 = sum(IN_TA[W2].values())
    same_areas_w1 = sum(v for code, v in IN_TA[W1].items() if code in IN_TA[W2])
    assert (total_w2, sum(IN_TA[W1].values()), total_w2 - same_areas_w1) == (666, 686, 3)  # the figures
    with factory() as session:
        now = {t.key: t for t in headlines(session, PictureQuery(week_to=W2)).tiles}
        before = {t.key: t for t in headlines(session, PictureQuery(week_to=W1)).tiles}
        found = shortfall(session, PictureQuery(week_to=W2))
    in_ta = now["households_in_ta"]
    assert (in_ta.value, in_ta.change) == (666, 3)  # not "down 20": East Cambridgeshire's 23 is not a fall
    assert in_ta.coverage == "5 of 6 areas" and in_ta.partial
    assert in_ta.change_note == "change over the 5 areas reporting both weeks"
    assert before["households_in_ta"].coverage == "" and before["households_in_ta"].value == 686
    # The shortfall total lists the same five areas, and says it covers them.
    assert found.coverage == "5 of 6 areas" and found.missing == ["East Cambridgeshire"]
    # The export carries the coverage and the like-for-like change, as whole numbers.
    with factory() as session:
        table = headlines_table(headlines(session, PictureQuery(week_to=W2)))
    rows = list(csv.reader(io.StringIO(csv_text(table, title="Headlines", marking="OFFICIAL", as_at="now",
                                                filters=[]))))
    header = rows[rows.index(["Figure", "Value", "Change on last week", "Unit", "Covers", "Change compares", "Note",
                              "Week beginning", "Revised since"])]
    row = next(r for r in rows if r and r[0] == "Households in temporary accommodation")
    assert dict(zip(header, row, strict=True))["Value"] == "666"
    assert dict(zip(header, row, strict=True))["Change on last week"] == "3"
    assert dict(zip(header, row, strict=True))["Covers"] == "5 of 6 areas"


def test_no_area_in_both_weeks_means_no_change_and_says_why(factory, data_dir):
    ingest(factory, data_dir, "cambridge-housing", [(W1.isoformat(), CAMBRIDGE, "households_in_ta", 50)],
           received_at=AT)
    ingest(factory, data_dir, "fenland-housing", [(W2.isoformat(), FENLAND, "households_in_ta", 40)], received_at=AT)
    with factory() as session:
        tile = {t.key: t for t in headlines(session, PictureQuery(week_to=W2)).tiles}["households_in_ta"]
    assert (tile.value, tile.change) == (40, None)
    assert tile.change_note == "no area reported both weeks: no change shown" and tile.coverage == "1 of 6 areas"


def test_the_api_all_areas_row_and_figures_to_date_say_how_many_areas_they_cover(db_url, data_dir, factory):
    seed_housing(factory, data_dir)
    app = make_app(db_url, data_dir)
    try:
        token = new_token(factory)
        client = app.test_client()
        body = client.get("/api/v1/shared?week_from=2024-10-07", headers={"Authorization": f"Bearer {token}"})
        cells = {(c["metric"], c["area_code"], c["week"], c["measure"]): c for c in body.get_json()["cells"]}
        as_csv = client.get("/api/v1/shared.csv?week_from=2024-10-07",
                            headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
    finally:
        app.extensions["maic.db"]["engine"].dispose()
    w1, w2 = W1.isoformat(), W2.isoformat()
    for metric, rows in (("households_in_ta", IN_TA), ("rough_sleepers", ROUGH), ("housing_referrals", REFERRALS)):
        cell = cells[(metric, "ALL", w2, "week")]
        assert (cell["value"], cell["partial"], cell["reporting"], cell["expected"], cell["covers"]) == (
            sum(rows[W2].values()), True, 5, 6, "5 of 6 areas"), metric
        full = cells[(metric, "ALL", w1, "week")]
        assert (full["value"], full["partial"], full["covers"]) == (sum(rows[W1].values()), False, "")
        # The all-areas rate is per resident of the five areas that reported, rounded half up to 0.1.
        people = sum(POPULATION[c] for c in rows[W2])
        rate = half_up(Decimal(sum(rows[W2].values()) * 10_000) / Decimal(people), "0.1")
        assert cells[(metric, "ALL", w2, "per_10k")]["shown"] == str(rate)
        assert cells[(metric, EAST_CAMBS, w2, "week")]["status"] == "missing"
    # Housing referrals to date: 11 weeks from the incident's start (5 Aug) to W2, six areas; only W1 (six areas)
    # and W2 (five) have returns: 11 of 66 area-weeks. East Cambridgeshire's own figure to date: 1 of 11 weeks.
    to_date = cells[("housing_referrals", "ALL", w2, "to_date")]
    assert to_date["value"] == sum(REFERRALS[W1].values()) + sum(REFERRALS[W2].values())
    assert (to_date["partial"], to_date["reporting"], to_date["expected"], to_date["covers"]) == (
        True, 11, 66, "11 of 66 area-weeks")
    assert cells[("housing_referrals", EAST_CAMBS, w2, "to_date")]["covers"] == "1 of 11 weeks"
    lines = [r for r in csv.reader(io.StringIO(as_csv)) if r and not r[0].startswith("#")]
    header = lines[0]
    row = next(dict(zip(header, r, strict=True)) for r in lines[1:]
               if r[:2] == ["households_in_ta", "ALL"] and r[3] == w2 and r[4] == "week")
    assert (row["value"], row["partial"], row["covers"]) == ("666", "yes", "5 of 6 areas")


# --- 2. one rounding rule, half up ----------------------------------------------------------------------------

def set_population(factory, code: str, population: int) -> None:
    with transaction(factory) as session:
        session.execute(sa.update(Area).where(Area.code == code).values(population=population))


def test_percentages_and_rates_round_half_up(factory, data_dir):
    week = W2.isoformat()
    # Huntingdonshire: 5 mental-health referrals for 8 places (62.5%); Fenland 1 for 8 (12.5%).
    ingest(factory, data_dir, "cpft", [(week, HUNTS, "mh_referrals", 5), (week, HUNTS, "mh_capacity", 8),
                                       (week, FENLAND, "mh_referrals", 1), (week, FENLAND, "mh_capacity", 8)],
           received_at=AT)
    # 5 of 8 released with no fixed abode; Cambridge: 1 released into 80,000 people is 0.125 per 10,000.
    ingest(factory, data_dir, "probation-cambs", [(week, HUNTS, "releases_total", 7), (week, HUNTS, "releases_nfa", 5),
                                                  (week, CAMBRIDGE, "releases_total", 1),
                                                  (week, CAMBRIDGE, "releases_nfa", 0)], received_at=AT)
    set_population(factory, CAMBRIDGE, 80_000)
    with factory() as session:
        rag = pressure(session, PictureQuery(week_to=W2))
        tiles = {t.key: t for t in headlines(session, PictureQuery(week_to=W2)).tiles}
        by_area = {a.code: a for a in releases_by_area(session, PictureQuery(week_from=W2, week_to=W2)).areas}
    metric = next(m for m in rag.metrics if m.key == "mh_referrals")
    assert measure_text(rag.cell("mh_referrals", HUNTS), metric) == "63% of mh capacity"  # not 62%
    assert measure_text(rag.cell("mh_referrals", FENLAND), metric) == "13% of mh capacity"  # not 12%
    assert tiles["released_nfa"].note == "63% of this week's releases"  # 5 of 8
    assert by_area[CAMBRIDGE].rate == 0.13  # not 0.12


def seed_forward(factory, data_dir) -> dict[str, int]:
    """90 released over the four weeks to W2, 13 of them with no fixed abode; 60 notified for the coming weeks."""
    weeks = [W2 - dt.timedelta(weeks=k) for k in range(3, -1, -1)]
    released = {CAMBRIDGE: [10, 8, 7, 5], PETERBOROUGH: [20, 15, 12, 13]}  # 30 + 60 = 90
    nfa = {CAMBRIDGE: [1, 2, 1, 1], PETERBOROUGH: [3, 2, 1, 2]}  # 5 + 8 = 13
    ingest(factory, data_dir, "probation-cambs", [
        (w.isoformat(), code, metric, series[i]) for code in released
        for metric, series in (("releases_total", released[code]), ("releases_nfa", nfa[code]))
        for i, w in enumerate(weeks)], filename="probation.csv", received_at=AT)
    notified = {CAMBRIDGE: 11, EAST_CAMBS: 11, FENLAND: 11, HUNTS: 11, SOUTH_CAMBS: 4, PETERBOROUGH: 12}
    ingest(factory, data_dir, "hmpps-prisons-east", [
        (W2.isoformat(), code, f"releases_notified_{k}w", n if k == 1 else 0)
        for code, n in notified.items() for k in range(1, 5)], filename="prisons.csv", received_at=AT)
    return notified


def test_the_forward_look_total_is_rounded_once(factory, data_dir):
    notified = seed_forward(factory, data_dir)
    total = Decimal(sum(notified.values())) * Decimal(13) / Decimal(90)  # 60 x 13/90 = 8.67
    parts = [half_up(Decimal(n) * 13 / 90) for n in notified.values()]  # 2, 2, 2, 2, 1, 2
    assert (half_up(total), sum(parts)) == (9, 11)
    with factory() as session:
        result = forward_look(session, PictureQuery(week_to=W2))
    assert result.share_text == "14%" and result.expected_total == 9
    assert sorted(r.expected_nfa for r in result.rows) == sorted(int(p) for p in parts)
    summary = " ".join(str(c) for c in _texts(panels.forward_children(result, forward_table(result), False, False)))
    assert "at that share 9 may need emergency accommodation" in summary and "may not add up" in summary
    total_row = forward_table(result).iloc[-1]
    assert total_row["Area"] == "Total" and total_row["Expected no fixed abode"] == 9


def _texts(node) -> list[str]:
    """Every string in a component tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list | tuple):
        return [t for child in node for t in _texts(child)]
    children = getattr(node, "children", None)
    return _texts(children) if children is not None else []


# --- 3. revised since, the forward look's share included --------------------------------------------------------

def test_a_correction_to_the_nfa_share_marks_the_share_and_what_is_made_from_it(factory, data_dir):
    seed_forward(factory, data_dir)
    corrected_at = AT + dt.timedelta(days=1)
    # Two more people in Peterborough's W2 releases had no fixed abode: 15 of 90.
    ingest(factory, data_dir, "probation-cambs", [(W2.isoformat(), PETERBOROUGH, "releases_nfa", 4)],
           filename="probation-corrected.csv", received_at=corrected_at)
    with factory() as session:
        then = forward_look(session, PictureQuery(week_to=W2, as_at=corrected_at - dt.timedelta(hours=1)))
        now = forward_look(session, PictureQuery(week_to=W2))
        now_as_at_later = forward_look(session, PictureQuery(week_to=W2, as_at=corrected_at + dt.timedelta(hours=1)))
    assert (then.share_text, now.share_text) == ("14%", "17%")  # 13/90 = 14.4%, 15/90 = 16.7%
    assert then.share_revised and then.expected_revised
    assert all(r.revised for r in then.rows if r.expected_nfa is not None)
    assert not now.share_revised and not now_as_at_later.share_revised and not now_as_at_later.expected_revised
    summary = " ".join(_texts(panels.forward_children(then, forward_table(then), False, True)))
    assert "About 14% ✱ of recent releases" in summary and "✱ marks figures" in summary
    assert forward_table(then).iloc[-1]["Revised since"] == "yes"


def test_a_tile_whose_last_week_was_revised_is_marked(factory, data_dir):
    seed_housing(factory, data_dir)
    corrected_at = dt.datetime(2024, 10, 25, 9)  # after W2's returns (received 22 Oct)
    ingest(factory, data_dir, "cambridge-housing", [(W1.isoformat(), CAMBRIDGE, "households_in_ta", 110)],
           filename="cambridge-w1-corrected.csv", received_at=corrected_at)
    with factory() as session:
        then = {t.key: t for t in headlines(session, PictureQuery(week_to=W2,
                                                                  as_at=corrected_at - dt.timedelta(hours=1))).tiles}
        now = {t.key: t for t in headlines(session, PictureQuery(week_to=W2)).tiles}
    # W2's total did not move, but its change on last week did (3 then, 13 now): the tile is marked.
    assert (then["households_in_ta"].value, then["households_in_ta"].change) == (666, 3)
    assert (now["households_in_ta"].value, now["households_in_ta"].change) == (666, 13)
    assert then["households_in_ta"].revised and not then["released_week"].revised


# --- 4. whole numbers, and which agencies the returns count covers ---------------------------------------------

def test_exports_write_counts_as_whole_numbers_even_beside_blank_cells(factory, data_dir):
    seed_housing(factory, data_dir)
    seed_forward(factory, data_dir)
    with factory() as session:
        query = PictureQuery(week_to=W2)
        tables = {"shortfall": shortfall_table(shortfall(session, query)),
                  "forward": forward_table(forward_look(session, query)),
                  "pressure": pressure_table(pressure(session, query)),
                  "headlines": headlines_table(headlines(session, query)),
                  "releases": releases_table(releases_by_area(session, query))}
    for name, table in tables.items():
        text = csv_text(table, title=name, marking="OFFICIAL", as_at="now", filters=[])
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        floats = [c for c in cells if c.endswith(".0") and c[:-2].lstrip("-").isdigit()]
        assert floats == [], (name, floats[:5])
    shortfall_rows = tables["shortfall"]
    assert shortfall_rows["Shortfall"].dtype.name == "Int64" and shortfall_rows["Shortfall"].isna().any()


def test_returns_in_counts_the_agencies_the_grid_lists(factory, data_dir):
    seed_housing(factory, data_dir)
    ingest(factory, data_dir, "norfolk-maic", [(W2.isoformat(), "E07000148", "releases_total", 9)], received_at=AT)
    for neighbours in (False, True):
        query = PictureQuery(week_to=W2, include_neighbours=neighbours, as_at=AT + dt.timedelta(days=30))
        with factory() as session:
            result = headlines(session, query)
            grid = completeness(session, query)
        cells = [c for row in grid.agencies for c in row.cells if c.week == W2]
        assert result.returns_due == len(grid.agencies) == (21 if neighbours else 14)
        assert result.returns_in == sum(c.status in ("on_time", "late") for c in cells) == (6 if neighbours else 5)
        assert result.returns_from == ("home agencies and neighbouring LRFs' cells" if neighbours
                                       else "home agencies")


def test_the_tiles_and_header_say_what_a_total_covers_through_the_dash_endpoint(client, factory, data_dir):
    from tests.fixtures import login_as
    from tests.picture.test_callbacks import panel_body, post

    seed_housing(factory, data_dir)
    login_as(client, factory, "viewer")
    client.get("/dash/")
    response = post(client, panel_body("headline-asat", filters={"to": W2.isoformat()}))
    assert response.status_code == 200
    headline = {k: v for k, v in response.get_json()["response"].items() if k.startswith("headline-")}
    text = json.dumps(headline, ensure_ascii=False)
    assert "▲ 3 on last week" in text
    assert "Covers 5 of 6 areas" in text and "change over the 5 areas reporting both weeks" in text
    assert "5 of 14 returns in (home agencies)" in text


def test_a_weekly_release_total_lacking_an_area_says_so(client, factory, data_dir):
    from maic.picture import release_series, series_table
    from tests.fixtures import login_as
    from tests.picture.test_callbacks import panel_body, panel_text, post

    released = {W1: {CAMBRIDGE: 9, EAST_CAMBS: 3, FENLAND: 6, HUNTS: 8, SOUTH_CAMBS: 7, PETERBOROUGH: 12},
                W2: {CAMBRIDGE: 10, FENLAND: 5, HUNTS: 9, SOUTH_CAMBS: 7, PETERBOROUGH: 14}}
    ingest(factory, data_dir, "probation-cambs", [(w.isoformat(), code, "releases_total", n)
                                                  for w, by_area in released.items() for code, n in by_area.items()],
           received_at=AT)
    with factory() as session:
        series = release_series(session, PictureQuery(week_from=W1, week_to=W2))
    table = series_table(series)
    assert table["Released"].tolist() == [sum(released[W1].values()), sum(released[W2].values())]
    assert table["Covers"].tolist() == ["all", "5 of 6 areas"]
    login_as(client, factory, "viewer")
    client.get("/dash/")
    response = post(client, panel_body("releases-panel", filters={"from": W1.isoformat(), "to": W2.isoformat()},
                                       extra_inputs=[{"id": "map-measure", "property": "value", "value": "count"}]))
    releases = panel_text(response, "releases-panel")
    assert "1 of the weekly totals lack some areas" in releases
    assert "week of 14 Oct covers 5 of 6 areas" in releases
