"""Preview benchmark: what one upload preview costs the server, for a normal return and for the pathological
files of benchmarks/hostile_files.py (300k formula cells; 200k bad rows; a workbook expanding to 99.6 MB).

Each file is previewed in its own process (a fresh app on a copy of one migrated SQLite database, signed in
as a housing lead through /login) by POSTing the upload callback as the browser does. Reported: the callback's
time, the process's peak resident memory (ru_maxrss) above what it held before the request, and the size of
the answer. Target: a pathological file costs the same order as a normal return, not a multiple of it.
"""

from __future__ import annotations

import base64
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AGENCY = "cambridge-housing"
LEAD = "bench.lead"
PASSWORD = "bench-password-123"


def _prepare(folder: Path) -> Path:
    from maic.auth import create_user
    from maic.db import make_engine, make_session_factory, transaction
    from maic.migrate import upgrade
    from maic.reference import load_reference, read_reference

    url = f"sqlite:///{folder / 'maic.db'}"
    upgrade(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        load_reference(session, read_reference())
        create_user(session, LEAD, PASSWORD, "agency_lead", agency_slug=AGENCY)
    engine.dispose()
    return folder / "maic.db"


def _normal_return() -> bytes:
    areas = ["E07000008"]
    rows = [f"2024-09-{d:02d},{a},{m},{n}" for d in (2, 9) for a in areas
            for n, m in enumerate(["households_in_ta", "ta_capacity", "referrals_awaiting_placement"])]
    return ("week,area_code,metric,value\n" + "\n".join(rows) + "\n").encode()


def _files() -> list[tuple[str, str, bytes]]:
    from benchmarks import hostile_files as hostile

    return [("normal return (6 figures)", "normal.csv", _normal_return()),
            ("300k formula cells", "formulas.xlsx", hostile.formula_cells_xlsx()),
            ("200k bad rows", "bad-rows.csv", hostile.bad_rows_csv()),
            ("expands to 99.6 MB", "expands.xlsx", hostile.expanding_xlsx())]


def child(database: str, path: str, filename: str) -> dict:
    """In a fresh process: one preview through the real callback. Prints its measures as JSON."""
    from app import create_app
    from layouts import ids

    data_dir = Path(tempfile.mkdtemp(prefix="maic-preview-"))
    shutil.copy(database, data_dir / "maic.db")
    app = create_app({"MAIC_DATA_DIR": str(data_dir), "MAIC_SECRET_KEY": "bench"})
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "username": LEAD, "password": PASSWORD}).status_code == 302
    client.get("/dash/returns")
    output = next(k for k in app.extensions["maic.dash"].callback_map if f"{ids.RETURNS_PREVIEW}.children" in k)
    contents = "data:application/octet-stream;base64," + base64.b64encode(Path(path).read_bytes()).decode()
    outputs = [{"id": key.rpartition(".")[0], "property": key.rpartition(".")[2]}
               for key in output[2:-2].split("...")]
    body = {"output": output, "outputs": outputs, "changedPropIds": [f"{ids.RETURNS_UPLOAD}.contents"],
            "inputs": [{"id": ids.RETURNS_UPLOAD, "property": "contents", "value": contents},
                       {"id": ids.RETURNS_COMMIT, "property": "n_clicks", "value": None},
                       {"id": ids.RETURNS_CANCEL, "property": "n_clicks", "value": None}],
            "state": [{"id": ids.RETURNS_UPLOAD, "property": "filename", "value": filename},
                      {"id": ids.RETURNS_AGENCY, "property": "value", "value": AGENCY}]}
    headers = {"X-CSRFToken": client.get_cookie("_csrf_token").value}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.post("/dash/_dash-update-component", json=body, headers=headers)
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    answer = response.get_data()
    app.extensions["maic.db"]["engine"].dispose()
    shutil.rmtree(data_dir, ignore_errors=True)
    return {"status": response.status_code, "seconds": took, "peak_mb": peak / 1024,
            "grew_mb": (peak - before) / 1024, "answer_bytes": len(answer),
            "refused": b"cannot be committed" in answer or b"alert" in answer and b"Ready to commit" not in answer}


def run(args) -> str:
    with tempfile.TemporaryDirectory(prefix="maic-bench-preview-") as tmp:
        folder = Path(tmp)
        database = _prepare(folder)
        lines = ["Upload preview (one process per file; housing lead; SQLite)", "",
                 f"{'file':28} {'bytes':>11} {'time s':>8} {'peak MB':>8} {'grew MB':>8} {'answer':>11}  result"]
        for label, name, data in _files():
            path = folder / name
            path.write_bytes(data)
            done = subprocess.run([sys.executable, "-m", "benchmarks.preview", "child", str(database), str(path), name],
                                  capture_output=True, text=True, timeout=600, env={**os.environ})
            if done.returncode != 0:
                lines.append(f"{label:28} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            m = json.loads(done.stdout.strip().splitlines()[-1])
            result = "refused" if m["refused"] else "accepted"
            lines.append(f"{label:28} {len(data):>11,} {m['seconds']:>8.2f} {m['peak_mb']:>8.0f} {m['grew_mb']:>8.0f} "
                         f"{m['answer_bytes']:>11,}  {result} (HTTP {m['status']})")
        return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        print(json.dumps(child(*sys.argv[2:5])))
    else:
        print(run(None))
