"""The SCG pack read back as a PDF: the marking and "page X of Y" on every page, the properties, the headline
numbers equal to the dashboard's and the API's for the same as at, and the same text when made again."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from maic import briefing, picture
from maic.briefing.content import pack_query
from maic.models import AuditEvent, BriefingPack, utcnow
from maic.picture import Filters

TZ = "Europe/London"


def now_to_the_minute() -> tuple[dt.datetime, Filters]:
    """An as-at the dashboard can show (a local date and HH:MM) and the same moment in naive UTC."""
    local = utcnow().replace(tzinfo=dt.UTC).astimezone(ZoneInfo(TZ)) - dt.timedelta(minutes=1)
    filters = Filters(as_at_date=local.date(), as_at_time=f"{local:%H:%M}")
    return filters.as_at(TZ), filters


def pages_text(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(content)).pages]


def without_made_line(texts: list[str]) -> list[str]:
    return [re.sub(r"Made .*\n", "", t) for t in texts]


def dashboard_tiles(app, filters: Filters) -> dict[str, int | None]:
    """The headline tiles exactly as the dashboard's callback computes them for these filters."""
    from callbacks import overview

    with app.test_request_context("/dash/"):
        return {t.key: t.value for t in overview.result("headlines", filters).tiles}


def api_cells(app, factory, as_at: dt.datetime) -> dict:
    from maic.sharing.tokens import create_token

    with factory() as session, session.begin():
        _info, secret = create_token(session, "briefing test", created_by="test")
    response = app.test_client().get("/api/v1/shared", query_string={"as_at": as_at.isoformat() + "Z"},
                                     headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {(c["metric"], c["area_code"], c["week"], c["measure"]): c for c in response.get_json()["cells"]}


def test_the_scg_pdf_carries_the_marking_page_numbers_and_the_dashboards_figures(demo_app, demo_factory, chromium):
    as_at, filters = now_to_the_minute()
    settings = briefing.BriefingSettings.from_config(demo_app.config)
    request = briefing.PackRequest(as_at=as_at)
    with demo_factory() as session, session.begin():
        pack = briefing.issue_pack(session, request, "tester", settings=settings)
    assert pack.content.startswith(b"%PDF") and pack.filename.endswith(".pdf")

    reader = PdfReader(io.BytesIO(pack.content))
    texts = pages_text(pack.content)
    assert len(texts) >= 3
    for number, text in enumerate(texts, start=1):
        assert text.count("OFFICIAL-SENSITIVE") >= 2, f"page {number}: the marking is not at top and bottom"
        assert f"page {number} of {len(texts)}" in text, f"page {number} has no 'page X of Y'"
    assert reader.metadata.author == "MAIC common picture"
    assert reader.metadata.title.startswith("SCG briefing pack: Cambridgeshire & Peterborough LRF")
    assert "/StructTreeRoot" in reader.trailer["/Root"], "the PDF is not tagged"
    whole = "\n".join(texts)
    one_line = re.sub(r"\s+", " ", whole)
    assert "Basis of these figures" in whole and "Key points" in whole and "Caveats and method" in whole
    # the basis comes before any figure
    assert whole.index("Basis of these figures") < whole.index("Headline figures")
    assert "14 of 14 returns in for the week beginning Mon 18 Nov 2024" in one_line

    # Every headline number is the dashboard's for the same as at (its callback, its default week) ...
    tiles = dashboard_tiles(demo_app, filters)
    with demo_factory() as session:
        kept = session.get(BriefingPack, pack.id)
        assert kept.document["headline"] == tiles
        assert kept.week == dt.date(2024, 11, 18)
        direct = picture.headlines(session, pack_query(session, request, settings, as_at))
    assert {t.key: t.value for t in direct.tiles} == tiles
    labels = {"released_week": "Released this week", "released_to_date": "Released to date",
              "households_in_ta": "Households in temporary accommodation", "shortfall": "Accommodation shortfall",
              "services_red": "Services at red"}
    for key, label in labels.items():
        assert re.search(rf"{label} {tiles[key]:,}\b", one_line), f"{label}: {tiles[key]} is not in the pack"
    assert f"{tiles['released_week']:,} people were released into Cambridgeshire & Peterborough LRF" in one_line

    # ... and the API's, wherever the API publishes the same figure unprotected.
    cells = api_cells(demo_app, demo_factory, as_at)
    compared = 0
    for key, metric in (("released_week", "releases_total"), ("released_nfa", "releases_nfa"),
                        ("households_in_ta", "households_in_ta")):
        cell = cells.get((metric, "ALL", "2024-11-18", "week"))
        if cell is not None and cell["value"] is not None:
            assert cell["value"] == tiles[key], (key, cell)
            compared += 1
    assert compared >= 1

    # Made again for the same as at: the same text, only the "made" time may differ.
    with demo_factory() as session, session.begin():
        again = briefing.issue_pack(session, request, "tester", settings=settings)
    assert without_made_line(pages_text(again.content)) == without_made_line(texts)

    with demo_factory() as session:
        events = session.query(AuditEvent).filter(AuditEvent.action == "briefing.issue").all()
    assert {e.target for e in events} == {f"pack:{pack.id}", f"pack:{again.id}"}
    assert any(pack.sha256 in e.detail and "audience=scg" in e.detail and as_at.isoformat() in e.detail
               for e in events)
