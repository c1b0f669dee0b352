"""Federation between two real instances on 127.0.0.1 (two databases, two HTTP servers in threads).

"Them" is Norfolk LRF's instance; "us" is Cambridgeshire & Peterborough's. Their shared figures flow into
our store through the ingest pipeline, tagged with their LRF; a correction on their side supersedes ours,
and the history keeps what we held before.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time

import pytest
import sqlalchemy as sa

from maic.db import make_engine, make_session_factory, transaction
from maic.fetch import FetchPolicy
from maic.models import LRF, Return, ReturnSource
from maic.picture import PictureQuery, values
from maic.reference import load_reference, read_reference
from maic.sharing.federation import pull_all
from tests.fixtures import ingest, settings_for
from tests.live_server import LiveServer
from tests.security.conftest import make_app, new_token

# Both instances are on this machine: its loopback network must be allowed, as an admin would set
# MAIC_FETCH_ALLOW_NETWORKS=127.0.0.0/8 for instances on one host (the default refuses the server's own networks).
LOCAL = FetchPolicy.from_config({"MAIC_FETCH_ALLOW_NETWORKS": "127.0.0.0/8"})
WEEKS = [dt.date(2024, 9, 2), dt.date(2024, 9, 9)]
NORFOLK = {"E07000148": [25, 31], "E07000145": [12, 3], "E07000143": [9, 14], "E07000144": [7, 8],
           "E07000146": [11, 10], "E07000147": [6, 2], "E07000149": [10, 9]}


def _instance(tmp_path, template, name: str, home: str | None = None):
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(template, folder / "maic.db")
    url = f"sqlite:///{folder / 'maic.db'}"
    engine = make_engine(url)
    factory = make_session_factory(engine)
    if home:
        data = read_reference()
        for lrf in data["lrfs"]:
            lrf["home"] = lrf["code"] == home
        with transaction(factory) as session:
            load_reference(session, data)
    return folder, url, engine, factory


def _rows(series: dict[str, list[int]]) -> list[tuple]:
    return [(w.isoformat(), area, "releases_total", values_[i]) for area, values_ in series.items()
            for i, w in enumerate(WEEKS)]


def _norfolk_in(factory, as_at=None) -> dict[tuple[str, dt.date], int]:
    codes = tuple(NORFOLK)
    with factory() as session:
        frame = values(session, PictureQuery(area_codes=codes, include_neighbours=True, as_at=as_at),
                       ["releases_total"], WEEKS[0], WEEKS[-1])
    return {(r.area_code, r.week): int(r.value) for r in frame.itertuples()}


@pytest.fixture
def two_instances(tmp_path, sqlite_template):
    them_dir, them_url, them_engine, them = _instance(tmp_path, sqlite_template, "norfolk", home="norfolk")
    us_dir, us_url, us_engine, us = _instance(tmp_path, sqlite_template, "cambs")
    ingest(them, them_dir, "norfolk-maic", _rows(NORFOLK), filename="norfolk-week.csv")
    token = new_token(them, "Cambridgeshire & Peterborough MAIC", lrf_code="cambs-peterborough")
    with LiveServer(make_app(them_url, them_dir)) as them_server, LiveServer(make_app(us_url, us_dir)) as us_server:
        with transaction(us) as session:
            from maic.admin import save_federation_source
            save_federation_source(session, "test", "norfolk", them_server.url, token)
        yield {"them": them, "them_dir": them_dir, "us": us, "us_dir": us_dir, "us_server": us_server}
    them_engine.dispose()
    us_engine.dispose()


def test_figures_flow_from_their_instance_into_ours_with_a_correction(two_instances):
    us, them = two_instances["us"], two_instances["them"]
    settings = settings_for(two_instances["us_dir"])
    first = pull_all(us, settings, fetch=LOCAL)
    assert [(r.lrf_code, r.outcome) for r in first] == [("norfolk", "accepted")], first
    held = _norfolk_in(us)
    # Exact figures came across; their suppressed cells (1 to 4) and the cells withheld to protect them did not.
    assert held[("E07000148", WEEKS[0])] == 25 and held[("E07000148", WEEKS[1])] == 31
    assert ("E07000145", WEEKS[1]) not in held and ("E07000147", WEEKS[1]) not in held
    assert all(not 1 <= v <= 4 for v in held.values())
    assert set(held.values()) <= {v for series in NORFOLK.values() for v in series}
    with us() as session:
        ret = session.scalar(sa.select(Return).order_by(Return.id.desc()))
        assert ret.source == ReturnSource.FEDERATION and ret.agency.slug == "norfolk-maic"
        assert ret.agency.lrf.code == "norfolk"
        assert session.scalar(sa.select(LRF.is_home).where(LRF.code == "norfolk")) is False

    # Nothing changed on their side: the version check stops the pull.
    assert [r.outcome for r in pull_all(us, settings, fetch=LOCAL)] == ["unchanged"]

    # They correct Norwich's second week; the next pull supersedes our figure and keeps the history.
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    time.sleep(1.1)  # their "as at" (which we record) is to the second
    ingest(them, two_instances["them_dir"], "norfolk-maic", [(WEEKS[1].isoformat(), "E07000148", "releases_total", 29)],
           filename="norfolk-correction.csv")
    second = pull_all(us, settings, fetch=LOCAL)
    assert [r.outcome for r in second] == ["accepted"], second
    assert _norfolk_in(us)[("E07000148", WEEKS[1])] == 29
    assert _norfolk_in(us, as_at=before)[("E07000148", WEEKS[1])] == 31


def test_we_never_re_share_a_neighbours_figures(two_instances):
    import requests

    us = two_instances["us"]
    pull_all(us, settings_for(two_instances["us_dir"]), fetch=LOCAL)
    token = new_token(us, "Suffolk LRF", lrf_code="suffolk")
    body = requests.get(f"{two_instances['us_server'].url}/api/v1/shared", timeout=30,
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert body["lrf"]["code"] == "cambs-peterborough"
    assert not {c["area_code"] for c in body["cells"]} & set(NORFOLK)


def test_a_bad_token_is_reported_not_raised(two_instances):
    us = two_instances["us"]
    with transaction(us) as session:
        from maic.models import FederationSource
        session.scalar(sa.select(FederationSource)).token = "maic_wrong"
    results = pull_all(us, settings_for(two_instances["us_dir"]), fetch=LOCAL)
    assert results[0].outcome == "failed" and "401" in results[0].message
    with us() as session:
        from maic.models import FederationSource
        assert session.scalar(sa.select(FederationSource)).last_status.startswith("failed: ")


def test_the_servers_own_networks_are_not_fetched_unless_allowed(two_instances):
    us = two_instances["us"]
    (result,) = pull_all(us, settings_for(two_instances["us_dir"]))  # no allowance: the default
    assert result.outcome == "failed"
    assert "a loopback address on the server's own networks" in result.message
    assert "MAIC_FETCH_ALLOW_NETWORKS" in result.message
    assert _norfolk_in(us) == {}


def test_a_redirect_to_an_address_not_allowed_is_refused(two_instances):
    import http.server
    import threading

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802  (http.server's name)
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:9/api/v1/version")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    us = two_instances["us"]
    try:
        with transaction(us) as session:
            from maic.models import FederationSource
            session.scalar(sa.select(FederationSource)).base_url = f"http://127.0.0.1:{server.server_port}"
        only_this = FetchPolicy.from_config({"MAIC_FETCH_ALLOW_NETWORKS": "127.0.0.1/32"})
        (result,) = pull_all(us, settings_for(two_instances["us_dir"]), fetch=only_this)
    finally:
        server.shutdown()
        server.server_close()
    assert result.outcome == "failed" and "127.0.0.2 is at 127.0.0.2, a loopback address" in result.message
