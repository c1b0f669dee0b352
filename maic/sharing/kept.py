"""The shared picture kept, for the API and the shared view: computed once per data version and question.

The shared picture (maic.picture.shared.shared_picture, with its protection across published versions) is the
costliest answer the app gives; neighbours pull the same few questions over and over, and between two returns
the answer cannot change. So:

- The picture itself is kept per process (maic.picture.panel_cache_for), single-flight: the shared view and
  every format of the API read it from there.
- The API's answers (the JSON or CSV body, as bytes) are kept with the dashboards' answers: in Redis for the
  whole deployment when MAIC_REDIS_URL is set (single-flight across workers: one computes, the others wait for
  its answer), per process otherwise. A question only one client asked for is kept by the process that
  answered it, not shared (cache12's rule); the question every neighbour starts with (no parameters) always is.

Exactness: the key holds the data stamp (version and when it changed) read before computing, the question as
read from the parameters (weeks, areas and metrics sorted, a past as-at; an as-at of now or later is 'now'),
the incident's first week (reference data, read each time), the day (the weeks a question may name, and the shared history's window, move with it), and the settings that
change the answer. The as-at is checked against the shared history on every request, before the cache. The
history window is taken when the answer was computed, earlier the same day at most: it can only hold more
published versions than a fresh one, so the protection across versions is never weaker.

Authentication and permission are checked on every request before anything here (maic.sharing.api).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import orm

from maic import picture, redis_store
from maic.models import utcnow
from maic.picture import shared
from maic.reference import first_week


@dataclass(frozen=True)
class KeptBody:
    """An API answer as sent: its bytes, and the file name a CSV is offered under ("" for JSON)."""

    body: bytes
    filename: str = ""

    @property
    def nbytes(self) -> int:  # what keeping it costs (maic.picture.cache.approximate_size)
        return len(self.body) + len(self.filename)


def to_bytes(kept: KeptBody) -> bytes:
    """For Redis: a JSON header line, then the body as it is sent. Nothing is unpickled when read back."""
    return orjson.dumps({"filename": kept.filename}) + b"\n" + kept.body


def from_bytes(data: bytes) -> KeptBody:
    header, _, body = data.partition(b"\n")
    return KeptBody(body, str(orjson.loads(header)["filename"]))


def _answers(app: Any) -> picture.PanelCache | picture.SharedCache:
    """With MAIC_REDIS_URL, the deployment's answer cache (the same Redis budget and expiry as the dashboards'
    answers); without, this process's panel cache. A new data version's shared picture took 6 s of CPU on the
    demo and 30-40 s on a saturated 2-core machine: the other workers wait up to two minutes for it rather than
    compute it beside it (which would only slow both), while the worker computing it is alive: its lock is
    SharedCache's short, renewed one, so a worker killed while computing is replaced within seconds."""
    answers = app.extensions.get("maic.api_answers")
    if answers is None:
        store = redis_store.for_app(app)
        local = picture.panel_cache_for(app)
        answers = local if store is None else picture.SharedCache(
            local, store, to_bytes, from_bytes, ttl=int(app.config["MAIC_REDIS_ANSWER_SECONDS"]),
            max_bytes=int(app.config["MAIC_REDIS_CACHE_BYTES"]), wait_seconds=120)
        answers = app.extensions.setdefault("maic.api_answers", answers)
    return answers


def _questions(app: Any) -> picture.RecentViews | picture.SharedRecentViews:
    """Which questions which clients asked lately (for the 'worth sharing' rule), across workers with Redis.
    Never rendered ahead, so the text a question is stored as is never read back."""
    questions = app.extensions.get("maic.api_questions")
    if questions is None:
        store = redis_store.for_app(app)
        questions = picture.RecentViews() if store is None else picture.SharedRecentViews(
            picture.RecentViews(), store, repr, str, kind="api-questions")
        questions = app.extensions.setdefault("maic.api_questions", questions)
    return questions


def _settings(config: Any) -> tuple:
    return (int(config["MAIC_SUPPRESSION_THRESHOLD"]), int(config["MAIC_SHARED_HISTORY_DAYS"]),
            str(config["MAIC_INCIDENT_START"]), str(config["MAIC_PROTECTIVE_MARKING"]))


def normalised(query: shared.SharedQuery, now: dt.datetime, history_days: int) -> shared.SharedQuery:
    """The question as kept: its as-at checked against the shared history now (a MaicError as uncached), and
    an as-at of now or later read as 'now'."""
    as_at = shared.check_as_at(query.as_at, now=now, history_days=history_days)
    return replace(query, as_at=None if query.as_at is None or as_at >= now else as_at)


def kept_picture(app: Any, session: orm.Session, query: shared.SharedQuery) -> shared.SharedPicture:
    """The shared picture for `query`, computed once per data version, question and day in this process. A
    live question's picture says 'as at now': its data version has not changed since it was computed."""
    config, now = app.config, utcnow()
    question = normalised(query, now, int(config["MAIC_SHARED_HISTORY_DAYS"]))
    start = _history_from(app, session)
    key = ("shared-picture", picture.data_stamp(session), question, now.date(), start, _settings(config))
    found = picture.panel_cache_for(app).get(key, lambda: _compute(app, session, question, start))
    return replace(found, as_at=now) if question.as_at is None else found


def _history_from(app: Any, session: orm.Session) -> dt.date:
    """The incident's first week, read on every request (one row): it is reference data, moved by the demo."""
    return first_week(session, dt.date.fromisoformat(str(app.config["MAIC_INCIDENT_START"])))


def _compute(app: Any, session: orm.Session, query: shared.SharedQuery, start: dt.date) -> shared.SharedPicture:
    config = app.config
    return shared.shared_picture(session, query, threshold=int(config["MAIC_SUPPRESSION_THRESHOLD"]),
                                 history_from=start, history_days=int(config["MAIC_SHARED_HISTORY_DAYS"]))


def kept_answer(app: Any, session: orm.Session, form: str, query: shared.SharedQuery, client: str,
                build: Callable[[shared.SharedPicture], KeptBody]) -> KeptBody:
    """The API's answer in `form` ("json", "csv") for `query`, built by `build` from the shared picture at most
    once per data version, question and day for the deployment (or per process without Redis)."""
    config, now = app.config, utcnow()
    question = normalised(query, now, int(config["MAIC_SHARED_HISTORY_DAYS"]))
    key = ("api", f"shared.{form}", picture.data_stamp(session), question, now.date(), _history_from(app, session),
           _settings(config))
    questions, asked = _questions(app), (form, question, now.date())
    questions.seen(asked, client, canonical=question == shared.SharedQuery())
    return _answers(app).get(key, lambda: build(kept_picture(app, session, query)),
                             share=questions.worth(asked))
