"""The as-at picker as a person uses it: typed the UK way with the keyboard, an older picture shown, refusals
explained, Now back to live. The times come from the demo data itself, so the test follows whatever dates
the demo was seeded with."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from maic import dates, picture
from maic.db import make_engine, make_session_factory
from maic.models import Observation
from maic.picture import Filters, PictureQuery
from tests.browser.conftest import screenshot
from tests.browser.test_picture import open_picture

TZ = "Europe/London"
TYPING_DELAY_MS = 20  # between keys: faster than any person


def before_the_latest_week_began_to_arrive(server) -> tuple[dt.datetime, str, int, str, int]:
    """A local minute just before the first figure for the live picture's week was recorded, with the week and
    'released to date' the picture showed then and shows now: (local as-at, then week, then, live week, live)."""
    engine = make_engine(server.db_url)
    try:
        with make_session_factory(engine)() as session:
            live = picture.headlines(session, PictureQuery())
            first = session.scalar(sa.select(sa.func.min(Observation.recorded_at))
                                   .where(Observation.week == live.week))
            local = (first.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(TZ)) - dt.timedelta(minutes=1)).replace(
                second=0, microsecond=0, tzinfo=None)
            asked = Filters(as_at_date=local.date(), as_at_time=f"{local:%H:%M}")
            then = picture.headlines(session, asked.query(TZ))
    finally:
        engine.dispose()
    value = {t.key: t.value for t in then.tiles}["released_to_date"]
    live_value = {t.key: t.value for t in live.tiles}["released_to_date"]
    return local, dates.day(then.week), value, dates.day(live.week), live_value


def type_as_at(page, date_text: str, time_text: str) -> None:
    """Click into the date box, type, Tab to the time box, type, Enter: what a person does. Keys 20 ms apart,
    faster than a person: a debounced dcc.Input scrambled fast typing ("25/11/2024" became "2511/2024/")."""
    page.get_by_label("Date (dd/mm/yyyy)").click()
    page.keyboard.press("Control+A")
    page.keyboard.type(date_text, delay=TYPING_DELAY_MS)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Time (HH:MM)")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type(time_text, delay=TYPING_DELAY_MS)
    page.keyboard.press("Enter")


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["desk", "phone"])
def test_an_as_at_typed_the_uk_way_shows_the_older_picture_and_now_goes_back_to_live(live_server, browser, size):
    local, then_week, then_value, live_week, live_value = before_the_latest_week_began_to_arrive(live_server)
    assert then_value != live_value, "the demo must have a figure that changed in its latest week"
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        open_picture(page, live_server)
        showing = page.locator("#asat-showing")
        expect(showing).to_have_text("now, live")
        for box in ("Date (dd/mm/yyyy)", "Time (HH:MM)"):  # each box can be seen and typed into at its centre
            field = page.get_by_label(box)
            assert field.bounding_box()["width"] >= 70, box
            field.click()
            expect(field).to_be_focused()

        type_as_at(page, f"{local:%d/%m/%Y}", f"{local:%H:%M}")
        expect(page.get_by_label("Date (dd/mm/yyyy)")).to_have_value(f"{local:%d/%m/%Y}")
        expect(page.locator("#asat-message")).to_be_empty()
        header = page.locator("#headline-asat")
        expect(header).to_contain_text("the picture as it stood then", timeout=15_000)
        expect(header).to_contain_text(f"Week beginning {then_week}")
        expect(page.locator("#tile-released_to_date .value")).to_have_text(re.compile(rf"^{then_value:,} people$"), timeout=15_000)
        expect(showing).to_contain_text(f"{local:%d/%m/%Y %H:%M}")
        expect(page).to_have_url(re.compile(rf"asat={local:%Y-%m-%d}&time={local:%H}%3A{local:%M}"))
        expect(page.get_by_label("Date (dd/mm/yyyy)")).to_have_value(f"{local:%d/%m/%Y}")
        screenshot(page, f"as-at-typed-{size[0]}")

        page.get_by_role("button", name="Now").click()
        expect(showing).to_have_text("now, live", timeout=15_000)
        expect(header).not_to_contain_text("as it stood then", timeout=15_000)
        expect(header).to_contain_text(f"Week beginning {live_week}")
        expect(page.locator("#tile-released_to_date .value")).to_have_text(re.compile(rf"^{live_value:,} people$"), timeout=15_000)
        expect(page.get_by_label("Date (dd/mm/yyyy)")).to_have_value("")
        expect(page).not_to_have_url(re.compile("asat="))
    finally:
        context.close()


def test_an_as_at_in_the_future_or_before_the_incident_is_refused_with_a_message(live_server, page):
    open_picture(page, live_server)
    message, showing = page.locator("#asat-message"), page.locator("#asat-showing")
    next_year = dt.date.today().year + 1
    type_as_at(page, f"01/01/{next_year}", "10:00")
    expect(message).to_contain_text(f"01/01/{next_year} 10:00 is in the future", timeout=15_000)
    expect(showing).to_have_text("now, live")
    expect(page.locator("#headline-asat")).not_to_contain_text("as it stood then")
    screenshot(page, "as-at-refused-future")

    type_as_at(page, "01/01/2000", "10:00")
    expect(message).to_contain_text("The incident began on", timeout=15_000)
    expect(message).to_contain_text("choose an as-at on or after that day")
    expect(showing).to_have_text("now, live")

    type_as_at(page, "31/02/2024", "10:00")
    expect(message).to_contain_text("“31/02/2024” is not a date: write it as dd/mm/yyyy", timeout=15_000)
    type_as_at(page, "17/09/2024", "25:61")
    expect(message).to_contain_text("“25:61” is not a time: write it as HH:MM", timeout=15_000)

    page.get_by_role("button", name="Now").click()
    expect(message).to_be_empty(timeout=15_000)
    expect(page.get_by_label("Time (HH:MM)")).to_have_value("")


def test_a_link_with_an_as_at_in_the_future_opens_live_and_says_why(live_server, page):
    open_picture(page, live_server)
    page.goto(live_server.url + "/dash/?asat=2999-01-01&time=10%3A00")
    expect(page.locator("#asat-message")).to_contain_text("01/01/2999 10:00 is in the future", timeout=20_000)
    expect(page.locator("#asat-showing")).to_have_text("now, live")
    expect(page.locator("#tile-released_week .value")).to_have_text(re.compile(r"\d"), timeout=20_000)
    expect(page.locator("#headline-asat")).not_to_contain_text("as it stood then")
