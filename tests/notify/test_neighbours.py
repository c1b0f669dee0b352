"""A neighbour is told only what their shared view may show: shareable metrics, small counts as <5 and the
figures that would reveal them withheld; never a non-shareable metric, a drill-down or the MAIC's alerts."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from maic import notify
from maic.db import transaction
from maic.models import Metric
from maic.notify.checks import CheckSettings, run_checks
from maic.notify.send import deliver_due
from maic.picture.shared import SharedQuery, shared_picture
from maic.reference import first_week
from maic.returns.ingest import Submission, ingest_return
from maic.weeks import monday_of
from tests.fixtures import csv_bytes, settings_for
from tests.notify.conftest import person, send_settings

FIGURE = re.compile(r"^- (?P<label>.+), (?P<where>[^,:]+): (?P<shown>[^(]+?)(?: \(.*\))?$")


def test_a_neighbours_messages_hold_only_shareable_suppressed_figures(factory, data_dir, smtp):
    neighbour = person(factory, "neighbour", "cell@norfolk.example", lrf_code="norfolk")
    person(factory, "analyst", "analyst@maic.example")
    checks = CheckSettings(data_dir=data_dir)
    week = monday_of(dt.date.today()) - dt.timedelta(days=7)
    run_checks(factory, checks)  # before any figure: the check learns there is no shared week yet
    settings = settings_for(data_dir, today=dt.date.today())
    small = {"E07000008": 3, "E07000009": 12, "E07000010": 2, "E07000011": 40, "E07000012": 7, "E06000031": 1}
    ingest_return(factory, Submission(csv_bytes(
        [(week, code, "releases_total", n + 20) for code, n in small.items()]
        + [(week, code, "releases_nfa", n) for code, n in small.items()]
        + [(week, code, "probation_caseload", 300 + n) for code, n in small.items()]),
        "probation.csv", "probation-cambs", actor="test"), settings)
    ingest_return(factory, Submission(csv_bytes(
        [(week, "E07000008", "households_in_ta", 3), (week, "E07000008", "ta_capacity", 2),
         (week, "E07000008", "rough_sleepers", 4), (week, "E07000008", "referrals_awaiting_placement", 1),
         (week, "E07000008", "housing_referrals", 9)]), "housing.csv", "cambridge-housing", actor="test"), settings)
    made = run_checks(factory, checks)
    assert made["shared_update"] == 3  # the neighbour in the app and by email, and the neighbours' webhook row
    with transaction(factory) as session:
        notify.pack_issued(session, 5, "Neighbours' briefing", "/dash/briefings/5", audience="neighbours")
        hidden = set(session.scalars(sa.select(Metric.label).where(Metric.shareable.is_(False))))
        shareable = set(session.scalars(sa.select(Metric.label).where(Metric.shareable.is_(True))))
        view = shared_picture(session, SharedQuery(), threshold=5, history_from=first_week(session, dt.date(2024, 8, 5)),
                              history_days=14)
    assert deliver_due(factory, send_settings(smtp)).failed == 0

    mail = smtp.mailbox.to("cell@norfolk.example")
    assert sorted(m.subject.split(": ", 1)[1].split(":")[0] for m in mail) == [
        "New briefing pack", "New shared figures from Cambridgeshire & Peterborough LRF"]
    update = next(m for m in mail if "shared figures" in m.subject)
    text, html = update.part("plain"), update.part("html")
    with factory() as session:
        in_app = session.scalar(sa.select(notify.outbox.Notification.body).where(
            notify.outbox.Notification.user_id == neighbour.id, notify.outbox.Notification.kind == "shared_update"))
    assert in_app in text.replace("\r\n", "\n")
    for label in hidden:
        assert label not in text and label not in html, f"a non-shareable metric reached a neighbour: {label}"
    figures = [FIGURE.match(line) for line in in_app.splitlines() if line.startswith("- ")]
    assert figures and all(figures), in_app
    shown = {(f["label"], f["where"]): f["shown"] for f in figures}
    assert {label for label, _ in shown} <= shareable
    for (label, where), value in shown.items():
        # Every figure is one the shared view shows: "<5", "[c]" (withheld), or a count of 5 or more.
        assert value in ("<5", "[c]", "no return") or int(value.replace(",", "")) >= 5, (label, where, value)
    assert shown[("People released", "Cambridge")] == "23"
    assert shown[("Released with no fixed abode", "Cambridge")] == "<5"
    assert shown[("Released with no fixed abode", "Peterborough")] == "<5"
    assert "Probation caseload" not in text and ".csv" not in in_app  # no metric of theirs to see, no drill-down
    # The message's figures are the shared view's own, cell for cell.
    names = {a.code: a.name for a in view.areas}
    labels = {m.key: m.label for m in view.metrics}
    for cell in view.cells:
        if cell.week == week and cell.measure == "week" and cell.area_code in names:
            assert shown[(labels[cell.metric], names[cell.area_code])] == cell.shown
    assert "https://maic.lrf.example/dash/shared" in text
    pack = next(m for m in mail if "briefing pack" in m.subject).part("plain")
    assert "Neighbours' briefing" in pack and "https://maic.lrf.example/dash/briefings/5" in pack
    # The MAIC's alerts (the red households, the shortfall) went to the analyst, not to the neighbour.
    assert any("Service pressure" in m.subject for m in smtp.mailbox.to("analyst@maic.example"))
