"""A correction after a pack was issued: the pack is kept as issued and found "revised since" (on SQLite and
PostgreSQL); the next pack says what changed; the weekly scheduled pack; the command line."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from maic import briefing
from maic.briefing.schedule import scheduled_pack, scheduled_week
from maic.models import BriefingPack
from tests.fixtures import ingest

W1, W2 = "2024-09-02", "2024-09-09"
T = dt.datetime(2024, 9, 17, 9, 0)
ISSUED = dt.datetime(2024, 9, 17, 14, 0)
CORRECTED = dt.datetime(2024, 9, 18, 10, 0)


def seed(factory, data_dir):
    ingest(factory, data_dir, "probation-cambs", [
        (W1, "E07000008", "releases_total", 5), (W1, "E06000031", "releases_total", 7),
    ], received_at=dt.datetime(2024, 9, 9, 10))
    ingest(factory, data_dir, "probation-cambs", [
        (W2, "E07000008", "releases_total", 20), (W2, "E07000008", "releases_nfa", 4),
        (W2, "E06000031", "releases_total", 30), (W2, "E06000031", "releases_nfa", 6),
    ], received_at=T)


def correct(factory, data_dir):
    """Probation resends week 2 with Cambridge's releases corrected from 20 to 25."""
    ingest(factory, data_dir, "probation-cambs", [
        (W2, "E07000008", "releases_total", 25), (W2, "E07000008", "releases_nfa", 4),
        (W2, "E06000031", "releases_total", 30), (W2, "E06000031", "releases_nfa", 6),
    ], received_at=CORRECTED, filename="corrected.csv")


def html_pack(factory, app, as_at: dt.datetime, made: dt.datetime) -> briefing.IssuedPack:
    with factory() as session, session.begin():
        return briefing.issue_pack(session, briefing.PackRequest(week=dt.date(2024, 9, 9), as_at=as_at, format="html"),
                                   "tester", settings=briefing.BriefingSettings.from_config(app.config), now=made)


def test_a_correction_after_a_pack_marks_it_revised_and_the_next_pack_says_so(app, factory, data_dir):
    seed(factory, data_dir)
    first = html_pack(factory, app, ISSUED, ISSUED)
    with factory() as session:
        assert briefing.revised_packs(session) == []
        kept = session.get(BriefingPack, first.id).document
    assert kept["figures"]["releases_total|E07000008|2024-09-09"] == 20
    assert kept["headline"]["released_week"] == 50

    correct(factory, data_dir)
    with factory() as session:
        revised = briefing.revised_packs(session)
        assert briefing.revised_packs(session, since=CORRECTED) == []  # nothing recorded since the correction
        assert [p.id for p in briefing.revised_packs(session, since=ISSUED)] == [first.id]
        row = session.get(BriefingPack, first.id)
        assert row.sha256 == first.sha256 and row.file == first.content  # kept exactly as issued
    assert [(p.id, [(f.metric, f.area, f.week, f.in_pack, f.now) for f in p.figures]) for p in revised] == [
        (first.id, [("releases_total", "E07000008", dt.date(2024, 9, 9), 20, 25)])]

    later = CORRECTED + dt.timedelta(hours=1)
    second = html_pack(factory, app, later, later)
    with factory() as session:
        doc = briefing.Document.from_json(session.get(BriefingPack, second.id).document)
    since = next(s for s in doc.sections if s.key == "since")
    assert "Released this week: 50 in the last pack, 55 in this one." in since.bullets
    assert any(f"Pack {first.id}" in note and "1 figures revised" in note and "20 then, 25 now" in note
               for note in since.notes)
    assert doc.version == "Version 2 for this week"

    # Notices (issue 14's outbox): each pack "ready" when issued; the revision once, however often it is checked.
    from maic.briefing.store import notify_revised
    from maic.models import Notification
    from tests.fixtures import make_user

    make_user(factory, "analyst")
    with factory() as session, session.begin():
        assert notify_revised(session) == 1
    with factory() as session, session.begin():
        assert notify_revised(session) == 0
    with factory() as session:
        keys = {n.event_key for n in session.query(Notification)}
    assert {f"pack_issued:{first.id}", f"pack_issued:{second.id}"} <= keys
    assert any(k.startswith(f"pack_revised:{first.id}:") for k in keys)

    # The Briefings page lists both, the first with its revised figure.
    from callbacks import briefings

    with app.test_request_context("/dash/briefings"):
        rows = {r.id: r for r in briefings._rows()}
    assert rows[first.id].revised_count == 1 and "20 in the pack, 25 now" in rows[first.id].revised[0]
    assert rows[second.id].revised_count == 0


def test_the_scheduler_makes_each_weeks_pack_once_after_the_deadline_and_offset(app, factory, data_dir):
    seed(factory, data_dir)
    config = dict(app.config, MAIC_CHROMIUM="/nonexistent/chromium", MAIC_BRIEFING_OFFSET_HOURS=2)
    # Week 2's deadline is Tue 17 Sep 12:00 (11:00 UTC); with the offset, its pack is due from 13:00 UTC.
    assert scheduled_week(dt.datetime(2024, 9, 17, 12, 59), config) == dt.date(2024, 9, 2)
    assert scheduled_week(dt.datetime(2024, 9, 17, 13, 0), config) == dt.date(2024, 9, 9)
    message = scheduled_pack(factory, config, now=dt.datetime(2024, 9, 17, 13, 5))
    assert "for the week beginning 2024-09-09 (html)" in message and "MAIC_CHROMIUM" in message
    assert "made already" in scheduled_pack(factory, config, now=dt.datetime(2024, 9, 18, 9, 0))
    with factory() as session:
        packs = session.query(BriefingPack).all()
    assert [(p.audience, p.week, p.made_by, p.as_at) for p in packs] == [
        ("scg", dt.date(2024, 9, 9), "scheduler", dt.datetime(2024, 9, 17, 13, 5))]


def test_the_command_makes_html_and_says_what_is_missing_for_a_pdf(app, factory, data_dir, tmp_path, monkeypatch):
    from maic.cli import main

    seed(factory, data_dir)
    monkeypatch.setenv("MAIC_DATABASE_URL", app.config["MAIC_DATABASE_URL"])
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    runner = CliRunner()
    out = tmp_path / "pack.html"
    result = runner.invoke(main, ["briefing", "--format", "html", "--week", W2, "--as-at", "2024-09-17T15:00",
                                  "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"<!DOCTYPE html>") and "OFFICIAL-SENSITIVE" in out.read_text()
    monkeypatch.setenv("MAIC_CHROMIUM", "/nonexistent/chromium")
    result = runner.invoke(main, ["briefing", "-o", str(tmp_path / "pack.pdf")])
    assert result.exit_code == 1
    assert "MAIC_CHROMIUM" in result.output and "make browser-deps" in result.output
    assert (tmp_path / "pack.html").exists() and not (tmp_path / "pack.pdf").exists()
    result = runner.invoke(main, ["briefing", "--as-at", "yesterday", "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 1 and "--as-at 'yesterday'" in result.output
    with factory() as session:
        assert session.query(BriefingPack).filter(BriefingPack.made_by.like("cli:%")).count() == 2
