"""The shared picture with each linked-metric group's protected history kept (maic.picture.shared._group_history)
is the picture computed afresh, at every data version and as at every past moment.

What is kept is keyed by the content it was computed from, so a new data version reuses the groups a return did
not touch. These tests change the data step by step (returns, corrections, voids, the history window moving on)
and compare, at each step, the picture computed with what earlier steps kept against one computed with nothing
kept, and against the shared picture as it was defined before anything was kept (every version of every group
protected together by the protect of tests/security/protect_as_defined.py).
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from maic.db import make_engine, make_session_factory, transaction
from maic.models import Agency, Return, utcnow
from maic.picture import shared
from maic.picture.core import observation_history
from maic.picture.shared import LinkedTotal, PublishedVersion, SharedArea, SharedMetric, SharedQuery
from maic.returns.void import void_return
from maic.weeks import weeks_between
from tests.fixtures import ingest
from tests.security import protect_as_defined as defined
from tests.security.conftest import HOME_AREAS

THRESHOLD = 5
RELEASES = [SharedMetric(key, key, "people", "sum", "") for key in
            ("releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa")]
LINKS = [LinkedTotal("releases_by_tranche", "releases_total", ("releases_tranche1", "releases_tranche2")),
         LinkedTotal("releases_nfa", "releases_total", ("releases_nfa",))]
OTHERS = [SharedMetric("housing_referrals", "Housing referrals", "referrals", "sum", ""),
          SharedMetric("households_in_ta", "Households in TA", "households", "latest", ""),
          SharedMetric("probation_recalls", "Recalls", "people", "sum", "")]
METRICS = [RELEASES[0], OTHERS[0], *RELEASES[1:], *OTHERS[1:]]  # a group's metrics need not be side by side
FIRST_WEEK = dt.date(2024, 9, 2)
WEEKS = [FIRST_WEEK + dt.timedelta(weeks=j) for j in range(3)]


def history_as_defined(monkeypatch, metrics, links, areas, history_from, times, raws, threshold):
    """maic.picture.shared._protect_history as it was before groups' histories were kept: each group's every
    version protected together, by the protect as defined, and the cells sorted."""
    latest = [max((w for _m, _c, w in raw), default=None) for raw in raws]
    newest = max((w for w in latest if w is not None), default=None)
    weeks = weeks_between(history_from, newest) if newest else []
    cells: list[list] = [[] for _ in raws]
    with monkeypatch.context() as patch:
        patch.setattr(shared.disclosure, "protect_versions", defined.protect_versions)
        for group in shared.linked_groups(metrics, links):
            for i, version_cells in enumerate(shared._group_cells(group, links, areas, weeks, raws, latest,
                                                                  threshold)):
                cells[i].extend(version_cells)
    order = {m.key: n for n, m in enumerate(metrics)}
    for version_cells in cells:
        version_cells.sort(key=lambda c: (order[c.metric], c.week, c.area_code == shared.ALL_AREAS, c.area_code,
                                          shared.MEASURES.index(c.measure)))
    return [PublishedVersion(t, w, c) for t, w, c in zip(times, latest, cells, strict=True)]


def fresh(monkeypatch, compute):
    """`compute()` with nothing kept, leaving what is kept as it was."""
    with monkeypatch.context() as patch:
        patch.setattr(shared, "_group_histories", {})
        patch.setattr(shared, "_published_cache", {})
        return compute()


@pytest.fixture
def counted(monkeypatch):
    """Nothing kept from other tests; counts the groups protected (each call of _group_cells)."""
    monkeypatch.setattr(shared, "_group_histories", {})
    monkeypatch.setattr(shared, "_published_cache", {})
    calls = []
    real = shared._group_cells

    def counting(group, *args):
        calls.append(tuple(m.key for m in group))
        return real(group, *args)

    monkeypatch.setattr(shared, "_group_cells", counting)
    return calls


def _figure(rng: random.Random) -> int:
    return rng.choice((0, 0, 1, 2, 4, 5, 6, 8, 9, 12, 17, 30))


def _return(rng: random.Random, kind: str, code: str, week: dt.date) -> dict:
    """One agency's figures for an area's week: probation's releases (which add up) and recalls, or housing's."""
    if kind == "housing":
        return {(key, code, week): _figure(rng) for key in ("housing_referrals", "households_in_ta")}
    t1, t2, others, nfa = (_figure(rng) for _ in range(4))
    total = t1 + t2 + others
    return {("releases_total", code, week): total, ("releases_tranche1", code, week): t1,
            ("releases_tranche2", code, week): t2, ("releases_nfa", code, week): min(nfa, total),
            ("probation_recalls", code, week): _figure(rng)}


def _story(rng: random.Random, codes: list[str], weeks: list[dt.date], steps: int) -> list[dict]:
    """Versions of the raw figures as changes arrive: a return, a correction (the return sent again with other
    figures) or a void (its figures gone)."""
    returns: dict[tuple[str, str, dt.date], dict] = {}
    raws = []
    for _ in range(steps):
        change = rng.random()
        if change < 0.5 or not returns:
            sent = (rng.choice(("probation", "housing")), rng.choice(codes), rng.choice(weeks))
            returns[sent] = _return(rng, *sent)
        elif change < 0.8:
            corrected = rng.choice(sorted(returns))
            returns[corrected] = _return(rng, *corrected)
        else:
            del returns[rng.choice(sorted(returns))]
        raws.append({k: v for figures in returns.values() for k, v in figures.items()})
    return raws


def test_kept_histories_give_the_picture_computed_afresh_and_as_defined(monkeypatch, counted):
    """Generated stories of twelve changes; at each change the history window is the versions since a start
    that moves on now and then, as the shared history's window does each day."""
    rng = random.Random(1127)
    codes = ["E07000008", "E07000010", "E06000031"]
    areas = [SharedArea(code, code, 20_000 + 5_000 * i) for i, code in enumerate(codes)]
    weeks = [dt.date(2024, 9, 2) + dt.timedelta(weeks=j) for j in range(3)]
    groups = shared.linked_groups(METRICS, LINKS)
    start = dt.datetime(2024, 9, 20)
    reused = 0
    for _story_number in range(6):
        raws = _story(rng, codes, weeks, 12)
        times = [start + dt.timedelta(hours=h) for h in range(len(raws))]
        first = 0
        for step in range(1, len(raws) + 1):
            moved = rng.random() < 0.2 and first < step - 1
            if moved:
                first = min(step - 1, first + rng.randint(1, 3))  # the window moved on a day
            window_times, window_raws = times[first:step], raws[first:step]
            before = len(counted)
            kept = shared._protect_history(METRICS, LINKS, areas, weeks[0], window_times, window_raws, THRESHOLD)
            computed = set(counted[before:])
            assert kept == fresh(monkeypatch, lambda: shared._protect_history(  # noqa: B023
                METRICS, LINKS, areas, weeks[0], window_times, window_raws, THRESHOLD))  # noqa: B023
            assert kept == history_as_defined(monkeypatch, METRICS, LINKS, areas, weeks[0], window_times,
                                              window_raws, THRESHOLD)
            if not moved and step - 1 - first >= 2:
                # Protected again: exactly the groups in a state that no earlier version in the window had (its
                # figures, and the weeks shown: a new week is shown in every group's table). (From one version
                # to two, every group is: one table alone is protected as a table, not as versions.)
                new = {tuple(m.key for m in group) for group in groups
                       if _state(group, raws[step - 1]) not in [_state(group, raw) for raw in raws[first:step - 1]]}
                assert computed == new, step
                reused += len(groups) - len(new)
    assert reused > 50, reused


def _state(group: list[SharedMetric], raw: dict) -> tuple:
    keys = {m.key for m in group}
    return max((k[2] for k in raw), default=None), {k: v for k, v in raw.items() if k[0] in keys}


def test_one_state_in_several_versions_is_protected_as_versions(monkeypatch, counted):
    """A group whose figures did not change over several versions is still protected as several versions (its
    table beside itself), as the whole history protected it, not as one table."""
    codes = ["E07000008", "E07000010"]
    areas = [SharedArea(code, code, 10_000) for code in codes]
    week = dt.date(2024, 9, 2)
    same = {("households_in_ta", c, week): v for c, v in zip(codes, (3, 40), strict=True)}
    raws = [{**same, ("housing_referrals", "E07000008", week): n} for n in (4, 9, 12)]
    times = [dt.datetime(2024, 9, 20, h) for h in range(3)]
    metrics = [OTHERS[1], OTHERS[0]]
    kept = shared._protect_history(metrics, [], areas, week, times, raws, THRESHOLD)
    assert counted == [("households_in_ta",), ("housing_referrals",)]
    assert kept == history_as_defined(monkeypatch, metrics, [], areas, week, times, raws, THRESHOLD)


def _published(session, since: dt.datetime):
    metrics, areas = shared.shareable_metrics(session), shared.shared_areas(session)
    return shared.published_versions(session, metrics, areas, threshold=THRESHOLD, history_from=FIRST_WEEK,
                                     since=since)


def _probation(week: dt.date, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for code in HOME_AREAS:
        t1, t2, others, nfa = (_figure(rng) for _ in range(4))
        total = t1 + t2 + others
        rows += [(week.isoformat(), code, "releases_total", total), (week.isoformat(), code, "releases_tranche1", t1),
                 (week.isoformat(), code, "releases_tranche2", t2),
                 (week.isoformat(), code, "releases_nfa", min(nfa, total)),
                 (week.isoformat(), code, "probation_recalls", _figure(rng))]
    return rows


def _housing(week: dt.date, code: str, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    return [(week.isoformat(), code, key, _figure(rng))
            for key in ("housing_referrals", "households_in_ta", "rough_sleepers")]


def test_the_shared_picture_kept_across_returns_corrections_and_voids(sqlite_url, data_dir, monkeypatch, counted):
    """Through the database: after each change, the picture now and as at every earlier moment, computed
    with what the earlier changes kept, equals the one computed with nothing kept; at the end, every version
    equals the history as defined."""
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)

    def latest_return(slug: str, week: dt.date) -> int:
        with factory() as session:
            return session.scalar(sa.select(sa.func.max(Return.id)).join(Agency)
                                  .where(Agency.slug == slug, Return.week == week))

    def void(slug: str, week: dt.date) -> None:
        with transaction(factory) as session:
            void_return(session, latest_return(slug, week), reason="sent for the wrong week", actor="analyst")

    changes = [
        lambda: ingest(factory, data_dir, "probation-cambs", _probation(WEEKS[0], 1)),
        lambda: ingest(factory, data_dir, "cambridge-housing", _housing(WEEKS[0], "E07000008", 2)),
        lambda: ingest(factory, data_dir, "fenland-housing", _housing(WEEKS[0], "E07000010", 3)),
        lambda: ingest(factory, data_dir, "probation-cambs", _probation(WEEKS[1], 4)),
        lambda: ingest(factory, data_dir, "probation-cambs", _probation(WEEKS[0], 5)),  # a correction
        lambda: ingest(factory, data_dir, "peterborough-housing", _housing(WEEKS[1], "E06000031", 6)),
        lambda: void("fenland-housing", WEEKS[0]),
        lambda: ingest(factory, data_dir, "cambridge-housing", _housing(WEEKS[0], "E07000008", 7)),  # corrected
        lambda: ingest(factory, data_dir, "probation-cambs", _probation(WEEKS[2], 8)),
        lambda: void("probation-cambs", WEEKS[1]),
    ]
    moments: list[dt.datetime] = []
    computed_kept: list[set] = []
    try:
        for change in changes:
            change()
            # One "now" for the kept and the fresh picture of a step: its day is the history window's.
            now = utcnow()
            moments.append(now)
            computed_kept.append(set())
            with factory() as session:
                for as_at in [None, *moments[:-1]]:
                    def picture(as_at=as_at, session=session, now=now):
                        return shared.shared_picture(session, SharedQuery(as_at=as_at), threshold=THRESHOLD,
                                                     history_from=FIRST_WEEK, history_days=14, now=now)
                    before = len(counted)
                    kept = picture()
                    computed_kept[-1].update(counted[before:])
                    assert kept.cells, "no figures: nothing compared"
                    assert kept == fresh(monkeypatch, picture), f"as at {as_at}"
                since = now - dt.timedelta(days=14)
                assert _published(session, since) == fresh(monkeypatch, lambda s=session, t=since: _published(s, t))
        with factory() as session:
            metrics, areas = shared.shareable_metrics(session), shared.shared_areas(session)
            links = shared.linked_totals(session, {m.key for m in metrics})
            since = utcnow() - dt.timedelta(days=14)
            published = _published(session, since)
            start = dt.datetime.combine(since.date(), dt.time())
            times, raws = observation_history(session, [m.key for m in metrics], tuple(a.code for a in areas),
                                              FIRST_WEEK, start)
        assert len(published.versions) == len(changes) + 1
        assert published.versions == history_as_defined(monkeypatch, metrics, links, areas, FIRST_WEEK, times, raws,
                                                         THRESHOLD)
    finally:
        engine.dispose()
    # A change protected again only the groups it touched, the others' histories were kept; a change that
    # brings a new week changes every group's table (the week is shown everywhere).
    housing, probation = {("housing_referrals",), ("households_in_ta",), ("rough_sleepers",)}, \
        {tuple(m.key for m in RELEASES), ("probation_recalls",)}
    assert computed_kept[1] == computed_kept[2] == computed_kept[7] == housing, computed_kept
    assert computed_kept[4] == probation, computed_kept
    assert len(computed_kept[3]) == len(computed_kept[8]) == len(shared.linked_groups(metrics, links)) == 9
