"""A lead's notifications in the browser: the unread count in the header, the list, marking one and then all
read; a new receipt arriving while the page is open; text shown as text; the page passes axe."""

from __future__ import annotations

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from maic import notify
from maic.db import make_engine, make_session_factory, transaction
from maic.errors import Issue
from maic.models import User
from maic.notify.outbox import unread_count
from tests.browser.conftest import sign_in
from tests.browser.test_every_page import check


def _unread(server, username: str) -> int:
    engine = make_engine(server.db_url)
    try:
        with make_session_factory(engine)() as session:
            user_id = session.scalar(sa.select(User.id).where(User.username == username))
            return unread_count(session, user_id)
    finally:
        engine.dispose()


def _refused_receipt(server) -> None:
    engine = make_engine(server.db_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            notify.return_refused(session, agency_slug="cambridge-housing", filename="<b>bold</b>.csv",
                                  sha256="0" * 64, source="drop_folder",
                                  issues=[Issue(3, "value", "'x' is not a number")])
    finally:
        engine.dispose()


def test_the_header_counts_unread_notifications_and_the_list_marks_them_read(live_server, page):
    unread = _unread(live_server, "housing.lead")
    assert unread > 1, "the demo's uploads gave the lead their receipts"
    sign_in(page, live_server, "housing.lead")
    count = page.locator(".header a.notify-count")
    expect(count).to_have_text(f"Notifications ({unread} unread)")
    count.click()
    expect(page.locator("main h1")).to_have_text("Notifications")
    expect(page.locator("li.notification.unread")).to_have_count(unread)
    assert not check(page, "notifications-lead", 1366)

    page.get_by_role("button", name=re.compile(r"^Mark read: ")).first.click()
    expect(count).to_have_text(f"Notifications ({unread - 1} unread)")
    expect(page.locator("li.notification.unread")).to_have_count(unread - 1)
    assert _unread(live_server, "housing.lead") == unread - 1

    page.get_by_role("button", name="Mark all read").click()
    expect(count).to_have_text("Notifications")
    expect(page.locator("li.notification.unread")).to_have_count(0)
    assert _unread(live_server, "housing.lead") == 0

    # A refused file's receipt arrives while the page is open: the header counts it without a reload.
    _refused_receipt(live_server)
    expect(count).to_have_text("Notifications (1 unread)")
    page.reload()
    first = page.locator("li.notification").first
    expect(first.locator("h2")).to_have_text("Return refused: Cambridge City Council housing, <b>bold</b>.csv")
    expect(first.locator("pre")).to_contain_text("- row 3, column value: '...' is not a number")
    expect(first.locator("b")).to_have_count(0)  # the name is text, never markup
    # A lead's reminders cannot be switched off; receipts can.
    expect(page.get_by_role("checkbox", name="Reminder before my agency's return is due (always on)").first) \
        .to_be_disabled()
    expect(page.get_by_role("checkbox", name="Receipt for every return sent (accepted or refused)").first) \
        .to_be_enabled()
