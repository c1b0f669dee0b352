"""Which data change a picture can show: kept answers are keyed by the newest change that could reach them.

Every data-version bump writes a DataChange row (maic.models.bump_data_version): the earliest week it wrote or
superseded and when its rows were recorded, NULL for "any". The figures for week W as at T read only rows of
weeks up to W recorded (or superseded) by T (the bitemporal condition), so a change c can alter them only if
(c.first_week is None or c.first_week <= W) and (T is None or c.written_at is None or c.written_at <= T).
Comparing written_at (the writer's own `now`), not commit order, keeps this true for a change still being
written: its rows carry that time whenever it commits, and it is counted as soon as it has.

Each process holds the list of changes for the data stamp it last read: read once per stamp, newer versions
only (a stamp that does not follow the one held, as after a restore, reads it all again); the affecting change
is then found in memory.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import orm

from maic.models import DataChange

Stamp = tuple[int, "dt.datetime | None"]


@dataclass(frozen=True)
class Change:
    version: int
    changed_at: dt.datetime
    first_week: dt.date | None
    written_at: dt.datetime | None

    @property
    def stamp(self) -> Stamp:
        return self.version, self.changed_at

    def reaches(self, week: dt.date | None, as_at: dt.datetime | None) -> bool:
        """Could this change alter a figure of `week` (None: any week) as at `as_at` (None: live)?"""
        return ((self.first_week is None or week is None or self.first_week <= week)
                and (as_at is None or self.written_at is None or self.written_at <= as_at))


def _read(session: orm.Session, after: int) -> list[Change]:
    rows = session.execute(sa.select(DataChange.version, DataChange.changed_at, DataChange.first_week,
                                     DataChange.written_at).where(DataChange.version > after)
                           .order_by(DataChange.version)).all()
    return [Change(*row) for row in rows]


class DataChanges:
    """One database's changes as last read, in version order (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changes: list[Change] = []
        self._index: dict[int, int] = {}  # version -> position in _changes
        self._found: dict[tuple, Stamp] = {}
        self.reads = 0  # database reads of the list (tests: once per new stamp, not per request)

    def affecting(self, session: orm.Session, stamp: Stamp, week: dt.date | None,
                  as_at: dt.datetime | None) -> Stamp:
        """The (version, changed_at) of the newest change that could alter `week` as at `as_at`, given the
        current data `stamp` (read by the caller, once per request). Where the changes are not all known (no
        row for the current stamp: data written without a bump's row, e.g. a raw loader; or a gap in the
        versions), the unknown one counts as changing everything: the answer is keyed no older than it."""
        with self._lock:
            at = self._position(session, stamp)
            key = (stamp, week, as_at)
            found = self._found.get(key)
            if found is None:
                if len(self._found) > 50_000:  # as-ats are as many as the readers ask for: bound them
                    self._found.clear()
                found = self._found[key] = self._search(at, week, as_at)
            return found

    def affecting_weeks(self, session: orm.Session, stamp: Stamp, weeks: list[dt.date]) -> dict[dt.date, Stamp]:
        """affecting(session, stamp, week, None) for each of `weeks`, in one walk back through the changes: a
        trend asks for every week since the incident began, and the oldest weeks' changes can be thousands of
        returns back (walking back once per week cost more than the trend's query)."""
        with self._lock:
            at = self._position(session, stamp)
            out: dict[dt.date, Stamp] = {}
            pending = sorted(set(weeks))  # a live change reaches its first week and every later one
            changes = self._changes
            for i in range(at, -1, -1):
                if not pending:
                    break
                change = changes[i]
                while pending and (change.first_week is None or change.first_week <= pending[-1]):
                    out[pending.pop()] = change.stamp
                if i == 0 or changes[i - 1].version != change.version - 1:
                    while pending:  # what came before is not known (a gap, or the first row held)
                        out[pending.pop()] = change.stamp
            return out

    def _position(self, session: orm.Session, stamp: Stamp) -> int:
        """Where `stamp`'s change is in the list, reading what is missing first (under the lock). A request that
        read the stamp before a newer one was followed is answered from the same list, up to its own stamp: no
        read, and nothing the newer requests hold is thrown away."""
        at = self._at(stamp)
        if at is None:
            self._follow(session, stamp)
            at = self._at(stamp)
            assert at is not None
        return at

    def _at(self, stamp: Stamp) -> int | None:
        at = self._index.get(stamp[0])
        return at if at is not None and self._changes[at].stamp == stamp else None

    def _follow(self, session: orm.Session, stamp: Stamp) -> None:
        held = self._changes
        changes = held + self._read(session, held[-1].version) if held and stamp[0] > held[-1].version else held
        if stamp not in {c.stamp for c in changes}:
            changes = self._read(session, -1)  # a stamp that does not follow the ones held: read them all again
            if stamp not in {c.stamp for c in changes}:
                # The version has no row saying what it changed: it changed everything. Newer rows are read
                # again when a newer stamp asks for them.
                changes = [c for c in changes if c.version < stamp[0]]
                changes.append(Change(stamp[0], stamp[1], None, None))  # type: ignore[arg-type]
        self._changes = changes
        self._index = {c.version: i for i, c in enumerate(changes)}
        self._found = {}

    def _read(self, session: orm.Session, after: int) -> list[Change]:
        self.reads += 1
        return _read(session, after)

    def _search(self, at: int, week: dt.date | None, as_at: dt.datetime | None) -> Stamp:
        changes = self._changes
        for i in range(at, -1, -1):
            change = changes[i]
            if change.reaches(week, as_at):
                return change.stamp
            if i == 0 or changes[i - 1].version != change.version - 1:
                return change.stamp  # what came before is not known (a gap, or the first row held)
        raise AssertionError("unreachable: the first change held is always returned")


_BY_DATABASE: dict[str, DataChanges] = {}
_GUARD = threading.Lock()


def data_changes(session: orm.Session) -> DataChanges:
    """This process's changes for the session's database (by URL: tests run several databases at once)."""
    url = str(session.get_bind().url)
    with _GUARD:
        return _BY_DATABASE.setdefault(url, DataChanges())


def affecting_stamp(session: orm.Session, stamp: Stamp, week: dt.date | None, as_at: dt.datetime | None) -> Stamp:
    return data_changes(session).affecting(session, stamp, week, as_at)


def affecting_stamps(session: orm.Session, stamp: Stamp, weeks: list[dt.date]) -> dict[dt.date, Stamp]:
    """affecting_stamp(session, stamp, week, None) for every week of `weeks` (live)."""
    return data_changes(session).affecting_weeks(session, stamp, weeks)
