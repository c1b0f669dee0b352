"""What every fault test ends with: nothing lost or half-written, the same picture as a run without the fault.

The returns sent are a fixed sequence (later ones supersede earlier ones' figures). A run without the fault
ingests them in the same order into a fresh database; then the two databases must hold the same returns
(by their bytes' sha256), each return whole (as many observations as rows, its file archived), and the same
picture as at the moment each k-th return landed: the observations visible then, the headlines and the
weekly release series.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import requests
import sqlalchemy as sa

from maic.db import make_engine, make_session_factory
from maic.models import Area, Metric, Observation, Return, ReturnStatus
from tests.fixtures import PASSWORD, csrf_from, csv_bytes

AREAS = ["E07000008", "E07000009", "E07000010", "E07000011", "E07000012", "E06000031"]
FIRST_WEEK = dt.date(2024, 9, 2)
WEEKS = 4
AGENCY = "probation-cambs"


@dataclass(frozen=True)
class ReturnFile:
    name: str
    data: bytes


def return_files(count: int) -> list[ReturnFile]:
    """count returns, cycling over WEEKS weeks: from the fifth on, each supersedes an earlier one's figures."""
    files = []
    for k in range(count):
        week = FIRST_WEEK + dt.timedelta(weeks=k % WEEKS)
        rows = [(week.isoformat(), area, "releases_total", 10 + 3 * k + i) for i, area in enumerate(AREAS)]
        rows += [(week.isoformat(), area, "releases_nfa", (k + i) % 5) for i, area in enumerate(AREAS)]
        files.append(ReturnFile(f"probation-{k:02d}.csv", csv_bytes(rows)))
    return files


def data_url(file: ReturnFile) -> str:
    return "data:text/csv;base64," + base64.b64encode(file.data).decode()


# --- the Dash requests a browser sends --------------------------------------------------------------------


def callback_body(callback_map: dict, output_prefix: str, inputs: dict[str, object], state: dict[str, object],
                  changed: list[str]) -> dict:
    """The body of _dash-update-component for the callback whose outputs start so, from the app's callback map."""
    key = next(k for k in callback_map if k.startswith(output_prefix))
    spec = callback_map[key]

    def output(part: str) -> dict | list:
        ident, prop = part.rsplit(".", 1)
        if '["ALL"]' in ident:
            return []  # pattern-matched (the pack link): none on the page, as for a role that may not export
        return {"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop.split("@", 1)[0]}

    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    return {"output": key, "outputs": [output(p) for p in parts] if len(parts) > 1 else output(parts[0]),
            "inputs": [{"id": i["id"], "property": i["property"], "value": inputs.get(i["id"])}
                       for i in spec["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": state.get(s["id"])}
                      for s in spec.get("state", [])],
            "changedPropIds": changed}


def commit_body(callback_map: dict, file: ReturnFile) -> dict:
    return callback_body(callback_map, "..returns-preview.children", {"returns-upload": data_url(file),
                                                                     "returns-commit": 1},
                         {"returns-upload": file.name, "returns-agency": AGENCY}, ["returns-commit.n_clicks"])


def headline_body(callback_map: dict) -> dict:
    """A dashboard's change of filters (its address): one request for the headline and every panel."""
    return callback_body(callback_map, "..picture-url.search", {"picture-url": ""}, {}, ["picture-url.search"])


def signed_in(base_url: str, username: str) -> requests.Session:
    """A browser-like session: signed in through the real form, with the CSRF header Dash sends."""
    http = requests.Session()
    token = csrf_from(http.get(base_url + "/login", timeout=30).text)
    response = http.post(base_url + "/login", data={"username": username, "password": PASSWORD,
                                                    "csrf_token": token}, timeout=30)
    assert response.ok, response.status_code
    http.get(base_url + "/dash/", timeout=30)
    http.headers["X-CSRFToken"] = http.cookies.get("_csrf_token", "")
    return http


def receipt_of(response: requests.Response) -> int | None:
    """The committed return's id from the upload callback's answer, or None."""
    if response.status_code != 200:
        return None
    body = response.json()
    committed = body.get("response", {}).get("returns-committed", {}).get("data")
    return committed if isinstance(committed, int) else None


def alert_text(response: requests.Response) -> str:
    """What the page's alert says after a callback (Dash's side update from on_error), or ''."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if "sideUpdate" not in body:  # the app's own error answer (503 while the database is down)
        return str(body.get("message", "")) if isinstance(body, dict) and "response" not in body else ""
    return _text(body["sideUpdate"].get("alert", {}).get("children"))


def _text(node) -> str:
    if node is None:
        return ""
    if isinstance(node, str | int | float):
        return str(node)
    if isinstance(node, list):
        return " ".join(_text(n) for n in node)
    if isinstance(node, dict):
        return _text(node.get("props", {}).get("children"))
    return ""


# --- the comparison ------------------------------------------------------------------------------------------


def clean_run(url: str, data_dir: Path, files: list[ReturnFile]) -> None:
    """The run without the fault: the same files, in the same order, through the same pipeline."""
    from maic.models import ReturnSource
    from maic.returns.ingest import Submission, ingest_return
    from tests.fixtures import settings_for

    engine = make_engine(url)
    try:
        factory = make_session_factory(engine)
        for file in files:
            ingest_return(factory, Submission(data=file.data, filename=file.name, agency_slug=AGENCY,
                                              source=ReturnSource.UPLOAD, actor="clean-run"), settings_for(data_dir))
    finally:
        engine.dispose()


def picture(url: str) -> list[dict]:
    """Per accepted-or-superseded return, in the order they landed: its file and the picture as at then."""
    from maic.picture.core import PictureQuery
    from maic.picture.headlines import headlines, headlines_table
    from maic.picture.releases import release_series, series_table

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            returns = session.execute(sa.select(Return).order_by(Return.received_at, Return.id)).scalars().all()
            out = []
            last_week = FIRST_WEEK + dt.timedelta(weeks=WEEKS - 1)
            for ret in returns:
                at = ret.received_at
                visible = session.execute(
                    sa.select(Metric.key, Area.code, Observation.week, Observation.value)
                    .join(Metric, Metric.id == Observation.metric_id).join(Area, Area.id == Observation.area_id)
                    .where(Observation.recorded_at <= at,
                           sa.or_(Observation.superseded_at.is_(None), Observation.superseded_at > at))
                    .order_by(Metric.key, Area.code, Observation.week)).all()
                query = PictureQuery(week_to=last_week, as_at=at)
                out.append({
                    "sha256": ret.sha256, "filename": ret.filename, "status": ret.status,
                    "visible": [tuple(r) for r in visible],
                    "headlines": headlines_table(headlines(session, query)).astype(str).to_dict("records"),
                    "series": series_table(release_series(session, query)).astype(str).to_dict("records"),
                })
            return out
    finally:
        engine.dispose()


def assert_whole(url: str) -> None:
    """Nothing half-written: each return has its rows as observations and its file in the archive."""
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            counts = {ret_id: n for ret_id, n in session.execute(
                sa.select(Observation.return_id, sa.func.count()).group_by(Observation.return_id))}
            for ret in session.scalars(sa.select(Return)):
                assert counts.get(ret.id, 0) == ret.row_count, (ret.id, ret.filename, counts.get(ret.id))
                assert Path(ret.archive_path).read_bytes() != b"", ret.archive_path
                assert ret.status in (ReturnStatus.ACCEPTED, ReturnStatus.SUPERSEDED)
            orphans = session.scalar(sa.select(sa.func.count()).select_from(Observation).where(
                ~Observation.return_id.in_(sa.select(Return.id))))
            assert orphans == 0
    finally:
        engine.dispose()


def assert_same_as_clean_run(fault_url: str, clean_url: str, files: list[ReturnFile]) -> None:
    assert_whole(fault_url)
    assert_whole(clean_url)
    got, want = picture(fault_url), picture(clean_url)
    import hashlib

    assert [g["sha256"] for g in got] == [hashlib.sha256(f.data).hexdigest() for f in files], (
        "every file sent is one return, in the order sent")
    assert len(got) == len(want) == len(files)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, f"the picture as at return {k} ({g['filename']}) differs from the run without the fault"
