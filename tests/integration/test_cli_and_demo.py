"""The `maic` command end to end, and the demo seed through the real pipeline."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from maic.cli import main
from maic.db import make_engine, make_session_factory
from maic.models import LRF, Agency, Incident, Observation, Return, ReturnSource, User
from maic.picture import PictureQuery, completeness, headlines, tranche_markers, values, weeks_with_data
from maic.reference import first_week
from maic.returns import history
from maic.returns.ingest import Submission, ingest_return
from maic.returns.template import HEADER_ROW
from tests.fixtures import PASSWORD, csv_bytes, login, login_as, settings_for
from tests.returns.helpers import filled_template


@pytest.fixture
def runner(db_url, data_dir, monkeypatch):
    monkeypatch.setenv("MAIC_DATABASE_URL", db_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    return CliRunner()


@pytest.fixture
def sqlite_runner(sqlite_url, data_dir, monkeypatch):
    """For what does not depend on the database: SQLite only."""
    monkeypatch.setenv("MAIC_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    return CliRunner()


def test_cli_ingest_accepts_then_recognises_the_same_file(runner, tmp_path, factory):
    path = tmp_path / "probation.csv"
    path.write_bytes(csv_bytes([("2024-09-09", "E07000008", "releases_total", 4)]))
    first = runner.invoke(main, ["ingest", str(path), "--agency", "probation-cambs"])
    assert first.exit_code == 0, first.output
    assert "accepted return" in first.output and "1 rows for week 2024-09-09" in first.output
    again = runner.invoke(main, ["ingest", str(path), "--agency", "probation-cambs"])
    assert again.exit_code == 0 and "already received as return" in again.output


def test_cli_ingest_refusal_lists_problems_and_exits_non_zero(runner, tmp_path, factory):
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([("2024-09-09", "E07000008", "releases_total", "lots")]))
    result = runner.invoke(main, ["ingest", str(path), "--agency", "probation-cambs"])
    assert result.exit_code == 1
    assert "row 2, column value: 'lots' is not a number" in result.output
    assert "Traceback" not in result.output
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Return)) == 0


def test_cli_users_create(runner, factory, monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "a long enough password")
    result = runner.invoke(main, ["users", "create", "Jo.Lead", "--role", "agency_lead", "--agency",
                                  "fenland-housing", "--password-env", "NEW_PASSWORD"])
    assert result.exit_code == 0, result.output
    with factory() as session:
        user = session.scalar(sa.select(User).where(User.username == "jo.lead"))
        assert user.role == "agency_lead" and user.agency.slug == "fenland-housing"
        assert user.password_hash.startswith("$argon2id$")
    short = runner.invoke(main, ["users", "create", "x", "--role", "viewer", "--password-env", "NOPE"])
    assert short.exit_code == 1 and "at least 12 characters" in short.output


def test_cli_set_password_ends_the_users_sessions(runner, client, factory, monkeypatch):
    username = login_as(client, factory, "viewer")
    assert client.get("/dash/").status_code == 200
    monkeypatch.setenv("NEW_PASSWORD", "another long enough password")
    result = runner.invoke(main, ["users", "set-password", username.upper(), "--password-env", "NEW_PASSWORD"])
    assert result.exit_code == 0, result.output
    assert client.get("/dash/").status_code == 302  # signed out at once
    assert login(client, username, PASSWORD).status_code == 401
    assert login(client, username, "another long enough password").status_code == 302
    nobody = runner.invoke(main, ["users", "set-password", "nobody", "--password-env", "NEW_PASSWORD"])
    assert nobody.exit_code == 1 and "there is no user 'nobody'" in nobody.output


def test_demo_seed_runs_once_through_the_pipeline(runner, db_url, data_dir):
    # Seeded on Wednesday 5 March 2025: the story's 16 weeks end with the week of 24 February 2025, moved 14 weeks
    # from the real calendar it is written on (its last week there is 18 November 2024).
    result = runner.invoke(main, ["demo", "seed", "--today", "2025-03-05"])
    assert result.exit_code == 0, result.output
    assert "demo: ingested 336 returns" in result.output
    # `make run` loads the reference data (the real tranche dates) before each demo seed: the demo's dates return.
    assert runner.invoke(main, ["reference", "load"]).exit_code == 0
    again = runner.invoke(main, ["demo", "seed"])
    assert again.exit_code == 0 and "already loaded" in again.output
    logins = runner.invoke(main, ["demo", "logins"])
    for username in ("admin", "analyst", "viewer", "housing.lead", "norfolk.neighbour", "probation-cambs.lead",
                     "hmpps-prisons-east.lead"):
        assert username in logins.output

    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as session:
        statuses = dict(session.execute(sa.select(Return.status, sa.func.count()).group_by(Return.status)).all())
        assert statuses == {"accepted": 335, "superseded": 1}  # the probation correction
        result = headlines(session, PictureQuery())
        assert result.week == dt.date(2025, 2, 24)
        assert (result.returns_in, result.returns_due) == (14, 14)
        tiles = {t.key: t.value for t in result.tiles}
        assert 15 <= tiles["released_week"] <= 40
        assert 300 <= tiles["released_to_date"] <= 600
        gap = headlines(session, PictureQuery(week_to=dt.date(2025, 1, 20)))
        assert (gap.returns_in, gap.returns_due) == (13, 14)  # East Cambridgeshire housing never sent it
        t1 = {t.key: t.value for t in headlines(session, PictureQuery(week_to=dt.date(2024, 12, 16))).tiles}
        before = {t.key: t.value for t in headlines(session, PictureQuery(week_to=dt.date(2024, 12, 9))).tiles}
        assert t1["released_week"] > 2.5 * before["released_week"]  # the tranche-one spike
        late = session.scalar(sa.select(Return).join(Return.agency)
                              .where(Return.week == dt.date(2024, 12, 9), Return.agency.has(slug="fenland-housing")))
        assert late.received_at >= dt.datetime(2024, 12, 18)
        assert session.scalar(sa.select(sa.func.count()).select_from(Observation)) > 8_000
        assert session.scalar(sa.select(sa.func.min(Observation.week))) == dt.date(2024, 11, 11)
        incident = session.scalar(sa.select(Incident))
        assert incident.start == dt.date(2024, 11, 11)
        assert [(m.name, m.date) for m in incident.markers] == [
            ("Tranche one (demo date)", dt.date(2024, 12, 17)), ("Tranche two (demo date)", dt.date(2025, 1, 28))]
        assert "the real date was 10 September 2024" in incident.markers[0].note
        _assert_sent_by_their_agency_leads(session)
    engine.dispose()
    assert (data_dir / "demo-returns" / "probation-cambs" / "probation-cambs-2024-12-16-corrected.csv").exists()


def _assert_sent_by_their_agency_leads(session) -> None:
    """Every home return was sent by a lead of its own agency, through the upload door; neighbours' were pulled."""
    rows = session.execute(sa.select(Return.source, Agency.slug, Agency.kind, User.role, User.agency_id,
                                     Return.agency_id).join(Agency, Agency.id == Return.agency_id)
                           .outerjoin(User, User.id == Return.submitted_by_id)).all()
    assert rows
    for source, slug, kind, role, user_agency, agency_id in rows:
        if kind == "neighbour_maic":
            assert (source, role) == ("federation", None), slug
        else:
            assert (source, role, user_agency) == ("upload", "agency_lead", agency_id), slug


def test_a_demo_that_would_begin_before_the_incident_start_is_refused(sqlite_runner, sqlite_url):
    result = sqlite_runner.invoke(main, ["demo", "seed", "--today", "2024-10-01"])
    assert result.exit_code == 1
    assert "the demo would begin on 2024-06-10, before MAIC_INCIDENT_START (2024-08-05)" in result.output
    assert "Traceback" not in result.output
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0  # refused before anything was written
    engine.dispose()
    bad = sqlite_runner.invoke(main, ["demo", "seed", "--today", "last tuesday"])
    assert bad.exit_code == 2 and "'last tuesday' is not a date" in bad.output


def _weeks_due_by_agency(session, now: dt.datetime, start: dt.date) -> dict[str, list]:
    agencies = session.execute(sa.select(Agency.slug, Agency.id).join(LRF)
                               .where(LRF.is_home.is_(True), Agency.kind != "neighbour_maic")).all()
    return {slug: history.weeks_due(session, agency_id, now=now, incident_start=start, deadline_rule="TUE 12:00",
                                    tz="Europe/London") for slug, agency_id in agencies}


def _lead_uploads_the_template(factory, data_dir, week: dt.date, households_in_ta: int):
    """What the housing lead does on the returns page: the template for the week, filled in, uploaded, committed."""
    def put_households(sheet):
        keys = [cell.value for cell in sheet[HEADER_ROW]]
        sheet.cell(row=HEADER_ROW + 1, column=keys.index("households_in_ta") + 1, value=households_in_ta)

    data = filled_template(factory, "cambridge-housing", week, value=lambda row, col: 7, edit=put_households)
    with factory() as session:
        lead = session.scalar(sa.select(User).where(User.username == "housing.lead"))
        submission = Submission(data=data, filename=f"return-cambridge-housing-{week.isoformat()}.xlsx",
                                agency_slug="cambridge-housing", source=ReturnSource.UPLOAD, user_id=lead.id,
                                actor=lead.username)
    return ingest_return(factory, submission, settings_for(data_dir, today=dt.date.today()))


def _cambridge_households(session, week: dt.date) -> int:
    found = values(session, PictureQuery(area_codes=("E07000008",)), ["households_in_ta"], week, week)
    return int(found["value"].iloc[0])


def test_the_demo_is_a_live_incident_on_the_day_it_is_seeded(runner, db_url, data_dir, monkeypatch):
    """Seeded on Thursday 11 June 2026: every page counts the same weeks, and the lead's return lands in the latest."""
    monkeypatch.setenv("MAIC_DEMO_TODAY", "2026-06-11")
    result = runner.invoke(main, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    now, latest = dt.datetime(2026, 6, 11, 12, 0), dt.date(2026, 6, 1)  # last week, the last complete one
    first, gap = latest - dt.timedelta(weeks=15), latest - dt.timedelta(weeks=5)
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as session:
        start = first_week(session, dt.date(2024, 8, 5))
        assert start == first
        assert session.scalar(sa.select(sa.func.max(Return.received_at))) <= now
        # The returns page, for every agency's lead: the newest week due is the latest, none missing but the
        # one the demo means to be missing, and no week outside the demo's.
        due = _weeks_due_by_agency(session, now, start)
        assert {slug: weeks[0].week for slug, weeks in due.items()} == dict.fromkeys(due, latest)
        missing = {(slug, w.week) for slug, weeks in due.items() for w in weeks if w.status == history.MISSING}
        assert missing == {("east-cambs-housing", gap)}
        assert all(first <= w.week <= latest for weeks in due.values() for w in weeks)
        assert history.template_weeks(now.date(), start)[0] == latest
        # The picture, as at that moment: the same latest week, every return in, the same one gap.
        top = headlines(session, PictureQuery(as_at=now))
        assert (top.week, top.returns_in, top.returns_due) == (latest, 14, 14)
        grid = completeness(session, PictureQuery(as_at=now))
        assert (grid.weeks[0], grid.weeks[-1], len(grid.weeks)) == (first, latest, 16)
        assert {(c.agency, c.week) for a in grid.agencies for c in a.cells if c.status == "missing"} == {
            ("east-cambs-housing", gap)}
        assert weeks_with_data(session, PictureQuery(as_at=now))[-1] == latest
        assert [m for m, _ in tranche_markers(session)] == [dt.date(2026, 3, 24), dt.date(2026, 5, 5)]
        before = _cambridge_households(session, latest)
        households_tile = {t.key: t.value for t in top.tiles}["households_in_ta"]
        _assert_sent_by_their_agency_leads(session)

    receipt = _lead_uploads_the_template(factory, data_dir, history.template_weeks(now.date(), start)[0],
                                         before + 40)
    assert receipt.weeks == [latest] and receipt.superseded == 1
    with factory() as session:
        after = headlines(session, PictureQuery())
        assert after.week == latest
        assert {t.key: t.value for t in after.tiles}["households_in_ta"] == households_tile + 40
        assert _cambridge_households(session, latest) == before + 40
    engine.dispose()


def test_seeded_early_on_a_monday_last_week_is_due_and_the_leads_return_starts_it(sqlite_runner, sqlite_url,
                                                                                  data_dir):
    """Before Monday's returns arrive: last week is due (not missing), and the lead's upload is its first figure."""
    result = sqlite_runner.invoke(main, ["demo", "seed", "--today", "2026-03-02T07:00"])
    assert result.exit_code == 0, result.output
    now, latest = dt.datetime(2026, 3, 2, 7, 0), dt.date(2026, 2, 23)
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)
    with factory() as session:
        start = first_week(session, dt.date(2024, 8, 5))
        assert session.scalar(sa.select(sa.func.max(Return.received_at))) <= now
        assert session.scalar(sa.select(sa.func.max(Return.week))) == latest - dt.timedelta(weeks=1)
        due = _weeks_due_by_agency(session, now, start)
        assert {slug: (weeks[0].week, weeks[0].status) for slug, weeks in due.items()} == dict.fromkeys(
            due, (latest, history.DUE))
        missing = {(slug, w.week) for slug, weeks in due.items() for w in weeks if w.status == history.MISSING}
        assert missing == {("east-cambs-housing", latest - dt.timedelta(weeks=5))}
        assert headlines(session, PictureQuery(as_at=now)).week == latest - dt.timedelta(weeks=1)
        template_week = history.template_weeks(now.date(), start)[0]
        assert template_week == latest
    _lead_uploads_the_template(factory, data_dir, template_week, 120)
    with factory() as session:
        top = headlines(session, PictureQuery())
        assert (top.week, top.returns_in) == (latest, 1)
        assert _cambridge_households(session, latest) == 120
    engine.dispose()


@pytest.mark.parametrize("args", [
    ["feeds", "add", "http://127.0.0.1:9/feed.csv", "--agency", "probation-cambs", "--token-env", "MAIC_NO_SUCH_VAR"],
    ["federation", "add", "norfolk", "http://127.0.0.1:9/", "--token-env", "MAIC_NO_SUCH_VAR"],
])
def test_an_empty_token_variable_is_refused_before_anything_is_saved(runner, args, monkeypatch):
    monkeypatch.delenv("MAIC_NO_SUCH_VAR", raising=False)
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "the environment variable MAIC_NO_SUCH_VAR is empty" in result.output
