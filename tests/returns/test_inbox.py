"""The drop folder: accepted files to archive, refused ones to quarantine with a report; nothing deleted."""

from __future__ import annotations

import sqlalchemy as sa

from maic.db import make_engine, make_session_factory
from maic.inbox import ACCEPTED, DB_DOWN, DUPLICATE, REFUSED, WAITING, scan_inbox
from maic.models import Return
from tests.fixtures import csv_bytes, settings_for

GOOD = csv_bytes([("2024-09-09", "E07000008", "releases_total", 4)])
BAD = csv_bytes([("2024-09-09", "E07000008", "releases_total", -4)])


def drop(data_dir, agency: str, name: str, data: bytes):
    folder = data_dir / "inbox" / agency
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return folder / name


def files_under(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())


def test_accepted_to_archive_refused_to_quarantine_with_a_report(factory, data_dir):
    drop(data_dir, "probation-cambs", "week37.csv", GOOD)
    drop(data_dir, "probation-cambs", "broken.csv", BAD)
    items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert sorted((i.name, i.outcome) for i in items) == [("broken.csv", REFUSED), ("week37.csv", ACCEPTED)]
    assert files_under(data_dir / "inbox") == []
    received = files_under(data_dir / "archive" / "probation-cambs" / "received")
    assert len(received) == 1 and received[0].endswith("-week37.csv")
    quarantined = files_under(data_dir / "quarantine" / "probation-cambs")
    assert len(quarantined) == 2 and quarantined[0].endswith("-broken.csv")
    report = (data_dir / "quarantine" / "probation-cambs" / quarantined[1]).read_text()
    assert "row 2, column value: '...' is negative" in report and "nothing from it was written" in report
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Return)) == 1


def test_the_same_file_again_is_archived_as_already_received(factory, data_dir):
    drop(data_dir, "probation-cambs", "a.csv", GOOD)
    scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    drop(data_dir, "probation-cambs", "a.csv", GOOD)
    (item,) = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert item.outcome == DUPLICATE
    assert len(files_under(data_dir / "archive" / "probation-cambs" / "received")) == 2


def test_temporary_and_growing_files_are_left_for_the_next_scan(factory, data_dir, monkeypatch):
    for name in ("upload.csv.part", "~$book.xlsx", ".hidden.csv", "x.tmp"):
        drop(data_dir, "probation-cambs", name, GOOD)
    growing = drop(data_dir, "probation-cambs", "growing.csv", GOOD[:20])
    import maic.inbox as inbox_module

    real_sleep = inbox_module.time.sleep

    def writer_appends(seconds):
        with open(growing, "ab") as fh:  # another program is still writing during our pause
            fh.write(GOOD[20:])
        real_sleep(0)

    monkeypatch.setattr(inbox_module.time, "sleep", writer_appends)
    items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=1)
    assert {i.outcome for i in items} == {WAITING}
    assert len(files_under(data_dir / "inbox")) == 5
    monkeypatch.undo()
    items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert [(i.name, i.outcome) for i in items if i.outcome != WAITING] == [("growing.csv", ACCEPTED)]


def test_odd_names_links_and_unknown_folders_are_quarantined_safely(factory, data_dir, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_bytes(GOOD)
    folder = data_dir / "inbox" / "probation-cambs"
    folder.mkdir(parents=True)
    (folder / "link.csv").symlink_to(outside)
    drop(data_dir, "probation-cambs", "..\\..\\..\\etc\\passwd.csv", BAD)
    drop(data_dir, "probation-cambs", "new\nline\u202e.csv", BAD)
    drop(data_dir, "no-such-agency", "x.csv", GOOD)
    (data_dir / "inbox" / "loose.csv").write_bytes(GOOD)
    items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert {i.outcome for i in items} == {REFUSED}
    assert outside.read_bytes() == GOOD  # the link's target is never touched
    quarantine = data_dir / "quarantine"
    names = files_under(quarantine)
    assert all(".." not in n.split("/")[-1] and "\n" not in n for n in names)
    assert any(n.startswith("no-such-agency/") for n in names) and any(n.startswith("_no_agency/") for n in names)
    assert all(p.resolve().is_relative_to(quarantine.resolve()) for p in quarantine.rglob("*") if not p.is_symlink())
    assert files_under(data_dir / "inbox") == []
    reports = [(quarantine / n).read_text() for n in names if n.endswith(".errors.txt")]
    assert any("not a known agency" in r for r in reports) and any("ordinary files" in r for r in reports)


def test_database_unavailable_leaves_the_file_and_the_next_scan_succeeds(factory, data_dir, tmp_path):
    path = drop(data_dir, "probation-cambs", "week37.csv", GOOD)
    dead_engine = make_engine(f"sqlite:///{tmp_path / 'missing-folder' / 'x.db'}")
    (item,) = scan_inbox(make_session_factory(dead_engine), settings_for(data_dir), data_dir, settle_seconds=0)
    dead_engine.dispose()
    assert item.outcome == DB_DOWN and path.read_bytes() == GOOD
    (item,) = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert item.outcome == ACCEPTED and not path.exists()


def test_database_unavailable_on_postgres_too(data_dir):
    path = drop(data_dir, "probation-cambs", "week37.csv", GOOD)
    dead_engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    (item,) = scan_inbox(make_session_factory(dead_engine), settings_for(data_dir), data_dir, settle_seconds=0)
    dead_engine.dispose()
    assert item.outcome == DB_DOWN and path.exists() and not list(data_dir.glob("quarantine/**/*"))


SECRET = b"root:x:0:0:SECRET-FIRST-LINE:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def reports_in(data_dir) -> str:
    return "\n".join(p.read_text() for p in (data_dir / "quarantine").rglob("*.errors.txt"))


def test_a_hard_link_to_a_file_outside_the_inbox_is_refused_unread(factory, data_dir, tmp_path):
    import os

    outside = tmp_path / "passwd"
    outside.write_bytes(SECRET)
    folder = data_dir / "inbox" / "probation-cambs"
    folder.mkdir(parents=True)
    os.link(outside, folder / "week37.csv")
    (item,) = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert item.outcome == REFUSED and "hard link" in item.message
    assert "SECRET" not in reports_in(data_dir) and "root" not in reports_in(data_dir)
    assert outside.read_bytes() == SECRET and files_under(data_dir / "inbox") == []


def test_a_report_never_repeats_what_the_file_holds(factory, data_dir):
    drop(data_dir, "probation-cambs", "passwd.csv", SECRET)
    drop(data_dir, "probation-cambs", "values.csv",
         b"week,area_code,metric,value\nSECRET-WEEK,E07000008,releases_total,4\n"
         b"2024-09-09,SECRET-AREA,releases_total,4\n2024-09-09,E07000008,SECRET-METRIC,4\n"
         b"2024-09-09,E07000008,releases_total,SECRET'S-VALUE\n")
    items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert {i.outcome for i in items} == {REFUSED}
    text = reports_in(data_dir)
    assert "SECRET" not in text and "root" not in text
    # Still says where each problem is and what kind it is.
    assert "row 1, a column of the file: unexpected column(s)" in text
    assert "row 2, column week: '...' is not a week" in text
    assert "row 3, column area_code:" in text and "row 5, column value:" in text


def test_a_file_that_becomes_a_link_or_another_file_is_not_read(tmp_path):
    import os

    import pytest

    from maic.inbox import NotOurs, read_own_file

    own = tmp_path / "own.csv"
    own.write_bytes(GOOD)
    looked_at = own.lstat()
    assert read_own_file(own, looked_at, 1000) == GOOD
    outside = tmp_path / "outside.csv"
    outside.write_bytes(SECRET)
    own.unlink()
    own.symlink_to(outside)  # swapped for a link after it was looked at
    with pytest.raises(NotOurs):
        read_own_file(own, looked_at, 1000)
    own.unlink()
    os.link(outside, own)  # or for a hard link to a file elsewhere
    with pytest.raises(NotOurs):
        read_own_file(own, own.lstat(), 1000)
    own.unlink()
    own.write_bytes(GOOD)  # or for another file
    other = own.lstat()
    assert read_own_file(own, other, 1000) == GOOD
    replaced = tmp_path / "replaced.csv"
    replaced.write_bytes(GOOD)
    os.replace(replaced, own)
    with pytest.raises(NotOurs):
        read_own_file(own, other, 1000)
