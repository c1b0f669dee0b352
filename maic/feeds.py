"""Feeds: HTTP(S) sources of an agency's returns, pulled on schedule into the one pipeline.

Each pull sends the feed's token, ETag and Last-Modified (a 304 costs nothing and ingests nothing), with
timeouts and a few retries with exponential backoff for network errors and 5xx answers. A body is read up
to the upload limit, then handed to ingest_return like any other door; a refused body is kept in
quarantine/feeds/ with its report, as the drop folder does.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from maic import notify
from maic.errors import MaicError, NotFound, ValidationFailed
from maic.fetch import FetchPolicy, RefusedAddress
from maic.inbox import move_aside, write_report
from maic.models import Agency, Feed, ReturnSource, utcnow
from maic.plaintext import one_line
from maic.returns.ingest import IngestSettings, Submission, ingest_return

log = logging.getLogger(__name__)

ACCEPTED, DUPLICATE, UNCHANGED, REFUSED, FAILED = "accepted", "duplicate", "unchanged", "refused", "failed"
CONTENT_TYPES = {"text/csv": ".csv", "application/csv": ".csv", "text/plain": ".csv",
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx"}


@dataclass(frozen=True)
class FeedSettings:
    ingest: IngestSettings
    data_dir: Path
    timeout_seconds: float = 20.0
    retries: int = 3
    backoff_seconds: float = 2.0
    fetch: FetchPolicy = FetchPolicy()  # public addresses only, unless MAIC_FETCH_ALLOW_NETWORKS says otherwise

    @classmethod
    def from_config(cls, config: dict[str, Any], **overrides) -> FeedSettings:
        values = {"ingest": IngestSettings.from_config(config), "data_dir": Path(config["MAIC_DATA_DIR"]),
                  "timeout_seconds": float(config.get("MAIC_FEED_TIMEOUT_SECONDS", 20)),
                  "retries": int(config.get("MAIC_FEED_RETRIES", 3)), "fetch": FetchPolicy.from_config(config)}
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class PullResult:
    feed_id: int
    outcome: str
    message: str
    return_id: int | None = None


def add_feed(session: orm.Session, url: str, agency_slug: str, *, token: str | None = None,
             interval_seconds: int = 3600) -> Feed:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MaicError(f"'{url}' is not an http(s) URL")
    if interval_seconds < 60:
        raise MaicError("a feed is pulled at most once a minute (--every 60 or more)")
    agency = session.scalar(sa.select(Agency).where(Agency.slug == agency_slug))
    if agency is None:
        raise NotFound(f"there is no agency '{agency_slug}'")
    feed = Feed(url=url, agency_id=agency.id, token=token or None, interval_seconds=interval_seconds,
                last_message="")
    session.add(feed)
    try:
        session.flush()
    except IntegrityError:
        raise MaicError(f"{agency_slug} already has a feed at {url}") from None
    return feed


def list_feeds(session: orm.Session) -> list[Feed]:
    return list(session.scalars(sa.select(Feed).order_by(Feed.id)))


def due(feed: Feed, now: dt.datetime) -> bool:
    return feed.active and (feed.last_checked_at is None
                            or feed.last_checked_at + dt.timedelta(seconds=feed.interval_seconds) <= now)


def pull_due_feeds(factory: orm.sessionmaker[orm.Session], settings: FeedSettings,
                   now: dt.datetime | None = None) -> list[PullResult]:
    now = now or utcnow()
    with factory() as session:
        ids = [f.id for f in list_feeds(session) if due(f, now)]
    return [pull_feed(factory, feed_id, settings) for feed_id in ids]


def _filename(feed: Feed, response: requests.Response) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    match = re.search(r'filename="?([^";]+)"?', disposition)
    if match:
        return one_line(match.group(1))
    path_name = urlsplit(feed.url).path.rsplit("/", 1)[-1]
    if re.search(r"\.(csv|xlsx)$", path_name, re.I):
        return path_name
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return f"feed-{feed.id}{CONTENT_TYPES.get(kind, '.csv')}"


def _fetch(feed: Feed, settings: FeedSettings) -> requests.Response | str:
    """The response (200 or 304), or a message saying why the feed could not be read."""
    headers = {"User-Agent": "maic-common-picture feed puller", "Accept": "text/csv, application/vnd."
               "openxmlformats-officedocument.spreadsheetml.sheet;q=0.9"}
    if feed.token:
        headers["Authorization"] = f"Bearer {feed.token}"
    if feed.etag:
        headers["If-None-Match"] = feed.etag
    if feed.last_modified:
        headers["If-Modified-Since"] = feed.last_modified
    problem = ""
    http = settings.fetch.session()
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        try:
            response = http.get(feed.url, headers=headers, timeout=settings.timeout_seconds, stream=True,
                                allow_redirects=False)
        except RefusedAddress as exc:
            return exc.message
        except requests.RequestException as exc:
            problem = f"{exc.__class__.__name__} (after {attempt + 1} attempt{'s' if attempt else ''})"
            continue
        if response.status_code >= 500 or response.status_code == 429:
            problem = f"HTTP {response.status_code} (after {attempt + 1} attempt{'s' if attempt else ''})"
            response.close()
            continue
        if response.status_code in (200, 304):
            return response
        response.close()
        return f"HTTP {response.status_code}: the feed refused the request (check its URL and token)"
    return problem


def _read_body(response: requests.Response, limit: int) -> bytes | None:
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def pull_feed(factory: orm.sessionmaker[orm.Session], feed_id: int, settings: FeedSettings) -> PullResult:
    with factory() as session:
        feed = session.get(Feed, feed_id)
        if feed is None:
            raise NotFound(f"there is no feed {feed_id}")
        agency_slug = feed.agency.slug
        session.expunge(feed)
    fetched = _fetch(feed, settings)
    etag, last_modified = feed.etag, feed.last_modified
    return_id = None
    if isinstance(fetched, str):
        outcome, message = FAILED, fetched
    elif fetched.status_code == 304:
        fetched.close()
        outcome, message = UNCHANGED, "not modified since the last pull"
    else:
        with fetched:
            body = _read_body(fetched, settings.ingest.max_bytes)
            new_etag = fetched.headers.get("ETag")
            new_modified = fetched.headers.get("Last-Modified")
            name = _filename(feed, fetched)
        if body is None:
            outcome, message = REFUSED, f"the feed sent more than {settings.ingest.max_bytes:,} bytes"
        else:
            outcome, message, return_id = _ingest(factory, settings, agency_slug, name, body)
        if outcome in (ACCEPTED, DUPLICATE, REFUSED):
            # A definite answer for these bytes: remember the validators so the same body is not fetched again.
            etag, last_modified = new_etag, new_modified
    with factory() as session, session.begin():
        session.execute(sa.update(Feed).where(Feed.id == feed_id).values(
            etag=etag, last_modified=last_modified, last_checked_at=utcnow(), last_outcome=outcome,
            last_message=message[:2000]))
        notify.pull_outcome(session, f"feed:{feed_id}", outcome != FAILED)
    log.info("feed %s (%s): %s %s", feed_id, agency_slug, outcome, message)
    return PullResult(feed_id, outcome, message, return_id)


def _ingest(factory, settings: FeedSettings, agency_slug: str, name: str, body: bytes) -> tuple[str, str, int | None]:
    submission = Submission(data=body, filename=name, agency_slug=agency_slug, source=ReturnSource.FEED,
                            actor=f"feed:{agency_slug}")
    try:
        receipt = ingest_return(factory, submission, settings.ingest)
    except ValidationFailed as exc:
        folder = settings.data_dir / "quarantine" / "feeds" / agency_slug
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / f".incoming-{submission.sha256}"
        staged.write_bytes(body)
        target = move_aside(staged, folder, name)
        write_report(target, name, agency_slug, [exc.message, *(f"- {i}" for i in exc.issues)])
        return REFUSED, exc.message, None
    except MaicError as exc:
        return REFUSED, exc.message, None
    if receipt.duplicate:
        return DUPLICATE, f"already received as return {receipt.return_id}", receipt.return_id
    return ACCEPTED, f"return {receipt.return_id}: {receipt.rows} rows", receipt.return_id
