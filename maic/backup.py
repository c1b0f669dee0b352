"""Backups: one tar file with a consistent database snapshot, the archive of received files and the reference
file, and a manifest of their sha256 sums; restore into an empty instance; scheduled backups and retention.

Never imports flask or dash. The database is read by SQLite's online backup API or by `pg_dump`, never copied
as a live file.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import importlib.metadata
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa

from maic.errors import MaicError

FORMAT = "maic-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/maic.sqlite3"
POSTGRES_MEMBER = "database/maic.pgdump"
ARCHIVE = "archive"
REFERENCE = "reference"
# Scheduled backups are named by their UTC time, so the names sort as the backups were taken.
SCHEDULED_NAME = re.compile(r"^maic-backup-\d{8}T\d{6}Z\.tar$")
CHUNK = 1024 * 1024
# The ingest writes an archive file under this prefix and renames it when complete: never a finished file.
INCOMING_PREFIX = ".incoming-"
PG_TIMEOUT_SECONDS = 3600


class BackupError(MaicError):
    """A backup that cannot be made, read or restored; the message says which part and why."""


@dataclass(frozen=True)
class Instance:
    """Where one instance keeps what a backup holds."""

    database_url: str
    data_dir: Path
    reference_file: Path
    pg_bin_dir: str = ""

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Instance:
        from maic.reference import reference_path

        return cls(database_url=str(config["MAIC_DATABASE_URL"]), data_dir=Path(config["MAIC_DATA_DIR"]),
                   reference_file=reference_path(None, config.get("MAIC_REFERENCE_FILE")),
                   pg_bin_dir=str(config.get("MAIC_PG_BIN_DIR") or ""))

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / ARCHIVE

    @property
    def kind(self) -> str:
        name = sa.engine.make_url(self.database_url).get_backend_name()
        if name not in {"sqlite", "postgresql"}:
            raise BackupError(f"backups support SQLite and PostgreSQL databases, not '{name}'")
        return name


@dataclass(frozen=True)
class Backup:
    path: Path
    size_bytes: int
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def archive_files(self) -> int:
        return sum(m["name"].startswith(ARCHIVE + "/") for m in self.manifest["members"])


@dataclass(frozen=True)
class Restored:
    manifest: dict[str, Any]
    archive_files: int
    reference_file: Path
    archive_paths_moved: int


# --- making a backup ----------------------------------------------------------------------------------


def create_backup(instance: Instance, output: Path, *, now: dt.datetime | None = None,
                  overwrite: bool = False) -> Backup:
    """Write a backup to `output`: a temporary file beside it, renamed into place only once it is complete."""
    output = Path(output)
    if output.resolve().is_relative_to(instance.archive_dir.resolve()):
        # The backup would read itself while it is being written.
        raise BackupError(f"write the backup outside the archive folder {instance.archive_dir}")
    if output.exists() and not overwrite:
        raise BackupError(f"{output} exists; choose another file or add --force")
    if not instance.reference_file.is_file():
        raise BackupError(f"the reference file {instance.reference_file} does not exist (MAIC_REFERENCE_FILE)")
    output.parent.mkdir(parents=True, exist_ok=True)
    created = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    kind = instance.kind
    members: list[dict[str, Any]] = []
    archived: set[str] = set()
    fd, tmp_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh, \
                tempfile.TemporaryDirectory(prefix=".maic-backup-", dir=output.parent) as staging:
            # The database first: every return it holds had its file archived before it was committed, so the
            # archive copied afterwards holds every file the snapshot names.
            if kind == "sqlite":
                db_member, db_file = SQLITE_MEMBER, Path(staging) / "maic.sqlite3"
                _sqlite_snapshot(instance.database_url, db_file)
                revision = _sqlite_revision(db_file)
                named = _sqlite_archive_paths(db_file)
            else:
                db_member, db_file = POSTGRES_MEMBER, Path(staging) / "maic.pgdump"
                revision = _database_revision(instance.database_url)
                _pg_dump(instance, db_file)
                named = _database_archive_paths(instance.database_url)
            with tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
                members.append(_add(tar, db_member, db_file, created))
                for path in _archive_files(instance.archive_dir):
                    rel = path.relative_to(instance.archive_dir).as_posix()
                    members.append(_add(tar, f"{ARCHIVE}/{rel}", path, created))
                    archived.add(str(path.resolve()))
                members.append(_add(tar, f"{REFERENCE}/{instance.reference_file.name}",
                                    instance.reference_file, created))
                manifest = {
                    "format": FORMAT, "format_version": FORMAT_VERSION,
                    "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
                    "app_version": app_version(), "schema_revision": revision, "database_kind": kind,
                    "database_member": db_member, "archive_dir": str(instance.archive_dir.resolve()),
                    "reference_file": str(instance.reference_file.resolve()), "members": members,
                }
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(created.timestamp()), 0o600
                tar.addfile(info, io.BytesIO(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, output)
        _fsync_dir(output.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    prefix = str(instance.archive_dir.resolve()) + os.sep
    missing = sorted(p for p in named if p.startswith(prefix) and p not in archived)
    warnings = [f"{len(missing)} received file(s) named in the database are missing from the archive, "
                f"e.g. {missing[0]}"] if missing else []
    return Backup(output, output.stat().st_size, manifest, warnings)


class _Hashing:
    """A file object that hashes what tarfile reads from it, so each member is read once."""

    def __init__(self, fh: IO[bytes]):
        self.fh, self.sha = fh, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data


def _add(tar: tarfile.TarFile, name: str, path: Path, created: dt.datetime) -> dict[str, Any]:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(created.timestamp()), 0o600
        reader = _Hashing(fh)
        tar.addfile(info, reader)
    return {"name": name, "size": size, "sha256": reader.sha.hexdigest()}


def _archive_files(archive_dir: Path) -> list[Path]:
    if not archive_dir.is_dir():
        return []
    return sorted(p for p in archive_dir.rglob("*")
                  if p.is_file() and not p.is_symlink() and not p.name.startswith(INCOMING_PREFIX))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up: set MAIC_DATABASE_URL to a file")
    return Path(database)


def _sqlite_snapshot(url: str, target: Path) -> None:
    source = _sqlite_path(url)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    # mode=rw: never create an empty database where the real one was expected.
    src = sqlite3.connect(f"file:{source}?mode=rw", uri=True, timeout=15)
    dst = sqlite3.connect(target)
    try:
        # pages=-1 copies the whole database in one step under one read transaction: a consistent snapshot
        # while the app goes on reading and writing (WAL mode).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite database {source} cannot be read: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _sqlite_revision(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    if not row:
        raise BackupError("the database has no schema revision: run `maic db upgrade` before backing it up")
    return str(row[0])


def _sqlite_archive_paths(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {row[0] for row in conn.execute('SELECT archive_path FROM "return"')}
    finally:
        conn.close()


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def _database_revision(url: str) -> str:
    with _engine(url) as engine, engine.connect() as conn:
        try:
            revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
        except sa.exc.DBAPIError as exc:
            raise BackupError("the database has no schema revision: run `maic db upgrade` before backing it up") \
                from exc
    return str(revision)


def _database_archive_paths(url: str) -> set[str]:
    from maic.models import Return

    with _engine(url) as engine, engine.connect() as conn:
        return set(conn.scalars(sa.select(Return.archive_path)))


def app_version() -> str:
    try:
        return importlib.metadata.version("maic-common-picture")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# --- PostgreSQL's own tools -------------------------------------------------------------------------


def pg_tool(name: str, bin_dir: str = "") -> str:
    found = shutil.which(name, path=bin_dir or None)
    if found is None:
        where = f"in MAIC_PG_BIN_DIR ({bin_dir})" if bin_dir else "on PATH"
        raise BackupError(f"{name} was not found {where}: install the PostgreSQL client tools (the server's major "
                          f"version or newer) or set MAIC_PG_BIN_DIR to the folder holding them")
    return found


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI without the password, and an environment carrying it (a command line is visible to `ps`)."""
    parsed = sa.engine.make_url(url)
    env = {**os.environ}
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run_pg(args: list[str], env: dict[str, str], what: str) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as exc:
        raise BackupError(f"{what} did not finish within {PG_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()][-3:]
        raise BackupError(f"{what} failed (exit {done.returncode}): {' / '.join(lines) or 'no message'}")


def _pg_dump(instance: Instance, target: Path) -> None:
    uri, env = _libpq(instance.database_url)
    # Custom format: compressed, and pg_restore can restore it into a database of any name and owner.
    _run_pg([pg_tool("pg_dump", instance.pg_bin_dir), "--format=custom", f"--file={target}", f"--dbname={uri}"],
            env, "pg_dump")


def _pg_restore(instance: Instance, dump: Path) -> None:
    uri, env = _libpq(instance.database_url)
    _run_pg([pg_tool("pg_restore", instance.pg_bin_dir), "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", f"--dbname={uri}", str(dump)], env, "pg_restore")


# --- reading and checking a backup ------------------------------------------------------------------


def _safe_member_name(name: str) -> bool:
    path = PurePosixPath(name)
    return (not path.is_absolute() and ".." not in path.parts and "\\" not in name and len(path.parts) >= 2
            and path.parts[0] in {"database", ARCHIVE, REFERENCE})


def _open(path: Path) -> tarfile.TarFile:
    if not Path(path).is_file():
        raise BackupError(f"there is no backup file {path}")
    try:
        # "r:" (no compression): a backup is a plain tar, so a damaged byte shows up in one member's sum.
        return tarfile.open(path, mode="r:")
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{path} is not a MAIC backup (not a readable tar file: {exc})") from exc


def _sha256(fh: IO[bytes]) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    while chunk := fh.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def verify_backup(path: Path) -> dict[str, Any]:
    """Check every member against the manifest (names, sizes, sha256); return the manifest or raise naming the
    first member that does not match. Nothing is written."""
    with _open(path) as tar:
        return _verified(tar, path)


def _verified(tar: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        members = tar.getmembers()
    except tarfile.TarError as exc:
        raise BackupError(f"{path} is damaged: its tar structure cannot be read ({exc})") from exc
    by_name: dict[str, tarfile.TarInfo] = {}
    for member in members:
        if member.name in by_name:
            raise BackupError(f"{path} holds the member '{member.name}' twice")
        by_name[member.name] = member
    if MANIFEST not in by_name:
        raise BackupError(f"{path} is not a MAIC backup: it has no {MANIFEST}")
    try:
        manifest = json.loads(_read(tar, by_name[MANIFEST]))
        listed = {m["name"]: m for m in manifest["members"]}
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{path}: the member '{MANIFEST}' is damaged ({exc.__class__.__name__})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a MAIC backup (its manifest has format {manifest.get('format')!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path} is a MAIC backup of format version {manifest.get('format_version')}; this "
                          f"version of the app reads version {FORMAT_VERSION}")
    extra = sorted(set(by_name) - set(listed) - {MANIFEST})
    if extra:
        raise BackupError(f"{path}: the member '{extra[0]}' is not in the manifest")
    for name, entry in listed.items():
        if not _safe_member_name(name):
            raise BackupError(f"{path}: the member name '{name}' is not allowed in a backup")
        member = by_name.get(name)
        if member is None:
            raise BackupError(f"{path}: the member '{name}' is missing")
        if not member.isfile():
            raise BackupError(f"{path}: the member '{name}' is not a regular file")
        fh = tar.extractfile(member)
        assert fh is not None  # a regular file always has contents
        try:
            digest, size = _sha256(fh)
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path}: the member '{name}' cannot be read ({exc})") from exc
        if size != entry.get("size") or digest != entry.get("sha256"):
            raise BackupError(f"{path}: the member '{name}' is damaged: its sha256 is {digest}, the manifest "
                              f"says {entry.get('sha256')}; nothing was restored")
    if manifest.get("database_member") not in listed:
        raise BackupError(f"{path}: the manifest names no database member")
    return manifest


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    if fh is None:
        raise ValueError("not a file")
    return fh.read()


# --- restoring ----------------------------------------------------------------------------------------


def restore_backup(instance: Instance, path: Path, *, actor: str | None = None) -> Restored:
    """Restore into an empty database and an empty archive folder, after checking every sha256; then migrate
    to this app's newest schema and record the restore in the audit log."""
    from maic.migrate import upgrade

    path = Path(path)
    with _open(path) as tar:
        manifest = _verified(tar, path)
        _check_target(instance, manifest)
        reference = instance.data_dir / REFERENCE / PurePosixPath(_reference_member(manifest)).name
        instance.data_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=instance.data_dir))
        try:
            archive_files = _extract(tar, manifest, staging)
            db_file = staging / "database" / PurePosixPath(manifest["database_member"]).name
            if manifest["database_kind"] == "sqlite":
                _sqlite_restore(db_file, _sqlite_path(instance.database_url))
            else:
                _pg_restore(instance, db_file)
            # The archive folder is empty (checked): the restored one takes its place in one rename.
            if instance.archive_dir.exists():
                shutil.rmtree(instance.archive_dir)
            os.replace(staging / ARCHIVE, instance.archive_dir)
            reference.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / REFERENCE / reference.name, reference)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    upgrade(instance.database_url)
    moved = _record_restore(instance, manifest, path, actor or f"cli:{getpass.getuser()}")
    return Restored(manifest, archive_files, reference, moved)


def _reference_member(manifest: dict[str, Any]) -> str:
    names = [m["name"] for m in manifest["members"] if m["name"].startswith(REFERENCE + "/")]
    if len(names) != 1:
        raise BackupError(f"the backup holds {len(names)} reference files; it should hold one")
    return names[0]


def _check_target(instance: Instance, manifest: dict[str, Any]) -> None:
    """Refuse, before anything is written, unless the target is empty and can run what the backup holds."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    from maic.migrate import alembic_config

    kind = instance.kind
    if manifest.get("database_kind") != kind:
        raise BackupError(f"this backup holds a {manifest.get('database_kind')} database and MAIC_DATABASE_URL "
                          f"points at {kind}: restore it into a {manifest.get('database_kind')} database")
    revision = str(manifest.get("schema_revision") or "")
    try:
        known = ScriptDirectory.from_config(alembic_config(instance.database_url)).get_revision(revision) \
            if revision else None
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"this backup's schema revision '{revision}' is unknown to this version of the app "
                          f"({app_version()}); restore it with the version that made it "
                          f"({manifest.get('app_version')}) or a newer one")
    tables = _tables(instance)
    if tables:
        raise BackupError(f"the database at MAIC_DATABASE_URL is not empty (it has {len(tables)} tables, e.g. "
                          f"{sorted(tables)[0]}): restore into a new, empty database; nothing was restored")
    files = _archive_files(instance.archive_dir)
    if files:
        raise BackupError(f"the archive folder {instance.archive_dir} is not empty ({len(files)} files): restore "
                          f"into an empty MAIC_DATA_DIR; nothing was restored")
    reference = instance.data_dir / REFERENCE / PurePosixPath(_reference_member(manifest)).name
    if reference.exists():
        raise BackupError(f"{reference} exists already: restore into an empty MAIC_DATA_DIR; nothing was restored")


def _tables(instance: Instance) -> list[str]:
    if instance.kind == "sqlite":
        path = _sqlite_path(instance.database_url)
        if not path.exists() or path.stat().st_size == 0:
            return []
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                                               "AND name NOT LIKE 'sqlite_%'")]
        except sqlite3.Error as exc:
            raise BackupError(f"{path} is not an empty SQLite database ({exc}): restore into a new file") from exc
        finally:
            conn.close()
    try:
        with _engine(instance.database_url) as engine, engine.connect() as conn:
            return list(conn.scalars(sa.text(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")))
    except sa.exc.OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise BackupError(f"cannot connect to the database at MAIC_DATABASE_URL ({first}); create an empty "
                          f"database first (e.g. createdb), then restore into it") from exc


def _extract(tar: tarfile.TarFile, manifest: dict[str, Any], staging: Path) -> int:
    """Write every member under staging, hashing again as it is written (the disk may fail too)."""
    (staging / ARCHIVE).mkdir()
    members = {m.name: m for m in tar.getmembers()}  # tar.getmember() searches the list each time
    count = 0
    for entry in manifest["members"]:
        name = entry["name"]
        target = staging.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(members[name])
        assert source is not None  # checked in _verified
        sha = hashlib.sha256()
        with open(target, "wb") as out:
            while chunk := source.read(CHUNK):
                sha.update(chunk)
                out.write(chunk)
        if sha.hexdigest() != entry["sha256"]:
            raise BackupError(f"the member '{name}' changed while it was restored; nothing was restored")
        count += name.startswith(ARCHIVE + "/")
    # One sync for every file written: an fsync each took 2 s for the demo's 330 files, and minutes for an
    # incident's thousands.
    os.sync()
    return count


def _sqlite_restore(snapshot: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()


def _record_restore(instance: Instance, manifest: dict[str, Any], path: Path, actor: str) -> int:
    """Point the returns at their files in this data folder, and say in the audit log where the data came from."""
    from maic import audit
    from maic.db import make_engine, make_session_factory, transaction
    from maic.models import Return

    old = str(manifest.get("archive_dir") or "")
    new = str(instance.archive_dir.resolve())
    engine = make_engine(instance.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            moved = 0
            if old and old != new:
                moved = session.execute(
                    sa.update(Return).where(sa.func.substr(Return.archive_path, 1, len(old) + 1) == old + "/")
                    .values(archive_path=sa.literal(new) + sa.func.substr(Return.archive_path, len(old) + 1))
                    .execution_options(synchronize_session=False)).rowcount
            audit.record(session, actor, "backup.restore", path.name[:255],
                         f"created_at={manifest['created_at']} schema={manifest['schema_revision']} "
                         f"app={manifest['app_version']} archive_paths_moved={moved}")
    finally:
        engine.dispose()
    return moved


# --- scheduled backups --------------------------------------------------------------------------------


def scheduled_name(moment: dt.datetime) -> str:
    return f"maic-backup-{moment.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.tar"


def scheduled_backups(backup_dir: Path) -> list[Path]:
    """The scheduler's backups in a folder, oldest first (their names carry the UTC time they were taken)."""
    if not backup_dir.is_dir():
        return []
    return sorted(p for p in backup_dir.iterdir() if p.is_file() and SCHEDULED_NAME.match(p.name))


def prune(backup_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` scheduled backups (at least one is always kept); other files stay."""
    found = scheduled_backups(backup_dir)
    doomed = found[:-max(1, keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def scheduled_backup(instance: Instance, backup_dir: Path, *, keep: int, interval_hours: float,
                     now: dt.datetime | None = None) -> str:
    """The scheduler's job: a backup when the newest one is older than the interval, then retention."""
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    existing = scheduled_backups(backup_dir)
    if existing:
        newest = dt.datetime.strptime(existing[-1].name[len("maic-backup-"):-len(".tar")],
                                      "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        # A restarted scheduler runs each job at once; a backup taken moments ago is not taken again.
        if moment - newest < dt.timedelta(hours=interval_hours) * 0.9:
            return (f"not due: {existing[-1].name} is {(moment - newest).total_seconds() / 3600:.1f} h old "
                    f"(one every {interval_hours:g} h)")
    made = create_backup(instance, backup_dir / scheduled_name(moment), now=moment)
    removed = prune(backup_dir, keep)
    message = f"wrote {made.path.name} ({made.size_bytes:,} bytes, {made.archive_files} archived files)"
    if removed:
        message += f"; removed {len(removed)} older: {', '.join(p.name for p in removed)}"
    return "; ".join([message, *made.warnings])
