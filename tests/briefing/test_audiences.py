"""The neighbours' pack against the shared API, number by number; the Warn and Inform brief's rounding, threshold,
marking and approval; the web routes' permissions."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from maic import briefing
from maic.briefing.comms import rounded
from maic.models import AuditEvent, BriefingPack, PackStatus, utcnow
from tests.fixtures import login_as

DATE = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4}( \d{2}:\d{2} \(\w+\))?|\b\d{1,2} "
                  r"[A-Z][a-z]{2}\b|\d{4}-\d{2}-\d{2}")


def settings_of(app) -> briefing.BriefingSettings:
    return briefing.BriefingSettings.from_config(app.config)


def api_json(app, factory, **query) -> dict:
    from maic.sharing.tokens import create_token

    with factory() as session, session.begin():
        _info, secret = create_token(session, "neighbour pack test", created_by="test")
    response = app.test_client().get("/api/v1/shared", query_string=query, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_neighbours_pack_has_exactly_the_shared_apis_figures(demo_app, demo_factory):
    as_at = utcnow().replace(microsecond=0) - dt.timedelta(minutes=1)
    settings = settings_of(demo_app)
    with demo_factory() as session, session.begin():
        pack = briefing.issue_pack(session, briefing.PackRequest(audience="neighbour", as_at=as_at, format="html"),
                                   "norfolk.neighbour", settings=settings)
        doc = briefing.Document.from_json(session.get(BriefingPack, pack.id).document)
    assert doc.week == "2024-11-18"
    week_from = "2024-09-30"  # the shared view's eight weeks
    shared = api_json(demo_app, demo_factory, week_from=week_from, week_to=doc.week, as_at=as_at.isoformat() + "Z")
    cells = {(c["metric"], c["area_code"], c["week"], c["measure"]): c for c in shared["cells"]}
    names = {}
    with demo_factory() as session:
        from maic.picture import shared as shared_picture

        names = {a.name: a.code for a in shared_picture.shared_areas(session)}
        metrics = {m.label: m for m in shared_picture.shareable_metrics(session)}
    weeks = [dt.date(2024, 9, 30) + dt.timedelta(weeks=k) for k in range(8)]
    compared = 0
    sections = [s for s in doc.sections if s.key.startswith("m-")]
    assert len(sections) == len(metrics)
    for section in sections:
        metric = next(m for label, m in metrics.items() if section.title.startswith(label + " ("))
        table = section.tables[0]
        measures = [(w.isoformat(), "week") for w in weeks]
        if metric.aggregation == "sum":
            measures.append((weeks[-1].isoformat(), "to_date"))
        measures.append((weeks[-1].isoformat(), "per_10k"))
        assert len(table.columns) == 1 + len(measures)
        for row in table.rows:
            code = "ALL" if row[0][0].startswith("All areas") else names[row[0][0]]
            for (text, _cls), (week, measure) in zip(row[1:], measures, strict=True):
                cell = cells.get((metric.key, code, week, measure))
                expected = "no return" if cell is None else cell["shown"] + (
                    f" (covers {cell['covers']})" if cell["covers"] else "")
                assert text == expected, (metric.key, code, week, measure)
                compared += 1
    # Every figure the shared view shows is in the pack: each week's, and the last week's to date and per 10,000.
    shown_by_view = [c for c in shared["cells"] if c["measure"] == "week" or c["week"] == doc.week]
    assert compared == len(shown_by_view) > 0
    # No count from 1 to 4 in the pack as downloaded: not in a table cell, not in a key point.
    page = pack.content.decode("utf-8").split("<script")[0]
    figures = [html.unescape(c).split(" (covers")[0] for c in re.findall(r"<td[^>]*>([^<]*)</td>", page)]
    figures += [line.rsplit(": ", 1)[1].split(" (")[0].rstrip(".") for line in doc.key_points]
    assert len(figures) > 100
    for shown in figures:
        assert not re.fullmatch(r"[1-4]", shown), f"a count of {shown} in the neighbours' pack"
    assert "&lt;5" in page and "[c]" in page


def test_comms_rounding_rule():
    assert [rounded(n, 5) for n in (0, 1, 4, 5, 7, 8, 12, 13, 434)] == [0, None, None, 5, 5, 10, 10, 15, 435]


def test_the_warn_and_inform_brief_is_public_safe_and_a_draft_until_approved(demo_app, demo_factory):
    settings = settings_of(demo_app)
    with demo_factory() as session, session.begin():
        draft = briefing.issue_pack(session, briefing.PackRequest(audience="comms", format="html"), "analyst",
                                    settings=settings)
    assert draft.status == PackStatus.DRAFT
    body = re.sub(r"<(style|script)[^>]*>.*?</\1>", " ", draft.content.decode("utf-8"), flags=re.S)
    # The incident's name carries its year: not a figure.
    text = html.unescape(re.sub(r"<[^>]+>", " ", body)).replace("(SDS40), 2024", "(SDS40)")
    assert "OFFICIAL" in text and "OFFICIAL-SENSITIVE" not in text
    assert "Ministry of Justice" in text and "DRAFT" in text
    assert not re.search(r"\b(red|amber|green|RAG)\b", text), "a service rating in the brief"
    numbers = [int(n.replace(",", "")) for n in re.findall(r"(?<![\w.:-])(\d[\d,]*)(?![\w.:-])", DATE.sub(" ", text))]
    assert numbers, "no figure in the brief"
    for n in numbers:
        assert n == 0 or (n >= 5 and n % 5 == 0), f"{n} is below the threshold or not rounded to 5"
    with demo_factory() as session:
        lines = briefing.Document.from_json(session.get(BriefingPack, draft.id).document).text_lines()

    client = demo_app.test_client()
    login_as(client, demo_factory, "viewer")
    assert client.get(f"/briefings/{draft.id}/file").status_code == 403  # a draft is not for use

    with demo_factory() as session, session.begin():
        approved = briefing.approve_brief(session, draft.id, "priya.analyst", settings=settings)
    assert approved.status == PackStatus.APPROVED and approved.sha256 != draft.sha256
    with demo_factory() as session:
        row = session.get(BriefingPack, draft.id)
        assert briefing.Document.from_json(row.document).text_lines() == lines  # the text approved is the draft's
        event = session.query(AuditEvent).filter(AuditEvent.action == "briefing.approve").one()
    assert event.actor == "priya.analyst" and approved.sha256 in event.detail
    response = client.get(f"/briefings/{draft.id}/file")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Approved for use by priya.analyst" in body and "DRAFT" not in body
    assert response.headers["X-Content-SHA256"] == approved.sha256
    with demo_factory() as session, session.begin(), pytest.raises(briefing.store.MaicError):
        briefing.approve_brief(session, draft.id, "someone", settings=settings)


def test_packs_from_the_web_follow_the_roles(demo_app, demo_factory):
    client = demo_app.test_client()
    login_as(client, demo_factory, "agency_lead")
    assert client.get("/briefings/pack?format=html").status_code == 403
    client = demo_app.test_client()
    login_as(client, demo_factory, "neighbour")
    assert client.get("/briefings/pack?format=html").status_code == 403
    response = client.get("/briefings/neighbour?format=html&week_from=2024-10-28&week_to=2024-11-18")
    assert response.status_code == 200 and b"Neighbours&#39; pack" in response.data
    client = demo_app.test_client()
    login_as(client, demo_factory, "viewer")
    response = client.get("/briefings/pack?format=html&to=2024-11-11&area=E06000031&scope=neighbours")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Protective-Marking"] == "OFFICIAL-SENSITIVE"
    with demo_factory() as session:
        row = session.query(BriefingPack).order_by(BriefingPack.id.desc()).first()
    assert (row.week, row.area, row.scope, row.audience) == (dt.date(2024, 11, 11), "E06000031", "neighbours", "scg")
    assert client.get("/briefings/pack?audience=comms&format=html").status_code == 403  # viewers do not approve
