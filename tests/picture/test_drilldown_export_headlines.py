"""Drill-down to the returns behind a figure, CSV export safety, and the 'services at red' headline."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd

from maic.auth import create_user
from maic.db import transaction
from maic.picture import (
    PictureQuery,
    cell_figure,
    csv_text,
    drill_table,
    headlines,
    neutralise,
    returns_behind,
    tile_figure,
)
from tests.fixtures import PASSWORD, ingest
from tests.picture.world import CAMBRIDGE, CORRECTED_AT, PETERBOROUGH, W1, W2, T, seed


def test_returns_behind_released_this_week_now_and_as_at(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        query = PictureQuery(week_from=W1, week_to=W2)
        figure = tile_figure(session, query, "released_week", "Released this week")
        now = returns_behind(session, query, figure)
        past = PictureQuery(week_from=W1, week_to=W2, as_at=CORRECTED_AT - dt.timedelta(hours=1))
        then = returns_behind(session, past, tile_figure(session, past, "released_week", "Released this week"))
    assert figure.metrics == ("releases_total",) and (figure.week_from, figure.week_to) == (W2, W2)
    rows = [(r.area_code, r.value, r.state, r.filename) for r in now.rows]
    assert rows == [(CAMBRIDGE, 20, "used", "probation-w2.csv"),
                    (PETERBOROUGH, 27, "used", "=probation-w2-corrected.csv"),
                    (PETERBOROUGH, 30, "superseded", "probation-w2.csv")]
    assert now.used_sum == 47 and now.total == 3
    superseded = now.rows[2]
    assert superseded.superseded_at == CORRECTED_AT and superseded.superseded_by == now.rows[1].return_id
    assert [(r.area_code, r.value, r.state, r.revised_since) for r in then.rows] == [
        (CAMBRIDGE, 20, "used", False), (PETERBOROUGH, 30, "used", True)]
    assert then.used_sum == 50
    table = drill_table(now)
    assert table["State"].tolist()[2].startswith("superseded Wed 18 Sep 2024 10:00 (BST) by return")  # UK time, as on screen
    assert table["Agency"].tolist()[0] == "Probation Service Cambridgeshire & Peterborough"
    assert table["Submitted by"].tolist()[0] == "no user (cli)"


def test_drill_shows_who_submitted(factory, data_dir):
    with transaction(factory) as session:
        user = create_user(session, "jo", PASSWORD, "agency_lead", display_name="Jo Lead",
                           agency_slug="cambridge-housing")
        user_id = user.id
    from maic.returns.ingest import Submission, ingest_return
    from tests.fixtures import csv_bytes, settings_for

    ingest_return(factory, Submission(csv_bytes([(W2.isoformat(), CAMBRIDGE, "rough_sleepers", 30)]), "cam.csv",
                                      "cambridge-housing", source="upload", user_id=user_id, received_at=T),
                  settings_for(data_dir))
    with factory() as session:
        query = PictureQuery(week_to=W2)
        drill = returns_behind(session, query, cell_figure(session, query, "rough_sleepers", CAMBRIDGE))
    assert [(r.who, r.value, r.metric) for r in drill.rows] == [("Jo Lead", 30, "rough_sleepers")]


def test_heatmap_cell_includes_its_basis_metric(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        query = PictureQuery(week_to=W2)
        figure = cell_figure(session, query, "mh_referrals", PETERBOROUGH)
        drill = returns_behind(session, query, figure)
    assert figure.metrics == ("mh_referrals", "mh_capacity")
    assert sorted((r.metric, r.value) for r in drill.rows) == [("mh_capacity", 10), ("mh_referrals", 12)]


def test_drill_limit_keeps_the_total(factory, data_dir):
    seed(factory, data_dir)
    with factory() as session:
        query = PictureQuery(week_from=W1, week_to=W2)
        drill = returns_behind(session, query, tile_figure(session, query, "released_to_date", "To date"), limit=2)
    assert len(drill.rows) == 2 and drill.total == 5  # 2 in W1, 3 in W2 (one superseded)


def test_neutralise_formula_injection():
    assert neutralise("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert [neutralise(v) for v in ("+1", "-2", "@SUM(A1)", "\tx", "plain")] == ["'+1", "'-2", "'@SUM(A1)", "'\tx",
                                                                                  "plain"]
    assert (neutralise(-3), neutralise(None), neutralise(float("nan")), neutralise(2.5)) == ("-3", "", "", "2.5")


def test_csv_text_has_marking_as_at_and_filters_and_is_safe():
    table = pd.DataFrame({"File": ["=cmd|' /C calc'!A0", "ok.csv"], "Value": [3, None]})
    text = csv_text(table, title="Drill-down", marking="OFFICIAL-SENSITIVE", as_at="17 Sep 2024 10:00",
                    filters=[("Weeks", "2024-09-02 to 2024-09-09"), ("Area", "@all")])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["OFFICIAL-SENSITIVE"] and rows[-1] == ["OFFICIAL-SENSITIVE"]
    assert ["As at", "17 Sep 2024 10:00"] in rows and ["Area", "'@all"] in rows
    assert ["'=cmd|' /C calc'!A0", "3.0"] in rows or ["'=cmd|' /C calc'!A0", "3"] in rows
    assert ["ok.csv", ""] in rows


def test_headlines_gain_services_at_red_and_revised_marks(factory, data_dir):
    seed(factory, data_dir)
    ingest(factory, data_dir, "cpft", [(W1.isoformat(), PETERBOROUGH, "mh_referrals", 11),
                                       (W1.isoformat(), PETERBOROUGH, "mh_capacity", 10)],
           filename="cpft-w1.csv", received_at=dt.datetime(2024, 9, 9, 9))
    with factory() as session:
        now = {t.key: t for t in headlines(session, PictureQuery(week_to=W2)).tiles}
        then = {t.key: t for t in headlines(session, PictureQuery(as_at=CORRECTED_AT - dt.timedelta(hours=1))).tiles}
    # W2 red: Peterborough MH 12/10, Cambridge rough sleeping 30 per 146,000 (2.05 per 10,000). The change counts
    # only the pairs rated in both weeks: Peterborough MH (red, 11/10, in W1 too) and Cambridge TA (amber both
    # weeks): 1 - 1 = 0; Cambridge rough sleeping had no W1 figure, so it is not a rise.
    assert (now["services_red"].value, now["services_red"].change) == (2, 0)
    assert now["services_red"].change_note == "change over the 2 service and area pairs reporting both weeks"
    assert not any(t.revised for t in now.values())
    assert then["released_week"].value == 50 and then["released_week"].revised
    assert then["released_to_date"].revised and not then["released_nfa"].revised
    # Cambridge's housing return came in late, after that time: its TA and rough sleeping figures are new since.
    assert (then["households_in_ta"].value, then["households_in_ta"].revised) == (50, True)
    assert then["services_red"].revised
