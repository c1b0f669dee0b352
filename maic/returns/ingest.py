"""Commit a checked return in one transaction: archive the bytes, supersede what it covers, add observations.

Every door (upload, drop folder, feed, CLI) ends here. A refused file writes nothing; the same bytes twice
are the same return; a crash at any point leaves either the whole return or none of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from maic import audit, metrics, notify
from maic.errors import Issue, MaicError, NotFound, ValidationFailed
from maic.models import (
    Agency,
    Area,
    DataVersion,
    Metric,
    Observation,
    Return,
    ReturnSource,
    ReturnStatus,
    bump_data_version,
    utcnow,
)
from maic.plaintext import one_line
from maic.reference import first_week
from maic.returns import personal_data
from maic.returns.parse import ParsedFile, parse_long_csv
from maic.returns.validate import (
    AgencyScope,
    CheckedReturn,
    Rules,
    change_warnings,
    column_issues,
    shown,
    validate_rows,
)
from maic.returns.xlsx import parse_xlsx

CHUNK = 900  # below SQLite's bound-parameter limit for IN lists


@dataclass(frozen=True)
class IngestSettings:
    archive_dir: Path
    max_bytes: int
    max_rows: int
    incident_start: dt.date
    today: dt.date | None = None
    change_factor: float = 3.0
    # An XLSX is a zip: what it may expand to, checked before anything is decompressed.
    max_unzipped: int = 16 * 1024 * 1024
    # Every cell read counts (formulas and blanks inside the sheet too): reading stops past this.
    max_cells: int = 1_000_000

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides) -> IngestSettings:
        values = {
            "archive_dir": Path(config["MAIC_DATA_DIR"]) / "archive",
            "max_bytes": int(config["MAIC_MAX_UPLOAD_BYTES"]),
            "max_rows": int(config["MAIC_MAX_ROWS"]),
            "incident_start": dt.date.fromisoformat(str(config["MAIC_INCIDENT_START"])),
            "change_factor": float(config.get("MAIC_CHANGE_WARNING_FACTOR", 3.0)),
            "max_unzipped": int(config.get("MAIC_MAX_UNZIPPED_BYTES", 16 * 1024 * 1024)),
            "max_cells": int(config.get("MAIC_MAX_CELLS", 1_000_000)),
        }
        values.update(overrides)
        return cls(**values)

    def rules(self) -> Rules:
        return Rules(today=self.today or dt.date.today(), incident_start=self.incident_start,
                     change_factor=self.change_factor)


@dataclass(frozen=True)
class Submission:
    data: bytes
    filename: str
    agency_slug: str
    source: str = ReturnSource.CLI
    user_id: int | None = None
    actor: str = "system"
    remote_addr: str = ""
    # When the return was received. Only the demo seed and imports of old returns set it; it must not be
    # earlier than what the return supersedes, or the history would run backwards.
    received_at: dt.datetime | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Receipt:
    return_id: int
    sha256: str
    rows: int
    weeks: list[dt.date]
    duplicate: bool = False
    superseded: int = 0
    warnings: list[Issue] = field(default_factory=list)


REFUSED_SUFFIXES = {
    ".xlsm": "macro-enabled workbooks (.xlsm) are not accepted; macros are never run here. Save it as a plain "
             ".xlsx workbook and send that",
    ".xltm": "macro-enabled templates (.xltm) are not accepted; save it as a plain .xlsx workbook",
    ".xls": "old-style .xls workbooks (Excel 97-2003) are not accepted; save it as .xlsx and send that",
    ".xlsb": "binary workbooks (.xlsb) are not accepted; save it as .xlsx and send that",
    ".ods": "OpenDocument spreadsheets are not accepted; save it as .xlsx or .csv and send that",
}


def parse_submission(submission: Submission, settings: IngestSettings) -> ParsedFile:
    if len(submission.data) > settings.max_bytes:
        return ParsedFile(issues=[Issue(None, None, f"the file is {len(submission.data):,} bytes; the limit is "
                                        f"{settings.max_bytes:,}")])
    suffix = Path(submission.filename.replace("\\", "/")).suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        return ParsedFile(issues=[Issue(None, None, REFUSED_SUFFIXES[suffix])])
    if suffix == ".xlsx":
        return parse_xlsx(submission.data, max_rows=settings.max_rows, max_unzipped=settings.max_unzipped,
                          max_cells=settings.max_cells)
    if suffix in (".csv", ".txt", ""):
        if submission.data.startswith(b"PK\x03\x04"):
            return ParsedFile(issues=[Issue(None, None, "this is a zip file (perhaps a workbook) named "
                                            f"'{suffix or 'no extension'}'; send a .csv, or a workbook named .xlsx")])
        return parse_long_csv(submission.data, max_rows=settings.max_rows, max_cells=settings.max_cells)
    return ParsedFile(issues=[Issue(None, None, f"'{shown(suffix)}' files are not accepted: send a .csv or .xlsx "
                                    "return")])


def check_submission(session: orm.Session, submission: Submission, settings: IngestSettings) -> CheckedReturn:
    """Parse and validate without writing anything: what a preview shows and what commit re-checks.

    Order: the file's shape (its header first); personal data (which refuses the file on its own, listing only
    that); the agency a template names; the template's metric columns; the rules for each row; then warnings
    against last week.
    """
    agency = _agency(session, submission.agency_slug)
    parsed = parse_submission(submission, settings)
    if parsed.issues:
        return CheckedReturn(issues=parsed.issues)
    rules = replace(settings.rules(), incident_start=first_week(session, settings.incident_start))
    scope = AgencyScope.load(session, agency)
    personal = personal_data_issues(session, parsed, scope, rules.today)
    if personal:
        return CheckedReturn(issues=personal)
    if parsed.declared_agency and parsed.declared_agency != agency.slug:
        return CheckedReturn(issues=[Issue(None, None, f"this template is for the agency "
                                           f"'{shown(parsed.declared_agency)}', but it is being sent for "
                                           f"'{agency.slug}': download the template for {agency.slug}")])
    columns = column_issues(parsed.metric_columns, scope)
    if columns:
        return CheckedReturn(issues=columns)
    checked = validate_rows(parsed.rows, scope, rules)
    if not checked.errors:
        checked.issues.extend(change_warnings(session, checked, rules.change_factor))
    return checked


def personal_data_issues(session: orm.Session, parsed: ParsedFile, scope: AgencyScope,
                         today: dt.date) -> list[Issue]:
    """Headers and every distinct unrecognised text in the file, checked for what looks like personal data."""
    issues = personal_data.header_issues(parsed.headers)
    allowed = frozenset(
        name.lower() for name in [*session.scalars(sa.select(Area.name)), *session.scalars(sa.select(Metric.label)),
                                  *session.scalars(sa.select(Agency.name))])
    known = set(scope.all_areas) | set(scope.all_metrics)
    seen: set[str] = set()
    cells: list[tuple[int, str, str]] = []
    for row in parsed.rows:
        for index, (name, text) in enumerate((("week", row.week), ("area_code", row.area_code),
                                              ("metric", row.metric), ("value", row.value))):
            if text in seen or text in known or text.isdigit():
                continue
            seen.add(text)
            cells.append((row.line, row.column(index, name), text))
    cells.extend(parsed.other_cells)
    issues.extend(personal_data.cell_issues(cells, today, allowed))
    return issues


def ingest_return(factory: orm.sessionmaker[orm.Session], submission: Submission,
                  settings: IngestSettings) -> Receipt:
    """Check and commit a return. Raises ValidationFailed (nothing written) when any row is wrong."""
    source = str(submission.source)
    try:
        receipt = _ingest(factory, submission, settings)
    except MaicError:
        metrics.INGESTS.labels(source, "refused").inc()
        raise
    except Exception:
        metrics.INGESTS.labels(source, "failed").inc()
        raise
    metrics.INGESTS.labels(source, "duplicate" if receipt.duplicate else "accepted").inc()
    return receipt


def _ingest(factory: orm.sessionmaker[orm.Session], submission: Submission, settings: IngestSettings) -> Receipt:
    sha = submission.sha256
    with factory() as session:
        existing = _existing(session, submission.agency_slug, sha)
        if existing is not None:
            return existing
        checked = check_submission(session, submission, settings)
    if checked.errors:
        refusal = ValidationFailed(checked.issues, filename=one_line(submission.filename))
        _receipt_for_refusal(factory, submission, refusal)
        raise refusal
    archive_path = archive_bytes(settings.archive_dir, submission)
    try:
        with factory() as session, session.begin():
            return _commit(session, submission, checked, sha, archive_path)
    except IntegrityError:
        # Two identical submissions raced: the other one won; both callers get the one return.
        with factory() as session:
            existing = _existing(session, submission.agency_slug, sha)
        if existing is None:
            raise
        return existing


def _receipt_for_refusal(factory: orm.sessionmaker[orm.Session], submission: Submission,
                         refusal: ValidationFailed) -> None:
    """Every door's refusal ends here too, so every refused file gets its receipt. Nothing else is written for a
    refused file, so the receipt is its own transaction; a database that fails now fails the door as before."""
    with factory() as session, session.begin():
        notify.return_refused(session, agency_slug=submission.agency_slug, filename=submission.filename,
                              sha256=submission.sha256, source=str(submission.source), issues=refusal.issues,
                              user_id=submission.user_id)


def archive_bytes(archive_dir: Path, submission: Submission) -> Path:
    """Keep the raw file, named by its hash (so a retry writes the same file), written atomically."""
    folder = archive_dir / _safe_name(submission.agency_slug)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{submission.sha256}{Path(_safe_name(submission.filename)).suffix.lower()}"
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(submission.data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return target


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name
    return re.sub(r"[^A-Za-z0-9._-]", "_", base)[:120] or "return"


def _agency(session: orm.Session, slug: str) -> Agency:
    agency = session.scalar(sa.select(Agency).where(Agency.slug == slug))
    if agency is None:
        raise NotFound(f"there is no agency '{slug}'")
    return agency


def _existing(session: orm.Session, slug: str, sha: str) -> Receipt | None:
    found = session.execute(
        sa.select(Return).join(Agency).where(Agency.slug == slug, Return.sha256 == sha)
    ).scalar_one_or_none()
    if found is None:
        return None
    weeks = [found.first_week] if found.first_week == found.week else [found.first_week, found.week]
    return Receipt(found.id, sha, found.row_count, weeks, duplicate=True)


def _commit(session: orm.Session, submission: Submission, checked: CheckedReturn, sha: str,
            archive_path: Path) -> Receipt:
    if session.get_bind().dialect.name == "sqlite":
        # Take SQLite's write lock first (a no-op write waits on the busy timeout); reading first and writing
        # later would fail at once with "database is locked" when another writer committed in between.
        session.execute(sa.update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version))
    existing = _existing(session, submission.agency_slug, sha)
    if existing is not None:
        return existing  # the same bytes were committed while this one was being checked
    agency = _agency(session, submission.agency_slug)
    now = submission.received_at or utcnow()
    weeks = checked.weeks
    ret = Return(
        agency_id=agency.id, first_week=weeks[0], week=weeks[-1], source=str(submission.source),
        submitted_by_id=submission.user_id, received_at=now, filename=one_line(submission.filename)[:255], sha256=sha,
        archive_path=str(archive_path), size_bytes=len(submission.data), status=ReturnStatus.ACCEPTED,
        row_count=len(checked.rows), report="\n".join(str(i) for i in checked.issues),
    )
    session.add(ret)
    session.flush()

    superseded_returns = supersede(session, checked, ret.id, now)
    # Core insert on the session's connection (same transaction): the ORM bulk path adds nothing here but time.
    session.connection().execute(Observation.__table__.insert(), [
        {"metric_id": r.metric_id, "area_id": r.area_id, "week": r.week, "value": r.value,
         "return_id": ret.id, "recorded_at": now}
        for r in checked.rows
    ])
    superseded = _retire_emptied_returns(session, superseded_returns)
    # It wrote and superseded rows of its own weeks only, recorded at `now` (backdated or not).
    bump_data_version(session, now, first_week=weeks[0], written_at=now)
    # The receipt commits with the return, or neither does.
    notify.return_accepted(session, ret, warnings=[i for i in checked.issues if i.severity != "error"],
                           superseded=len(superseded_returns))
    audit.record(session, submission.actor, "return.commit", f"return:{ret.id}",
                 f"{agency.slug} {weeks[0].isoformat()}..{weeks[-1].isoformat()} {len(checked.rows)} rows "
                 f"{one_line(submission.filename)} sha256={sha}", submission.remote_addr)
    return Receipt(ret.id, sha, len(checked.rows), weeks, superseded=superseded,
                   warnings=[i for i in checked.issues if i.severity != "error"])


def supersede(session: orm.Session, checked: CheckedReturn, by_return_id: int, now: dt.datetime) -> set[int]:
    """Close the current observations that the new rows cover; return the ids of the returns they came from."""
    covered = {(r.metric_id, r.area_id, r.week) for r in checked.rows}
    metric_ids = sorted({r.metric_id for r in checked.rows})
    current = session.execute(
        sa.select(Observation.id, Observation.metric_id, Observation.area_id, Observation.week, Observation.return_id)
        .where(Observation.superseded_at.is_(None), Observation.week.in_(checked.weeks),
               Observation.metric_id.in_(metric_ids))
    ).all()
    hits = [row for row in current if (row.metric_id, row.area_id, row.week) in covered]
    if hits:
        newest = session.scalar(sa.select(sa.func.max(Observation.recorded_at))
                                .where(Observation.id.in_([h.id for h in hits[:CHUNK]])))
        if newest is not None and newest > now:
            raise MaicError(f"this return is dated {now:%Y-%m-%d %H:%M}, before the figures it would replace "
                            f"({newest:%Y-%m-%d %H:%M}); history cannot run backwards")
    ids = [row.id for row in hits]
    for start in range(0, len(ids), CHUNK):
        session.execute(
            sa.update(Observation).where(Observation.id.in_(ids[start:start + CHUNK]))
            .values(superseded_at=now, superseded_by_return_id=by_return_id)
            .execution_options(synchronize_session=False)
        )
    return {row.return_id for row in hits}


def _retire_emptied_returns(session: orm.Session, return_ids: set[int]) -> int:
    """A return none of whose values are current any more is marked superseded (its history stays)."""
    retired = 0
    for return_id in sorted(return_ids):
        still_current = session.scalar(
            sa.select(sa.func.count()).select_from(Observation)
            .where(Observation.return_id == return_id, Observation.superseded_at.is_(None)))
        if not still_current:
            session.execute(sa.update(Return).where(Return.id == return_id, Return.status == ReturnStatus.ACCEPTED)
                            .values(status=ReturnStatus.SUPERSEDED))
            retired += 1
    return retired

