"""Voiding a return: an analyst withdraws it with a reason; what it superseded becomes current again.

Nothing is edited in place. The voided return's current observations are closed (superseded_at = now),
and for each of them the observation it had superseded is copied as a new current row (same value and
source return, recorded now), so that the picture as at any earlier time is unchanged and the picture
from now on is what it was before the return arrived. A value the voided return had already lost to a
later return stays as the later return left it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit
from maic.errors import MaicError, NotFound
from maic.models import Observation, Return, ReturnStatus, utcnow
from maic.returns.ingest import bump_data_version


def void_return(session: orm.Session, return_id: int, *, reason: str, actor: str, user_id: int | None = None,
                remote_addr: str = "") -> int:
    """Void the return in the caller's transaction. Returns how many earlier values became current again."""
    reason = " ".join(reason.split())
    if len(reason) < 5:
        raise MaicError("give a reason for voiding the return (a few words at least)")
    ret = session.get(Return, return_id, with_for_update=True)
    if ret is None:
        raise NotFound(f"there is no return {return_id}")
    if ret.status == ReturnStatus.VOIDED:
        raise MaicError(f"return {return_id} was already voided on {ret.voided_at:%Y-%m-%d %H:%M}")
    now = utcnow()
    live = session.execute(
        sa.select(Observation.id, Observation.metric_id, Observation.area_id, Observation.week)
        .where(Observation.return_id == return_id, Observation.superseded_at.is_(None))).all()
    live_keys = {(o.metric_id, o.area_id, o.week) for o in live}
    # What this return replaced: the rows it closed, for the keys it still holds.
    replaced = [o for o in session.scalars(
        sa.select(Observation).where(Observation.superseded_by_return_id == return_id))
        if (o.metric_id, o.area_id, o.week) in live_keys]
    ids = [o.id for o in live]
    for start in range(0, len(ids), 900):
        session.execute(sa.update(Observation).where(Observation.id.in_(ids[start:start + 900]))
                        .values(superseded_at=now).execution_options(synchronize_session=False))
    if replaced:
        session.execute(sa.insert(Observation), [
            {"metric_id": o.metric_id, "area_id": o.area_id, "week": o.week, "value": o.value,
             "return_id": o.return_id, "recorded_at": now} for o in replaced])
        restored_from = sorted({o.return_id for o in replaced})
        session.execute(sa.update(Return).where(Return.id.in_(restored_from),
                                                Return.status == ReturnStatus.SUPERSEDED)
                        .values(status=ReturnStatus.ACCEPTED))
    ret.status = ReturnStatus.VOIDED
    ret.voided_at = now
    ret.voided_by_id = user_id
    ret.void_reason = reason
    # Its rows (and the ones restored) are all in the return's own weeks, closed and written at `now`.
    bump_data_version(session, now, first_week=ret.first_week, written_at=now)
    audit.record(session, actor, "return.void", f"return:{return_id}",
                 f"reason: {reason}; {len(ids)} values withdrawn, {len(replaced)} earlier values restored",
                 remote_addr)
    return len(replaced)
