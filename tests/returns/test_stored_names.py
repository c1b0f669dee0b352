"""Names from files and people are one plain line at every door: no line breaks, controls or bidi overrides."""

from __future__ import annotations

import logging

import pytest
import requests
import sqlalchemy as sa

from callbacks import returns as cb
from layouts import returns as returns_view
from layouts.panels import html_table
from maic import admin
from maic.auth import create_user
from maic.db import factory_for
from maic.errors import MaicError
from maic.feeds import _filename
from maic.inbox import ACCEPTED, REFUSED, scan_inbox
from maic.models import Agency, Feed, Return
from maic.plaintext import has_unsafe, one_line
from maic.returns import history
from tests.fixtures import csv_bytes, settings_for
from tests.returns.test_upload_callbacks import CONTENTS, as_user

PHISH = ("f2\n\n[Session expired - sign in again](https://evil.example/phish)\n\n| Return | Value |\n|---|---|\n"
         "| 999 | 123456 |\n\n.csv")
DISGUISED = "invoice\u202evsc.exe.csv"  # shows as "invoiceexe.csv" with the override


def test_one_line_removes_breaks_controls_and_direction_overrides():
    assert one_line(PHISH) == ("f2 [Session expired - sign in again](https://evil.example/phish) | Return | Value | "
                               "|---|---| | 999 | 123456 | .csv")
    assert one_line(DISGUISED) == "invoicevsc.exe.csv"
    assert one_line("a\u2066b\u2069c\u200fd\x00e\x1bf\u2028g\x85h") == "abcd e f g h"
    assert not has_unsafe(one_line(PHISH + DISGUISED))
    assert one_line("Cambridge & Peterborough — Ünïcode") == "Cambridge & Peterborough — Ünïcode"


def test_an_upload_named_with_markup_and_an_override_is_stored_and_shown_as_one_line(app):
    context = as_user(app, "agency_lead")  # cambridge-housing
    try:
        preview = cb.preview_data("cambridge-housing", CONTENTS, PHISH)
        assert "\n" not in preview["filename"]
        cb.commit_data("cambridge-housing", CONTENTS, PHISH + DISGUISED)
    finally:
        context.pop()
    with factory_for(app)() as session:
        ret = session.scalar(sa.select(Return))
        assert ret.filename == one_line(PHISH + DISGUISED) and not has_unsafe(ret.filename)
        # A name stored before the doors were checked is shown as one line too.
        session.execute(sa.update(Return).values(filename=DISGUISED + "\nsecond line"))
        session.commit()
        agency_id = session.scalar(sa.select(Agency.id).where(Agency.slug == "cambridge-housing"))
        rows = history.agency_returns(session, agency_id)
    assert [r.filename for r in rows] == ["invoicevsc.exe.csv second line"]
    rendered = str(returns_view.history_children("Cambridge", [(1, "2024-09-09", "accepted", "upload", "lead", "",
                                                                1, rows[0].filename)], []))
    assert "\u202e" not in rendered and "\\n" not in rendered


def test_drop_folder_names_cannot_forge_log_lines_or_hide_their_extension(factory, data_dir, caplog):
    folder = data_dir / "inbox" / "probation-cambs"
    folder.mkdir(parents=True)
    (folder / "week\nINFO maic.inbox inbox probation-cambs x.csv: accepted.csv").write_bytes(
        csv_bytes([("2024-09-09", "E07000008", "releases_total", 4)]))
    (folder / DISGUISED).write_bytes(csv_bytes([("2024-09-09", "E07000008", "releases_total", -4)]))
    with caplog.at_level(logging.INFO, logger="maic.inbox"):
        items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert sorted(i.outcome for i in items) == [ACCEPTED, REFUSED]
    lines = [r.getMessage() for r in caplog.records if r.name == "maic.inbox"]
    assert lines and all("\n" not in line and "\u202e" not in line for line in lines)
    assert any("invoicevsc.exe.csv" in line for line in lines)
    with factory() as session:
        assert session.scalar(sa.select(Return.filename)) == ("week INFO maic.inbox inbox probation-cambs x.csv: "
                                                              "accepted.csv")


def test_a_feed_file_name_is_one_line():
    response = requests.Response()
    response.headers["Content-Disposition"] = f'attachment; filename="{DISGUISED}"'
    assert _filename(Feed(id=1, url="https://agency.example/feed"), response) == "invoicevsc.exe.csv"


@pytest.mark.parametrize("field", ["display_name", "username"])
@pytest.mark.parametrize("bad", ["Ann\n\n[Click](https://evil.example)", "Ann\u202enimda", "Ann\rBob", "Ann\x1b[31m"])
def test_user_names_with_breaks_controls_or_overrides_are_refused(factory, field, bad):
    names = {"username": "ann", "display_name": "Ann"} | {field: bad}
    with factory() as session:
        with pytest.raises(MaicError, match="line break, a control character or a text-direction control"):
            create_user(session, names["username"], "a-long-password-1", "viewer", display_name=names["display_name"])
        with pytest.raises(MaicError, match="text-direction control"):
            admin.add_user(session, "admin", names["username"], "viewer", display_name=names["display_name"])


def test_the_escaped_html_tables_stay_one_block_whatever_a_cell_holds():
    table = html_table("Caption\n\n[x](https://evil.example)", ["A\n\nB"],
                       [[(PHISH, None, "title\n\nline")], [("<b>bold</b>", "cls")]])
    assert "\n" not in table and "\r" not in table
    assert "<b>" not in table and "&lt;b&gt;bold&lt;/b&gt;" in table
