"""Backups end to end: the demo with a correction and a void is backed up, restored into an empty database and
data folder, and compared with the original; a damaged backup, a full target and retention are refused or kept."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import tarfile
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from maic import config as maic_config
from maic import scheduler as sched
from maic.backup import (
    BackupError,
    Instance,
    create_backup,
    prune,
    restore_backup,
    scheduled_backup,
    verify_backup,
)
from maic.cli import main
from maic.db import make_engine, make_session_factory, transaction
from maic.demo import create_demo_users, seed
from maic.models import Agency, Base, Observation, Return, SchedulerRun, utcnow
from maic.picture import PictureQuery, headlines, release_series, releases_by_area
from maic.returns.ingest import IngestSettings, Submission, ingest_return
from maic.returns.void import void_return
from tests.fixtures import csv_bytes, login_as

DEMO_NOW = dt.datetime(2025, 3, 5, 12, 0)


def config_for(url: str, data_dir: Path, **extra) -> dict:
    return maic_config.load({"MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(data_dir),
                             "MAIC_INCIDENT_START": "2024-08-05", **extra})


@pytest.fixture
def empty_target(request, db_url, tmp_path):
    """A new, empty database of the same kind as db_url (no tables at all) and an empty data folder."""
    data_dir = tmp_path / "restored"
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{data_dir / 'maic.db'}", data_dir
        return
    server = request.getfixturevalue("postgres")
    name = f"maic_test_{uuid.uuid4().hex[:12]}"
    yield server.create(name), data_dir
    server.drop(name)


def seed_story(factory, config: dict) -> dict[str, dt.datetime]:
    """The demo, then a correction and a void; returns as-at moments on either side of each change."""
    settings = IngestSettings.from_config(config, today=DEMO_NOW.date())
    with transaction(factory) as session:
        create_demo_users(session)
    seed(factory, settings, Path(config["MAIC_DATA_DIR"]) / "demo-returns", now=DEMO_NOW)
    with factory() as session:
        week = session.scalar(sa.select(sa.func.max(Return.week)).join(Agency)
                              .where(Agency.slug == "probation-cambs"))
        voided = session.scalar(sa.select(sa.func.max(Return.id)).join(Agency)
                                .where(Agency.slug == "fenland-housing", Return.week == week))
        first = session.scalar(sa.select(sa.func.min(Return.received_at)))
        last = session.scalar(sa.select(sa.func.max(Return.received_at)))
    assert week and voided
    before = utcnow()
    correction = Submission(data=csv_bytes([(week.isoformat(), "E07000008", "releases_total", 999)]),
                            filename="probation-corrected.csv", agency_slug="probation-cambs", actor="probation.lead")
    ingest_return(factory, correction, settings)
    between = utcnow()
    with transaction(factory) as session:
        void_return(session, voided, reason="sent for the wrong week", actor="analyst")
    return {"mid-demo": first + (last - first) / 2, "end of demo": before, "after the correction": between,
            "after the void": utcnow()}


def picture(url: str, moments: dict[str, dt.datetime]) -> dict:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return {label: (headlines(session, PictureQuery(as_at=at)),
                            releases_by_area(session, PictureQuery(as_at=at, include_neighbours=True)),
                            release_series(session, PictureQuery(as_at=at)))
                    for label, at in moments.items()}
    finally:
        engine.dispose()


def every_row(url: str) -> dict[str, list[tuple]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {table.name: [tuple(row) for row in conn.execute(
                sa.select(table).order_by(*table.primary_key.columns))] for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_a_restored_backup_is_the_same_picture_audit_log_and_files(db_url, factory, data_dir, empty_target):
    config = config_for(db_url, data_dir)
    moments = seed_story(factory, config)
    made = create_backup(Instance.from_config(config), data_dir.parent / "backup.tar")
    assert made.archive_files == len(list((data_dir / "archive").rglob("*.csv"))) > 300

    target_url, target_dir = empty_target
    target = config_for(target_url, target_dir)
    done = restore_backup(Instance.from_config(target), made.path, actor="test-restore")
    assert done.archive_files == made.archive_files and done.archive_paths_moved > 300

    original, restored = picture(db_url, moments), picture(target_url, moments)
    for label in moments:
        assert restored[label] == original[label], label
    # The correction and the void each changed the picture, so the comparison above covers both.
    assert original["end of demo"][0] != original["after the correction"][0]
    assert original["after the correction"][0] != original["after the void"][0]
    assert original["mid-demo"][2] != original["end of demo"][2]

    before, after = every_row(db_url), every_row(target_url)
    *audit, last = after.pop("audit_event")
    assert audit == before.pop("audit_event")
    assert (last[2], last[3], last[4]) == ("test-restore", "backup.restore", "backup.tar")
    at = Return.__table__.columns.keys().index("archive_path")
    moved = [r[:at] + (r[at].replace(str(data_dir), str(target_dir)),) + r[at + 1:] for r in before.pop("return")]
    assert after.pop("return") == moved
    assert after == before  # every other table, row for row (observations, users, markers, runs...)

    engine = make_engine(target_url)
    try:
        with engine.connect() as conn:
            returns = conn.execute(sa.select(Return.archive_path, Return.sha256)).all()
    finally:
        engine.dispose()
    for path, sha in returns:
        restored_file = Path(path)
        original_file = data_dir / restored_file.relative_to(target_dir)
        assert restored_file.read_bytes() == original_file.read_bytes()
        assert hashlib.sha256(restored_file.read_bytes()).hexdigest() == sha
    assert sorted(p.relative_to(target_dir) for p in (target_dir / "archive").rglob("*") if p.is_file()) == \
        sorted(p.relative_to(data_dir) for p in (data_dir / "archive").rglob("*") if p.is_file())
    assert done.reference_file.read_bytes() == Instance.from_config(config).reference_file.read_bytes()


def test_the_app_runs_on_a_restored_instance(db_url, factory, data_dir, empty_target):
    from app import create_app

    # PostgreSQL's tools found in MAIC_PG_BIN_DIR as well as on PATH (an unused setting on SQLite).
    tools = str(Path(shutil.which("pg_dump") or "/usr/bin/pg_dump").parent)
    config = config_for(db_url, data_dir, MAIC_PG_BIN_DIR=tools)
    settings = IngestSettings.from_config(config, today=dt.date(2024, 12, 2))
    ingest_return(factory, Submission(data=csv_bytes([("2024-09-09", "E07000008", "releases_total", 4)]),
                                      filename="a.csv", agency_slug="probation-cambs", actor="test"), settings)
    made = create_backup(Instance.from_config(config), data_dir.parent / "backup.tar")
    target_url, target_dir = empty_target
    target = config_for(target_url, target_dir, MAIC_PG_BIN_DIR=tools)
    restore_backup(Instance.from_config(target), made.path)

    engine = make_engine(target_url)
    restored = make_session_factory(engine)
    try:
        # New rows take new ids after the restored ones (PostgreSQL's sequences came back with the data).
        receipt = ingest_return(restored, Submission(
            data=csv_bytes([("2024-09-16", "E07000008", "releases_total", 6)]), filename="b.csv",
            agency_slug="probation-cambs", actor="test"), IngestSettings.from_config(target, today=dt.date(2024, 12, 2)))
        with restored() as session:
            assert session.scalar(sa.select(sa.func.count()).select_from(Return)) == 2
            assert receipt.return_id == session.scalar(sa.select(sa.func.max(Return.id))) > 1
            assert Path(session.get(Return, receipt.return_id).archive_path).parent.parent == target_dir / "archive"
        app = create_app({"TESTING": True, "MAIC_DATABASE_URL": target_url, "MAIC_DATA_DIR": str(target_dir),
                          "MAIC_SECRET_KEY": "test-secret-key-not-for-production"})
        try:
            client = app.test_client()
            login_as(client, restored, "viewer")
            assert client.get("/dash/").status_code == 200
        finally:
            app.extensions["maic.db"]["engine"].dispose()
    finally:
        engine.dispose()


def flip_one_byte(path: Path, member: str) -> None:
    with tarfile.open(path) as tar:
        info = tar.getmember(member)
    with open(path, "r+b") as fh:
        fh.seek(info.offset_data + info.size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0x01]))


def test_a_damaged_backup_is_refused_naming_the_member_and_nothing_is_restored(db_url, factory, data_dir,
                                                                               empty_target, monkeypatch):
    config = config_for(db_url, data_dir)
    settings = IngestSettings.from_config(config, today=dt.date(2024, 12, 2))
    receipt = ingest_return(factory, Submission(data=csv_bytes([("2024-09-09", "E07000008", "releases_total", 4)]),
                                                filename="a.csv", agency_slug="probation-cambs", actor="test"),
                            settings)
    made = create_backup(Instance.from_config(config), data_dir.parent / "backup.tar")
    member = f"archive/probation-cambs/{receipt.sha256}.csv"
    assert verify_backup(made.path)["members"]
    flip_one_byte(made.path, member)

    target_url, target_dir = empty_target
    monkeypatch.setenv("MAIC_DATABASE_URL", target_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(target_dir))
    result = CliRunner().invoke(main, ["restore", str(made.path)])
    assert result.exit_code == 1
    assert f"the member '{member}' is damaged" in result.output and "nothing was restored" in result.output
    assert "Traceback" not in result.output
    flip_one_byte(made.path, member)  # the same bit again: the file is whole once more
    database_member = verify_backup(made.path)["database_member"]
    flip_one_byte(made.path, database_member)
    with pytest.raises(BackupError, match=f"the member '{database_member}' is damaged"):
        restore_backup(Instance.from_config(config_for(target_url, target_dir)), made.path)
    engine = make_engine(target_url)
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert not [p for p in (target_dir / "archive").rglob("*") if p.is_file()]
    assert not (target_dir / "reference").exists()


def test_restore_refuses_a_database_or_archive_that_is_not_empty(db_url, factory, data_dir, tmp_path):
    config = config_for(db_url, data_dir)
    ingest_return(factory, Submission(data=csv_bytes([("2024-09-09", "E07000008", "releases_total", 4)]),
                                      filename="a.csv", agency_slug="probation-cambs", actor="test"),
                  IngestSettings.from_config(config, today=dt.date(2024, 12, 2)))
    made = create_backup(Instance.from_config(config), tmp_path / "backup.tar")
    rows = every_row(db_url)
    with pytest.raises(BackupError, match="is not empty .* restore into a new, empty database; nothing was restored"):
        restore_backup(Instance.from_config(config_for(db_url, tmp_path / "elsewhere")), made.path)
    if db_url.startswith("sqlite"):
        fresh = config_for(f"sqlite:///{tmp_path / 'new' / 'maic.db'}", data_dir)
        with pytest.raises(BackupError, match="archive folder .* is not empty"):
            restore_backup(Instance.from_config(fresh), made.path)
        assert not (tmp_path / "new" / "maic.db").exists()
    assert every_row(db_url) == rows


def test_a_failed_backup_leaves_no_file_behind(db_url, data_dir, tmp_path):
    out = tmp_path / "backups"
    out.mkdir()
    if db_url.startswith("sqlite"):
        config = config_for(f"sqlite:///{tmp_path / 'missing.db'}", data_dir)
        expected = "there is no database at"
    else:
        config = config_for(db_url, data_dir, MAIC_PG_BIN_DIR=str(tmp_path / "no-tools"))
        expected = "pg_dump was not found in MAIC_PG_BIN_DIR"
    with pytest.raises(BackupError, match=expected):
        create_backup(Instance.from_config(config), out / "backup.tar")
    assert list(out.iterdir()) == []


def test_scheduled_backups_are_recorded_runs_and_keep_the_newest_n(sqlite_url, data_dir, tmp_path):
    folder = tmp_path / "backups"
    config = config_for(sqlite_url, data_dir, MAIC_BACKUP_DIR=str(folder), MAIC_BACKUP_KEEP=3,
                        MAIC_BACKUP_INTERVAL_HOURS=24.0)
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)
    try:
        run = sched.run_job(sched.JobContext(config, factory), sched.JOBS["backup"])
        assert run.outcome == "ok" and run.message.startswith("wrote maic-backup-"), run.message
        again = sched.run_job(sched.JobContext(config, factory), sched.JOBS["backup"])
        assert again.outcome == "ok" and again.message.startswith("not due: maic-backup-"), again.message
        with factory() as session:
            runs = session.execute(sa.select(SchedulerRun.job, SchedulerRun.outcome)
                                   .where(SchedulerRun.job == "backup")).all()
        assert runs == [("backup", "ok"), ("backup", "ok")]

        (folder / "keep-me.tar").write_bytes(b"not ours")
        instance = Instance.from_config(config)
        start = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        for day in range(5):
            message = scheduled_backup(instance, folder, keep=3, interval_hours=24, now=start + dt.timedelta(days=day))
            assert message.startswith("wrote"), message
        kept = sorted(p.name for p in folder.iterdir())
        assert kept == sorted(["keep-me.tar", *(f"maic-backup-{start + dt.timedelta(days=d):%Y%m%dT%H%M%SZ}.tar"
                                                for d in (2, 3, 4))])
        assert prune(folder, 0) and len(list(folder.glob("maic-backup-*.tar"))) == 1  # never fewer than one
        for path in folder.glob("maic-backup-*.tar"):
            assert verify_backup(path)["database_kind"] == "sqlite"
    finally:
        engine.dispose()

    off = sched.run_job(sched.JobContext(config_for(sqlite_url, data_dir), factory), sched.JOBS["backup"])
    assert off.message == "scheduled backups are off (MAIC_BACKUP_DIR is empty)"
    broken = config_for(sqlite_url, data_dir, MAIC_BACKUP_DIR=str(tmp_path / "other"),
                        MAIC_REFERENCE_FILE=str(tmp_path / "gone.yaml"))
    failed = sched.run_job(sched.JobContext(broken, factory), sched.JOBS["backup"])
    assert failed.outcome == "failed" and "BackupError: the reference file" in failed.message
    assert not list((tmp_path / "other").glob("*"))
    engine.dispose()


def test_cli_backup_writes_a_checked_file_and_audits_it(sqlite_url, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("MAIC_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MAIC_DATA_DIR", str(data_dir))
    runner = CliRunner()
    out = tmp_path / "b.tar"
    result = runner.invoke(main, ["backup", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and "sqlite database at schema" in result.output
    assert out.stat().st_mode & 0o077 == 0  # the data is OFFICIAL-SENSITIVE: readable by its owner only
    again = runner.invoke(main, ["backup", "-o", str(out)])
    assert again.exit_code == 1 and "exists; choose another file or add --force" in again.output
    check = runner.invoke(main, ["restore", "--check", str(out)])
    assert check.exit_code == 0 and "every member matches its sha256" in check.output
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT action, target FROM audit_event")).all() == [
                ("backup.create", str(out))]
    finally:
        engine.dispose()
    inside = runner.invoke(main, ["backup", "-o", str(data_dir / "archive" / "b.tar")])
    assert inside.exit_code == 1 and "write the backup outside the archive folder" in inside.output
    monkeypatch.setenv("MAIC_DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'maic.db'}")
    monkeypatch.setenv("MAIC_DATA_DIR", str(tmp_path / "new"))
    restored = runner.invoke(main, ["restore", str(out)])
    assert restored.exit_code == 0, restored.output
    assert "restored" in restored.output and "next: set MAIC_REFERENCE_FILE=" in restored.output
    engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'maic.db'}")
    try:
        with engine.connect() as conn:
            assert [a for (a,) in conn.execute(sa.text("SELECT action FROM audit_event ORDER BY id"))] == [
                "backup.restore"]  # the backup's own record was written after its snapshot
    finally:
        engine.dispose()
    not_tar = tmp_path / "x.tar"
    not_tar.write_bytes(b"hello")
    bad = runner.invoke(main, ["restore", "--check", str(not_tar)])
    assert bad.exit_code == 1 and "is not a MAIC backup" in bad.output



def test_a_backup_taken_while_returns_arrive_holds_only_whole_returns(db_url, factory, data_dir, empty_target):
    config = config_for(db_url, data_dir)
    settings = IngestSettings.from_config(config, today=dt.date(2024, 12, 2))
    areas = ["E07000008", "E07000009", "E07000010", "E07000011", "E07000012", "E06000031"]
    stop, ingested = threading.Event(), []

    def arrive() -> None:
        n = 0
        while not stop.is_set():
            week = dt.date(2024, 8, 5) + dt.timedelta(weeks=n % 12)
            rows = [(week.isoformat(), code, metric, n + i) for i, code in enumerate(areas)
                    for metric in ("releases_total", "releases_nfa")]
            ingested.append(ingest_return(factory, Submission(data=csv_bytes(rows), filename=f"r{n}.csv",
                                                              agency_slug="probation-cambs", actor="test"), settings))
            n += 1

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 120
        while len(ingested) < count and writer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(ingested) >= count

    writer = threading.Thread(target=arrive)
    writer.start()
    try:
        wait_for(2)
        made = create_backup(Instance.from_config(config), data_dir.parent / "backup.tar")
        wait_for(len(ingested) + 2)  # returns still arriving after the backup ended
    finally:
        stop.set()
        writer.join(timeout=120)
    target_url, target_dir = empty_target
    restore_backup(Instance.from_config(config_for(target_url, target_dir)), made.path)
    engine = make_engine(target_url)
    try:
        with engine.connect() as conn:
            returns = conn.execute(sa.select(Return.id, Return.row_count, Return.sha256, Return.archive_path)).all()
            observed = dict(conn.execute(sa.select(Observation.return_id, sa.func.count())
                                         .group_by(Observation.return_id)).all())
    finally:
        engine.dispose()
    assert 2 <= len(returns) < len(ingested)
    for return_id, row_count, sha, path in returns:
        assert observed.get(return_id) == row_count == 12  # no return is in the backup half-written
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == sha


def with_manifest(source: Path, target: Path, rename: dict[str, str] | None = None, **changes) -> Path:
    """A copy of a backup whose manifest says something else, its members' contents untouched."""
    rename = rename or {}
    with tarfile.open(source) as tar, tarfile.open(target, "w") as out:
        for member in tar.getmembers():
            data = tar.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = {**json.loads(data), **changes}
                manifest["members"] = [{**m, "name": rename.get(m["name"], m["name"])} for m in manifest["members"]]
                data = json.dumps(manifest).encode()
                member.size = len(data)
            member.name = rename.get(member.name, member.name)
            out.addfile(member, io.BytesIO(data))
    return target


def test_restore_refuses_another_database_kind_a_newer_schema_and_strange_members(sqlite_url, data_dir, tmp_path):
    made = create_backup(Instance.from_config(config_for(sqlite_url, data_dir)), tmp_path / "backup.tar")
    target_dir = tmp_path / "restored"
    into_sqlite = Instance.from_config(config_for(f"sqlite:///{target_dir / 'maic.db'}", target_dir))
    into_postgres = Instance.from_config(config_for("postgresql+psycopg://postgres@127.0.0.1:1/none", target_dir))
    with pytest.raises(BackupError, match="holds a sqlite database and MAIC_DATABASE_URL points at postgresql"):
        restore_backup(into_postgres, made.path)
    newer = with_manifest(made.path, tmp_path / "newer.tar", schema_revision="0999_from_the_future")
    with pytest.raises(BackupError, match="schema revision '0999_from_the_future' is unknown to this version"):
        restore_backup(into_sqlite, newer)
    manifest = verify_backup(made.path)
    reference = next(m["name"] for m in manifest["members"] if m["name"].startswith("reference/"))
    for evil in ("../evil.yaml", "/etc/evil.yaml", "reference/../../evil.yaml", "elsewhere/evil.yaml"):
        with pytest.raises(BackupError, match=f"the member name '{re.escape(evil)}' is not allowed"):
            verify_backup(with_manifest(made.path, tmp_path / "evil.tar", rename={reference: evil}))
    unlisted = [m for m in manifest["members"] if not m["name"].startswith("reference/")]
    with pytest.raises(BackupError, match="the member 'reference/sds40_east_of_england.yaml' is not in the manifest"):
        verify_backup(with_manifest(made.path, tmp_path / "unlisted.tar", members=unlisted))
    assert not (target_dir / "maic.db").exists()
