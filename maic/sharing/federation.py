"""Federation: pull each configured neighbour instance's shared API into our store, through the one pipeline.

A pull asks /api/v1/version first and stops when nothing moved; otherwise it fetches /api/v1/shared, keeps
the weekly figures that were published exactly (suppressed and withheld cells are not figures), writes them
as a long CSV return from the neighbour's "<lrf>-maic" agency with source "federation", and ingests it with
maic.returns.ingest. So their figures are tagged with their LRF through their areas, a correction on their
side supersedes ours the usual way, and the same figures twice are one return. Their "as at" is recorded
on the source and used as the return's received time when it does not run history backwards.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, replace

import requests
import sqlalchemy as sa
from sqlalchemy import orm

from maic import audit, notify
from maic.db import transaction
from maic.errors import MaicError, ValidationFailed
from maic.fetch import FetchPolicy
from maic.models import LRF, Area, FederationSource, Metric, ReturnSource, utcnow
from maic.returns.ingest import IngestSettings, Submission, ingest_return

TIMEOUT_SECONDS = 30
PUBLIC_ONLY = FetchPolicy()
NEIGHBOUR_AGENCY = "{lrf}-maic"


@dataclass(frozen=True)
class PullResult:
    lrf_code: str
    outcome: str  # unchanged | accepted | duplicate | failed
    message: str
    return_id: int | None = None


def pull_all(factory: orm.sessionmaker[orm.Session], settings: IngestSettings, *, lrf_code: str | None = None,
             http: requests.Session | None = None, fetch: FetchPolicy = PUBLIC_ONLY) -> list[PullResult]:
    """Pull every active neighbour instance (or the one named). Their addresses must be public, or inside a
    network `fetch` allows (FetchPolicy.from_config: MAIC_FETCH_ALLOW_NETWORKS), on every redirect too."""
    with factory() as session:
        stmt = sa.select(FederationSource.id, LRF.code).join(LRF).where(FederationSource.active.is_(True))
        if lrf_code:
            stmt = stmt.where(LRF.code == lrf_code)
        sources = session.execute(stmt.order_by(LRF.code)).all()
    http = fetch.session(http)
    http.max_redirects = 5
    return [pull_source(factory, source_id, settings, http=http) for source_id, _ in sources]


def pull_source(factory: orm.sessionmaker[orm.Session], source_id: int, settings: IngestSettings, *,
                http: requests.Session) -> PullResult:
    with factory() as session:
        source = session.get(FederationSource, source_id)
        code, base, token, last_version = source.lrf.code, source.base_url, source.token, source.last_version
    try:
        result, version, their_as_at = _pull(factory, code, base, token, last_version, settings, http)
    except (requests.RequestException, ValueError, KeyError, TypeError, MaicError) as exc:
        message = exc.report() if isinstance(exc, ValidationFailed) else getattr(exc, "message", None) or str(exc)
        result, version, their_as_at = PullResult(code, "failed", message[:2000]), last_version, None
    with transaction(factory) as session:
        source = session.get(FederationSource, source_id)
        source.last_pulled_at = utcnow()
        source.last_status = f"{result.outcome}: {result.message}"[:4000]
        if result.outcome != "failed":
            source.last_version = version
            source.last_as_at = their_as_at or source.last_as_at
        audit.record(session, f"federation:{code}", f"federation.{result.outcome}", base[:255], result.message[:2000])
        notify.pull_outcome(session, f"federation:{code}", result.outcome != "failed")
    return result


def _get(http: requests.Session, url: str, token: str) -> dict:
    response = http.get(url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                        timeout=TIMEOUT_SECONDS)
    if response.status_code != 200:
        raise MaicError(f"{url} answered {response.status_code}: {response.text[:200]}")
    return response.json()


def _pull(factory, code: str, base: str, token: str, last_version: int | None, settings: IngestSettings,
          http: requests.Session) -> tuple[PullResult, int | None, dt.datetime | None]:
    version = int(_get(http, f"{base}/api/v1/version", token)["data_version"])
    if last_version is not None and version == last_version:
        return PullResult(code, "unchanged", f"data version {version} unchanged"), version, None
    picture = _get(http, f"{base}/api/v1/shared", token)
    if picture.get("lrf", {}).get("code") != code:
        raise MaicError(f"{base} serves the figures of LRF '{picture.get('lrf', {}).get('code')}', not '{code}'")
    their_as_at = dt.datetime.fromisoformat(picture["as_at"].replace("Z", "+00:00")).astimezone(dt.UTC) \
        .replace(tzinfo=None)
    rows, skipped = _rows_we_can_take(factory, code, picture["cells"])
    if not rows:
        return PullResult(code, "unchanged", f"no published figures (version {version})"), version, their_as_at
    data = _to_csv(rows)
    submission = Submission(data=data, filename=f"{code}-federation-v{version}.csv",
                            agency_slug=NEIGHBOUR_AGENCY.format(lrf=code), source=ReturnSource.FEDERATION,
                            actor=f"federation:{code}", received_at=min(their_as_at, utcnow()))
    try:
        receipt = ingest_return(factory, submission, settings)
    except ValidationFailed:
        raise
    except MaicError:
        # Their clock is behind the figures we hold: keep history running forwards with our own time.
        receipt = ingest_return(factory, replace(submission, received_at=None), settings)
    note = f"; skipped {skipped} figure(s) we have no area or shareable metric for" if skipped else ""
    if receipt.duplicate:
        return (PullResult(code, "duplicate", f"same figures as return {receipt.return_id}{note}", receipt.return_id),
                version, their_as_at)
    return (PullResult(code, "accepted", f"return {receipt.return_id}: {receipt.rows} figures, their as at "
                       f"{their_as_at:%Y-%m-%d %H:%M} UTC{note}", receipt.return_id), version, their_as_at)


def _rows_we_can_take(factory, code: str, cells: list[dict]) -> tuple[list[tuple[str, str, str, int]], int]:
    with factory() as session:
        areas = set(session.scalars(sa.select(Area.code).join(LRF).where(LRF.code == code)))
        metrics = set(session.scalars(sa.select(Metric.key).where(Metric.shareable.is_(True))))
    rows, skipped = [], 0
    for cell in cells:
        if cell["measure"] != "week" or cell["status"] != "value" or cell["area_code"] == "ALL":
            continue
        if cell["area_code"] not in areas or cell["metric"] not in metrics:
            skipped += 1
            continue
        rows.append((cell["week"], cell["area_code"], cell["metric"], int(cell["value"])))
    return sorted(rows), skipped


def _to_csv(rows: list[tuple[str, str, str, int]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["week", "area_code", "metric", "value"])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")
