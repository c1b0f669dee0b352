"""The outbox on SQLite and PostgreSQL: one row per event, recipient and channel; written with its cause or not
at all; receipts from every door; choices; claims that a restart releases; a state that flips back between two
checks sends nothing; failing pulls; no mail server: in-app only, retried later by an admin."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from maic import notify
from maic.db import transaction
from maic.errors import MaicError, ValidationFailed
from maic.models import AuditEvent, Notification, NotifyState, ReturnSource, User, utcnow
from maic.notify import admin as outbox_admin
from maic.notify import prefs
from maic.notify.checks import CheckSettings, run_checks
from maic.notify.send import CLAIM_LEASE, claim, deliver_due
from maic.returns.ingest import Submission, ingest_return
from tests.fixtures import csv_bytes, settings_for
from tests.notify.conftest import person, send_settings

W1 = dt.date(2024, 11, 18)
AREA = "E07000008"


def rows(factory, **where) -> list[Notification]:
    with factory() as session:
        stmt = sa.select(Notification).order_by(Notification.id)
        for name, value in where.items():
            stmt = stmt.where(getattr(Notification, name) == value)
        return list(session.scalars(stmt))


def housing(in_ta: int, week: dt.date = W1, capacity: int = 50) -> bytes:
    return csv_bytes([(week, AREA, "households_in_ta", in_ta), (week, AREA, "ta_capacity", capacity),
                      (week, AREA, "referrals_awaiting_placement", 2)])


def send(factory, data_dir, data: bytes, source=ReturnSource.CLI, user_id=None, filename="r.csv"):
    return ingest_return(factory, Submission(data, filename, "cambridge-housing", source=source, user_id=user_id,
                                             actor="test"), settings_for(data_dir))


@pytest.mark.parametrize("source", [ReturnSource.UPLOAD, ReturnSource.DROP_FOLDER, ReturnSource.FEED,
                                    ReturnSource.CLI])
def test_every_door_gets_a_receipt_once_accepted_or_refused(factory, data_dir, source):
    lead = person(factory, "agency_lead", agency_slug="cambridge-housing")
    analyst = person(factory, "analyst")
    sender = analyst.id if source == ReturnSource.UPLOAD else None  # an analyst may upload for an agency
    receipt = send(factory, data_dir, housing(40), source, sender)
    assert send(factory, data_dir, housing(40), source, sender).duplicate  # the same bytes again: no second receipt
    accepted = rows(factory, kind="receipt", channel="app")
    assert {r.user_id for r in accepted} == {lead.id} | ({analyst.id} if sender else set())
    assert all(r.event_key == f"receipt:return:{receipt.return_id}" for r in accepted)
    bad = csv_bytes([(W1, AREA, "households_in_ta", -4), (W1, "E99999999", "ta_capacity", 3)])
    for _ in range(2):
        with pytest.raises(ValidationFailed):
            send(factory, data_dir, bad, source, sender)
    refused = [r for r in rows(factory, kind="receipt", channel="app", user_id=lead.id) if "refused" in r.subject]
    assert len(refused) == 1
    assert "- row 2, column value:" in refused[0].body and "- row 3, column area_code:" in refused[0].body
    assert "What to do" in refused[0].body


def test_a_message_commits_with_its_cause_or_not_at_all(factory):
    person(factory, "viewer")
    with pytest.raises(RuntimeError), transaction(factory) as session:
        assert notify.pack_issued(session, 7, "Pack", "/dash/briefings/7") > 0
        raise RuntimeError("the cause failed")
    assert rows(factory) == []
    with transaction(factory) as session:
        first = notify.pack_issued(session, 7, "Pack", "/dash/briefings/7")
    with transaction(factory) as session:
        assert notify.pack_issued(session, 7, "Pack", "/dash/briefings/7") == 0  # the same event: nothing new
    assert first == len(rows(factory)) == 2  # the viewer in the app, and the SCG's webhook row


def test_choices_are_kept_and_a_leads_reminders_cannot_be_switched_off(factory):
    analyst = person(factory, "analyst", "analyst@maic.example")
    lead = person(factory, "agency_lead", "lead@housing.example", agency_slug="cambridge-housing")
    with transaction(factory) as session:
        me = session.get(User, analyst.id)
        everything = {(p.kind, c) for p in prefs.preferences(session, me) for c in ("app", "email")}
        prefs.set_preferences(session, me, everything - {("pack_revised", "email")})
    with transaction(factory) as session:
        notify.pack_revised(session, 3, "Pack", "/dash/briefings/3", cause="return:9")
    assert [r.channel for r in rows(factory, user_id=analyst.id)] == ["app"]
    with transaction(factory) as session:
        me = session.get(User, lead.id)
        assert [p.kind for p in prefs.preferences(session, me) if p.mandatory] == ["reminder", "late"]
        with pytest.raises(MaicError, match="cannot be switched off"):
            prefs.set_preferences(session, me, {("receipt", "app")})
        prefs.set_preferences(session, me, {("reminder", "app"), ("reminder", "email"), ("late", "app"),
                                            ("late", "email")})
    with transaction(factory) as session:
        assert prefs.preferences(session, session.get(User, lead.id))[2].on == {"app": False, "email": False}


def test_a_restart_resumes_a_claim_left_by_a_stopped_sender_and_sends_it_once(factory, smtp):
    person(factory, "viewer", "viewer@scg.example")
    with transaction(factory) as session:
        notify.pack_issued(session, 1, "Pack", "/dash/briefings/1")
    now = utcnow()
    with transaction(factory) as session:
        assert len(claim(session, "a-sender-that-dies", now)) == 2  # then it stops before sending
    assert deliver_due(factory, send_settings(smtp), now=now).sent == 0  # still claimed: not sent twice
    later = deliver_due(factory, send_settings(smtp), now=now + CLAIM_LEASE + dt.timedelta(seconds=1))
    assert later.released == 2 and later.sent == 1, later
    assert len(smtp.mailbox.messages) == 1
    assert deliver_due(factory, send_settings(smtp), now=now + 2 * CLAIM_LEASE).sent == 0


def test_two_senders_never_claim_the_same_row(factory, engine):
    for n in range(6):
        person(factory, "viewer", f"viewer{n}@scg.example")
    with transaction(factory) as session:
        notify.pack_issued(session, 1, "Pack", "/dash/briefings/1")
    now = utcnow()
    if engine.dialect.name != "postgresql":
        with transaction(factory) as a:
            first = claim(a, "a", now, limit=3)
        with transaction(factory) as b:
            second = claim(b, "b", now, limit=3)
        assert len(first) == len(second) == 3 and not set(first) & set(second)
        return
    # PostgreSQL: the first sender holds its rows (FOR UPDATE) while the second claims; SKIP LOCKED passes them.
    taken: dict[str, list[int]] = {}
    first_done, second_done = threading.Event(), threading.Event()

    def sender(token: str, wait: threading.Event | None, done: threading.Event) -> None:
        with transaction(factory) as session:
            taken[token] = claim(session, token, now, limit=4)
            done.set()
            if wait is not None:
                assert wait.wait(10)

    one = threading.Thread(target=sender, args=("a", second_done, first_done))
    one.start()
    assert first_done.wait(10)
    sender("b", None, second_done)
    one.join()
    assert len(taken["a"]) == 4 and len(taken["b"]) == 3 and not set(taken["a"]) & set(taken["b"])


def test_a_service_that_turns_red_and_back_between_two_checks_sends_nothing(factory, data_dir):
    person(factory, "analyst")
    checks = CheckSettings(data_dir=data_dir)
    send(factory, data_dir, housing(40))
    run_checks(factory, checks, now=dt.datetime(2024, 11, 26, 13))
    send(factory, data_dir, housing(60))  # red (60 households in 50 places) ...
    send(factory, data_dir, housing(41))  # ... and corrected back before the next check
    made = run_checks(factory, checks, now=dt.datetime(2024, 11, 26, 14))
    assert made["red"] == 0 and made["shortfall"] == 0
    send(factory, data_dir, housing(61))
    made = run_checks(factory, checks, now=dt.datetime(2024, 11, 26, 15))
    assert made["red"] == 2 and made["shortfall"] == 2  # the analyst in the app, and the MAIC's webhook row
    red = rows(factory, kind="red", channel="app")[0]
    assert "Households in emergency or temporary accommodation in Cambridge: 61" in red.body
    assert run_checks(factory, checks, now=dt.datetime(2024, 11, 26, 16))["red"] == 0  # still red: not news


def test_a_pull_failing_n_times_in_a_row_alerts_once_per_streak(factory, data_dir):
    person(factory, "analyst")
    checks = CheckSettings(data_dir=data_dir, pull_failures=3)

    def pull(ok: bool) -> None:
        with transaction(factory) as session:
            notify.pull_outcome(session, "federation:norfolk", ok)

    for _ in range(2):
        pull(False)
    assert run_checks(factory, checks)["pull_failing"] == 0
    pull(False)
    assert run_checks(factory, checks)["pull_failing"] == 2
    pull(False)
    assert run_checks(factory, checks)["pull_failing"] == 0  # the same streak
    pull(True)
    for _ in range(3):
        pull(False)
    assert run_checks(factory, checks)["pull_failing"] == 2
    alert = rows(factory, kind="pull_failing", channel="app")[0]
    assert "Norfolk" in alert.subject and "3 times in a row" in alert.body


def test_without_a_mail_server_messages_wait_unsent_and_an_admin_can_send_them_later(factory, smtp):
    person(factory, "viewer", "viewer@scg.example")
    with transaction(factory) as session:
        notify.pack_issued(session, 1, "Pack", "/dash/briefings/1")
    report = deliver_due(factory, send_settings(None))  # `make run`: no MAIC_SMTP_HOST
    assert report.skipped == 2 and report.sent == 0
    email = rows(factory, channel="email")[0]
    assert email.state == NotifyState.OFF and "MAIC_SMTP_HOST" in email.last_error
    with transaction(factory) as session:
        assert outbox_admin.retry(session, "admin", email.id) == 1
    assert deliver_due(factory, send_settings(smtp)).sent == 1
    assert [m.subject for m in smtp.mailbox.messages] == ["OFFICIAL-SENSITIVE: New briefing pack: Pack"]
    with factory() as session:
        actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.like("notify.%"))
                                       .order_by(AuditEvent.id)))
    assert actions == ["notify.skipped", "notify.skipped", "notify.retry", "notify.sent"]


def test_a_feed_that_keeps_failing_alerts_the_maic_and_its_refused_body_is_receipted(factory, data_dir):
    from maic.feeds import FAILED, FeedSettings, add_feed, pull_feed
    from maic.fetch import FetchPolicy

    person(factory, "analyst")
    lead = person(factory, "agency_lead", agency_slug="cgl-cambs")
    settings = FeedSettings(ingest=settings_for(data_dir), data_dir=data_dir, timeout_seconds=2, retries=0,
                            fetch=FetchPolicy.allowing("127.0.0.0/8"))
    with transaction(factory) as session:
        dead = add_feed(session, "http://127.0.0.1:1/x.csv", "cgl-cambs", interval_seconds=600).id
    checks = CheckSettings(data_dir=data_dir, pull_failures=3)
    run_checks(factory, checks)
    for n in range(3):
        assert pull_feed(factory, dead, settings).outcome == FAILED
        assert run_checks(factory, checks)["pull_failing"] == (2 if n == 2 else 0)
    alert = rows(factory, kind="pull_failing", channel="app")[0]
    assert f"feed {dead} of Change Grow Live" in alert.subject and "ConnectionError" in alert.body
    # The lead hears of their returns (a reminder may be due, by the clock), not of the MAIC's plumbing.
    assert [n.kind for n in rows(factory, user_id=lead.id) if n.kind == "pull_failing"] == [], \
        [(n.kind, n.subject) for n in rows(factory, user_id=lead.id)]
