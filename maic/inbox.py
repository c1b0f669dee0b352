"""The drop folder: MAIC_DATA_DIR/inbox/<agency-slug>/ scanned on a schedule; no file is ever deleted.

Each settled file goes through the one pipeline (ingest_return). Accepted (or already received) files move
to archive/<agency>/received/; refused ones to quarantine/<agency>/ with a `<name>.errors.txt` report a
person can read. A file still being written (its size or time changed between two looks, or a temporary
name: .tmp, .part, .partial, .crdownload, ~$ or dot prefix) is left for the next scan, and so is every
file when the database cannot be reached. Names are never trusted: destinations are built from a
sanitised name with a time stamp, and nothing is ever overwritten. Only regular files that belong to the
inbox are read: never a link (symbolic, or a hard link: a name for a file that lives elsewhere too), opened
without following links and checked again once open. Reports say where each problem is and what kind it is,
and never repeat what the file holds (it is the file's, not ours to copy about).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.exc import DBAPIError, OperationalError

from maic.errors import Issue, MaicError, NotFound, ValidationFailed
from maic.models import Metric, ReturnSource
from maic.plaintext import one_line
from maic.returns.ingest import IngestSettings, Submission, ingest_return

log = logging.getLogger(__name__)

TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".lock", ".filepart", ".download")
ACCEPTED, DUPLICATE, REFUSED, WAITING, DB_DOWN = "accepted", "duplicate", "refused", "waiting", "database unavailable"


@dataclass(frozen=True)
class ScanItem:
    agency: str
    name: str
    outcome: str
    message: str
    moved_to: str = ""
    return_id: int | None = None


def safe_name(name: str) -> str:
    """A name that is safe anywhere: no separators, no leading dots, only plain characters, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip(".")
    return cleaned[:120] or "file"


def is_temporary(name: str) -> bool:
    lower = name.lower()
    # rsync and editors write ".name.XXXX" while copying; a name starting ".." is not that but an odd name
    # (perhaps a path-traversal attempt) and goes to quarantine instead of waiting forever.
    dotfile = name.startswith(".") and not name.startswith("..")
    return dotfile or name.startswith("~") or lower.endswith(TEMPORARY_SUFFIXES)


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def move_aside(source: Path, folder: Path, name: str) -> Path:
    """Move (rename) a file into folder under a fresh, safe name; never overwrites, never copies then deletes."""
    folder.mkdir(parents=True, exist_ok=True)
    base = f"{_stamp()}-{safe_name(name)}"
    target = folder / base
    counter = 1
    while target.exists() or target.is_symlink():
        target = folder / f"{base}.{counter}"
        counter += 1
    os.rename(source, target)
    return target


def _receipt(factory, agency: str, name: str, quarantined_as: str, lines: list[str]) -> None:
    """A receipt for a file refused before it reached the pipeline (too big, a link...), when its folder names
    an agency; the quarantine itself is reported to the MAIC by the notification check."""
    from maic import notify

    try:
        with factory() as session, session.begin():
            notify.return_refused(session, agency_slug=agency, filename=name, sha256=quarantined_as,
                                  source=ReturnSource.DROP_FOLDER, issues=[Issue(None, None, lines[0])])
    except (OperationalError, DBAPIError):
        log.exception("inbox: no receipt for %s/%s (database unavailable)", one_line(agency), one_line(name))


def write_report(target: Path, original_name: str, agency: str, lines: list[str]) -> Path:
    report = target.with_name(target.name + ".errors.txt")
    text = [f"File: {original_name!r}", f"Agency folder: {agency!r}",
            f"Refused at: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC", "",
            "This file was refused whole; nothing from it was written. Fix the problems below and drop the",
            "corrected file into the inbox again.", "", *lines, ""]
    report.write_text("\n".join(text), encoding="utf-8")
    return report


def withheld(issue: Issue, known_columns: frozenset[str]) -> str:
    """An issue for a report, without the file's content: a column named only when it is one we know, and
    anything quoted from the file replaced by '...'."""
    where = [f"row {issue.row}"] if issue.row is not None else []
    if issue.column:
        parts = [part.strip() for part in issue.column.split(",")]
        # A spreadsheet column letter (C, AB) or a column's number says where, not what.
        named = all(part in known_columns or re.fullmatch(r"[A-Z]{1,3}|\d{1,6}", part) for part in parts)
        where.append(f"column {issue.column}" if named else "a column of the file")
    message = withhold_quoted(issue.message)
    return f"{', '.join(where)}: {message}" if where else message


# A quoted value, from an opening quote (not an apostrophe inside a word) to the last closing quote on the line
# (one followed by a space, punctuation or the end): a value may itself hold quotes.
_QUOTED = re.compile(r"(?<!\w)'.*'(?=[\s:;,.)\]]|$)|(?<!\w)\".*\"(?=[\s:;,.)\]]|$)")


def withhold_quoted(text: str) -> str:
    return _QUOTED.sub("'...'", text)
RETURN_COLUMNS = frozenset({"week", "area_code", "area_name", "metric", "value"})


def _known_columns(factory: orm.sessionmaker[orm.Session]) -> frozenset[str]:
    try:
        with factory() as session:
            return RETURN_COLUMNS | frozenset(session.scalars(sa.select(Metric.key)))
    except (OperationalError, DBAPIError):
        return RETURN_COLUMNS


class NotOurs(Exception):
    """The name no longer leads to the regular, single-named file that was looked at."""


def read_own_file(path: Path, looked_at: os.stat_result, limit: int) -> bytes:
    """At most `limit` bytes of the file, opened without following a link (in its folder, and its folder
    without following one either), and only when it is still the one regular file with one name looked at."""
    nofollow = os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0)  # non-blocking: a pipe put in its place cannot hang us
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | nofollow)
    try:
        fd = os.open(path.name, os.O_RDONLY | nofollow, dir_fd=folder)
    except OSError as exc:  # ELOOP: it became a link
        raise NotOurs(str(exc.strerror)) from None
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if (not stat.S_ISREG(info.st_mode) or info.st_nlink != 1
                or (info.st_dev, info.st_ino) != (looked_at.st_dev, looked_at.st_ino)):
            raise NotOurs("changed while it was read")
        return fh.read(limit)


def _candidates(inbox: Path) -> list[tuple[str, Path, os.stat_result]]:
    out = []
    for agency_dir in sorted(inbox.iterdir()) if inbox.is_dir() else []:
        if not agency_dir.is_dir() or agency_dir.is_symlink():
            if agency_dir.is_file() or agency_dir.is_symlink():
                out.append(("", agency_dir, agency_dir.lstat()))
            continue
        for entry in sorted(agency_dir.iterdir()):
            try:
                info = entry.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(info.st_mode):
                continue  # sub-folders are not read (and not touched)
            out.append((agency_dir.name, entry, info))
    return out


def scan_inbox(factory: orm.sessionmaker[orm.Session], settings: IngestSettings, data_dir: Path, *,
               settle_seconds: float = 2.0) -> list[ScanItem]:
    """One pass over the inbox. Returns what happened to each file it looked at."""
    inbox, archive, quarantine = data_dir / "inbox", data_dir / "archive", data_dir / "quarantine"
    first = _candidates(inbox)
    waiting = [(agency, path, info) for agency, path, info in first if not is_temporary(path.name)]
    results = [ScanItem(agency, path.name, WAITING, "temporary name: left for a later scan")
               for agency, path, _ in first if is_temporary(path.name)]
    if waiting and settle_seconds > 0:
        time.sleep(settle_seconds)
    for agency, path, info in waiting:
        results.append(_one(factory, settings, archive, quarantine, agency, path, info))
    for item in results:
        if item.outcome != WAITING:
            # A name is one line in the log whatever the file is called (a new line would forge a log line).
            log.info("inbox %s/%s: %s %s", one_line(item.agency), one_line(item.name), item.outcome,
                     one_line(item.message))
    return results


def _one(factory, settings: IngestSettings, archive: Path, quarantine: Path, agency: str, path: Path,
         first_look: os.stat_result) -> ScanItem:
    name = path.name
    try:
        now = path.lstat()
    except FileNotFoundError:
        return ScanItem(agency, name, WAITING, "gone before it was read")
    if (now.st_size, now.st_mtime_ns) != (first_look.st_size, first_look.st_mtime_ns):
        return ScanItem(agency, name, WAITING, "still being written: left for the next scan")
    folder = safe_name(agency) if agency else "_no_agency"

    def refuse(lines: list[str], receipted: bool = False) -> ScanItem:
        target = move_aside(path, quarantine / folder, name)
        write_report(target, name, agency, lines)
        if agency and not receipted:
            _receipt(factory, agency, name, target.name, lines)
        return ScanItem(agency, name, REFUSED, lines[0], str(target))

    if not agency:
        return refuse(["Files must be dropped into a folder named after the agency: inbox/<agency>/<file>."])
    if not stat.S_ISREG(now.st_mode):
        return refuse(["Only ordinary files are read (this is a link or a device); drop the file itself."])
    if now.st_nlink != 1:
        return refuse(["Only files dropped into the inbox are read: this one is a hard link, another name for "
                       "a file kept elsewhere too. Copy the file into the inbox instead."])
    if safe_name(name) != name:
        log.warning("inbox file with an unusual name %r in %r", name, agency)
    if now.st_size > settings.max_bytes:
        return refuse([f"The file is {now.st_size:,} bytes; the limit is {settings.max_bytes:,}."])
    try:
        data = read_own_file(path, now, settings.max_bytes + 1)
    except NotOurs:
        return refuse(["The file was replaced while it was read (by a link or another file); it was not read."])
    except FileNotFoundError:
        return ScanItem(agency, name, WAITING, "gone before it was read")
    submission = Submission(data=data, filename=name, agency_slug=agency, source=ReturnSource.DROP_FOLDER,
                            actor=f"inbox:{agency}")
    try:
        receipt = ingest_return(factory, submission, settings)
    except ValidationFailed as exc:
        known = _known_columns(factory)
        return refuse([exc.message, "(What the file holds is not repeated here: open it, or preview it on the "
                       "upload page, to see the values.)", *(f"- {withheld(issue, known)}" for issue in exc.issues)],
                      receipted=True)  # the pipeline wrote its receipt
    except NotFound as exc:
        return refuse([f"The folder '{agency}' is not a known agency ({exc.message}). Use the agency's slug."])
    except (OperationalError, DBAPIError) as exc:
        # The database is down or busy: the file stays exactly where it is, and the next scan tries again.
        return ScanItem(agency, name, DB_DOWN, f"left in the inbox: {exc.__class__.__name__}")
    except MaicError as exc:
        return refuse([exc.message])
    target = move_aside(path, archive / folder / "received", name)
    outcome = DUPLICATE if receipt.duplicate else ACCEPTED
    message = (f"already received as return {receipt.return_id}" if receipt.duplicate
               else f"return {receipt.return_id}: {receipt.rows} rows")
    return ScanItem(agency, name, outcome, message, str(target), receipt.return_id)
