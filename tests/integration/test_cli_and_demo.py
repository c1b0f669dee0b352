"""The `maic` command end to end, and the demo seed through the real pipeline."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from maic.cli import main
from maic.db import make_engine, make_session_factory
from maic.models import Observation, Return, User
from maic.picture import PictureQuery, headlines
from tests.fixtures import PASSWORD, csv_bytes, login, login_as


@pytest.fixture
def runner(db_url, data_dir, monkeypatch):
    monkeypatch.setenv("MAIC_DATABASE_URL", db_url)
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
    result = runner.invoke(main, ["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "demo: ingested 336 returns" in result.output
    again = runner.invoke(main, ["demo", "seed"])
    assert "already loaded" in again.output
    logins = runner.invoke(main, ["demo", "logins"])
    for username in ("admin", "analyst", "viewer", "housing.lead", "norfolk.neighbour"):
        assert username in logins.output

    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as session:
        statuses = dict(session.execute(sa.select(Return.status, sa.func.count()).group_by(Return.status)).all())
        assert statuses == {"accepted": 335, "superseded": 1}  # the probation correction
        result = headlines(session, PictureQuery())
        assert result.week == dt.date(2024, 11, 18)
        assert (result.returns_in, result.returns_due) == (14, 14)
        tiles = {t.key: t.value for t in result.tiles}
        assert 15 <= tiles["released_week"] <= 40
        assert 300 <= tiles["released_to_date"] <= 600
        gap = headlines(session, PictureQuery(week_to=dt.date(2024, 10, 14)))
        assert (gap.returns_in, gap.returns_due) == (13, 14)  # East Cambridgeshire housing never sent it
        t1 = {t.key: t.value for t in headlines(session, PictureQuery(week_to=dt.date(2024, 9, 9))).tiles}
        before = {t.key: t.value for t in headlines(session, PictureQuery(week_to=dt.date(2024, 9, 2))).tiles}
        assert t1["released_week"] > 2.5 * before["released_week"]  # the tranche-one spike
        late = session.scalar(sa.select(Return).join(Return.agency)
                              .where(Return.week == dt.date(2024, 9, 2), Return.agency.has(slug="fenland-housing")))
        assert late.received_at >= dt.datetime(2024, 9, 11)
        assert session.scalar(sa.select(sa.func.count()).select_from(Observation)) > 8_000
    engine.dispose()
    assert (data_dir / "demo-returns" / "probation-cambs" / "probation-cambs-2024-09-09-corrected.csv").exists()


@pytest.mark.parametrize("args", [
    ["feeds", "add", "http://127.0.0.1:9/feed.csv", "--agency", "probation-cambs", "--token-env", "MAIC_NO_SUCH_VAR"],
    ["federation", "add", "norfolk", "http://127.0.0.1:9/", "--token-env", "MAIC_NO_SUCH_VAR"],
])
def test_an_empty_token_variable_is_refused_before_anything_is_saved(runner, args, monkeypatch):
    monkeypatch.delenv("MAIC_NO_SUCH_VAR", raising=False)
    result = runner.invoke(main, args)
    assert result.exit_code == 1
    assert "the environment variable MAIC_NO_SUCH_VAR is empty" in result.output
