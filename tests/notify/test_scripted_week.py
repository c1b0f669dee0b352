"""A scripted week through a real SMTP server: a reminder before the deadline, a late notice, receipts for an
accepted and a refused return from the drop folder, a service turning red, a pack issued, a correction after
the pack; then the mail server stopped while events happen, started again, and every message arrives once."""

from __future__ import annotations

import collections
import datetime as dt

import sqlalchemy as sa

from maic import notify
from maic.db import transaction
from maic.inbox import scan_inbox
from maic.models import Notification, NotifyState, Return, utcnow
from maic.notify.checks import CheckSettings, run_checks
from maic.notify.outbox import unread_count
from maic.notify.send import deliver_due
from tests.fixtures import csv_bytes, settings_for
from tests.notify.conftest import person, send_settings

W0, W1 = dt.date(2024, 11, 11), dt.date(2024, 11, 18)  # W1's return is due Tue 26 Nov 2024 12:00 (GMT)
AREA = "E07000008"  # Cambridge: Cambridge City Council housing's one area


def housing(week: dt.date, in_ta: int, capacity: int = 50, awaiting: int = 2) -> bytes:
    return csv_bytes([(week, AREA, "housing_referrals", 7), (week, AREA, "referrals_awaiting_placement", awaiting),
                      (week, AREA, "households_in_ta", in_ta), (week, AREA, "ta_capacity", capacity),
                      (week, AREA, "rough_sleepers", 6)])


def drop(data_dir, factory, name: str, data: bytes):
    folder = data_dir / "inbox" / "cambridge-housing"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    return scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2024, 11, day, hour, 0)


def subjects(mail, address: str) -> list[str]:
    return [m.subject for m in mail.to(address)]


def test_a_scripted_week_arrives_once_each_through_a_real_smtp_server(factory, data_dir, smtp):
    lead = person(factory, "agency_lead", "lead@housing.example", agency_slug="cambridge-housing")
    analyst = person(factory, "analyst", "analyst@maic.example")
    viewer = person(factory, "viewer", "viewer@scg.example")
    checks = CheckSettings(data_dir=data_dir)
    sending = send_settings(smtp)

    # Last week's return, on time: a receipt.
    assert [i.outcome for i in drop(data_dir, factory, "w0.csv", housing(W0, in_ta=40))] == ["accepted"]
    # Monday 13:00, within 24 hours of Tuesday noon, this week's return not in: a reminder. The first check
    # learns the state; nothing is news yet.
    assert run_checks(factory, checks, now=at(25, 13))["reminder"] >= 1
    assert run_checks(factory, checks, now=at(25, 14))["reminder"] == 0  # once
    # Tuesday 13:00, after the deadline: a late notice.
    assert run_checks(factory, checks, now=at(26, 13))["late"] >= 1
    # A refused file from the drop folder, then the accepted one: its households in temporary accommodation
    # pass the capacity (red), and the shortfall appears.
    refused = b"week,area_code,metric,value\n" + f"{W1},{AREA},housing_referrals,7\n".encode() + \
        f"{W1},{AREA},households_in_ta,lots\n".encode()
    assert [i.outcome for i in drop(data_dir, factory, "w1<draft>&.csv", refused)] == ["refused"]
    assert [i.outcome for i in drop(data_dir, factory, "w1.csv", housing(W1, in_ta=55))] == ["accepted"]
    made = run_checks(factory, checks, now=at(26, 14))
    assert made["red"] > 0 and made["shortfall"] > 0 and made["quarantine"] > 0
    # The SCG's pack, then a correction that touches it.
    with transaction(factory) as session:
        notify.pack_issued(session, 1, "SCG briefing 26 Nov", "/dash/briefings/1", issued_by="analyst")
    assert [i.outcome for i in drop(data_dir, factory, "w1-corrected.csv", housing(W1, in_ta=56))] == ["accepted"]
    with transaction(factory) as session:
        correction = session.scalar(sa.select(Return.id).order_by(Return.id.desc()).limit(1))
        notify.pack_revised(session, 1, "SCG briefing 26 Nov", "/dash/briefings/1", cause=f"return:{correction}",
                            changed=["Households in emergency or temporary accommodation, Cambridge"])

    report = deliver_due(factory, sending)
    assert report.failed == 0 and report.retrying == 0, report
    lead_mail = subjects(smtp.mailbox, "lead@housing.example")
    assert len(lead_mail) == 6, lead_mail
    assert any(s.startswith("OFFICIAL-SENSITIVE: Return due") for s in lead_mail)
    assert any(s.startswith("OFFICIAL-SENSITIVE: Return late") for s in lead_mail)
    assert sum(s.startswith("OFFICIAL-SENSITIVE: Return accepted") for s in lead_mail) == 3
    refusal = next(m for m in smtp.mailbox.to("lead@housing.example") if "Return refused" in m.subject)
    text, html = refusal.part("plain"), refusal.part("html")
    assert "- row 3, column value: '...' is not a number" in text, text
    assert "lots" not in text and "lots" not in html  # what the file holds is never repeated
    assert "What to do" in text and "https://maic.lrf.example/dash/returns" in text
    assert "w1&lt;draft&gt;&amp;.csv" in html and "<draft>" not in html
    analyst_mail = subjects(smtp.mailbox, "analyst@maic.example")
    assert sorted(s.split(": ", 1)[1].split(":")[0].split(" ")[0] for s in analyst_mail) == sorted(
        ["Service", "Accommodation", "1", "New", "Issued"]), analyst_mail
    red = next(m for m in smtp.mailbox.to("analyst@maic.example") if "Service pressure" in m.subject)
    assert "Households in emergency or temporary accommodation in Cambridge: 55" in red.part("plain")
    assert subjects(smtp.mailbox, "viewer@scg.example") == ["OFFICIAL-SENSITIVE: New briefing pack: SCG briefing 26 Nov"]
    assert "https://maic.lrf.example/dash/briefings/1" in smtp.mailbox.to("viewer@scg.example")[0].part("plain")
    before = len(smtp.mailbox.messages)

    # The mail server goes down while more happens: nothing is lost, nothing is sent.
    smtp.stop()
    assert [i.outcome for i in drop(data_dir, factory, "w1-again.csv", refused + b"x\n")] == ["refused"]
    with transaction(factory) as session:
        notify.pack_issued(session, 2, "SCG briefing 27 Nov", "/dash/briefings/2")
    run_checks(factory, checks, now=at(26, 16))
    down = deliver_due(factory, sending)
    assert down.sent == 0 and down.retrying == 4, down
    with factory() as session:
        waiting = session.scalars(sa.select(Notification).where(Notification.channel == "email",
                                                                Notification.state == NotifyState.PENDING)).all()
        assert len(waiting) == 4 and all("unreachable" in n.last_error and n.attempts == 1 for n in waiting)
    assert deliver_due(factory, sending).sent == 0  # backing off: not tried again at once
    assert len(smtp.mailbox.messages) == before

    smtp.start()
    later = deliver_due(factory, sending, now=utcnow() + dt.timedelta(seconds=61))
    assert later.sent == 4, later
    assert deliver_due(factory, sending, now=utcnow() + dt.timedelta(hours=2)).sent == 0
    ids = collections.Counter(m.message["X-MAIC-Notification"] for m in smtp.mailbox.messages)
    with factory() as session:
        emails = session.scalars(sa.select(Notification.id).where(Notification.channel == "email")).all()
        assert all(s == NotifyState.SENT for s in session.scalars(
            sa.select(Notification.state).where(Notification.channel == "email")))
        assert sorted(ids) == sorted(str(i) for i in emails) and set(ids.values()) == {1}
        assert unread_count(session, lead.id) == 7 and unread_count(session, viewer.id) == 2
        assert unread_count(session, analyst.id) == 7
