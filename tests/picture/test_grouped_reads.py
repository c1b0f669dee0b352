"""The panels' grouped reads (core.figures, core.sums, core.total) read plain rows through the session's connection,
and the headlines read their figures and the rated services' figures in one query: the same figures as the frames
of aggregate() and values(), and the same "services at red" as reading the rated figures on their own and as the
pressure panel. Live, with neighbours, for chosen areas, and as at times before and after a correction; on SQLite
and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from maic.models import Area, CurrentValue, Metric
from maic.picture import PictureQuery, core
from maic.picture.core import BY_AREA, BY_WEEK
from maic.picture.headlines import headlines, services_at_red_total
from maic.picture.pressure import pressure
from tests.picture.world import CAMBRIDGE, CORRECTED_AT, W1, W2, T, seed

KEYS = ["releases_total", "releases_nfa", "households_in_ta", "ta_capacity", "mh_referrals", "mh_capacity",
        "rough_sleepers", "releases_tranche1"]
QUERIES = [PictureQuery(), PictureQuery(include_neighbours=True), PictureQuery(area_codes=(CAMBRIDGE,)),
           PictureQuery(as_at=T + dt.timedelta(hours=1)), PictureQuery(as_at=CORRECTED_AT - dt.timedelta(minutes=1),
                                                                         include_neighbours=True),
           PictureQuery(as_at=dt.datetime(2024, 9, 9, 10, 30))]


@pytest.fixture
def world(factory, data_dir):
    seed(factory, data_dir)
    return factory


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q))
def test_grouped_reads_equal_the_frames(world, query):
    with world() as session:
        rows = core.values(session, query, KEYS, W1, W2)
        expected: dict[tuple[str, str, dt.date], int] = {}
        for metric, code, week, value in rows.itertuples(index=False):
            expected[(metric, code, week)] = expected.get((metric, code, week), 0) + int(value)
        assert expected, "the world has figures for every query asked"
        assert core.figures(session, query, KEYS, W1, W2) == expected

        for by in (BY_AREA, BY_WEEK):
            frame = core.aggregate(session, query, KEYS, W1, W2, by=(by,))
            from_frame = {key: {at: (int(s), int(n)) for at, s, n in zip(frame[by], frame[key], frame[f"{key}_n"],
                                                                         strict=True) if n}
                          for key in KEYS}
            assert core.sums(session, query, KEYS, W1, W2, by) == from_frame

        one = core.aggregate(session, query, KEYS, W1, W2, by=()).iloc[0]
        assert core.totals(session, query, KEYS, W1, W2) == {
            key: (int(one[key]), int(one[f"{key}_n"])) for key in KEYS if one[f"{key}_n"]}


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q))
def test_the_services_at_red_tile_equals_its_own_read_and_the_pressure_panel(world, query):
    with world() as session:
        result = headlines(session, query)
        tile = next(t for t in result.tiles if t.key == "services_red")
        # The tile's figures read on their own (no figures handed in), as before the one shared query.
        alone = services_at_red_total(session, query, result.week)
        assert (tile.value, tile.change, tile.coverage) == (
            alone.value, alone.change, core.coverage_text(alone.reporting, alone.expected, "pairs")
            if alone.value is not None else "")
        panel = pressure(session, query)
        assert panel.week == result.week
        rated = [c for c in panel.cells if c.rag]
        assert tile.value == (len(panel.red) if rated else None)


def test_a_grouped_read_sees_the_sessions_own_pending_change(world):
    """The grouped reads go through the session's connection, not session.execute: they flush first as it would."""
    with world() as session:
        row = session.scalars(sa.select(CurrentValue).order_by(CurrentValue.metric_id, CurrentValue.week,
                                                                CurrentValue.area_id).limit(1)).one()
        key = session.scalar(sa.select(Metric.key).where(Metric.id == row.metric_id))
        code = session.scalar(sa.select(Area.code).where(Area.id == row.area_id))
        was = int(row.value)
        query = PictureQuery(include_neighbours=True)
        # Read once first, so that the reference reads are kept and the figures' own query is the only one after.
        assert core.figures(session, query, [key], row.week, row.week)[(key, code, row.week)] == was
        row.value = was + 1000  # pending in the session, not flushed
        assert core.figures(session, query, [key], row.week, row.week)[(key, code, row.week)] == was + 1000
        session.rollback()
