"""PostgreSQL restarted while uploads and dashboard requests are in flight, over real HTTP.

While the database is down, requests fail, and an upload that failed says so and can be sent again. Once it
is back, the pool's pre-ping replaces the dead connections: no request started after that fails. At the end
the returns and the picture as at each return are those of a run that had no fault.
"""

from __future__ import annotations

import threading
import time

import requests

from tests.faults import checks
from tests.fixtures import make_user
from tests.live_server import LiveServer
from tests.services import migrated_database

FILES = 10


class Traffic:
    """Requests made in other threads, each recorded with its start, end and outcome."""

    def __init__(self):
        self.lock = threading.Lock()
        self.records: list[tuple[float, float, str, bool, str]] = []  # start, end, kind, ok, what was shown
        self.stop = threading.Event()

    def record(self, start: float, kind: str, ok: bool, shown: str = "") -> None:
        with self.lock:
            self.records.append((start, time.monotonic(), kind, ok, shown))


def uploader(base: str, username: str, callback_map: dict, files, traffic: Traffic, receipts: list) -> None:
    """Sends each file in turn, as a person would: a failed one is sent again until it has a receipt."""
    http = checks.signed_in(base, username)
    try:
        for file in files:
            while True:
                start = time.monotonic()
                try:
                    response = http.post(base + "/dash/_dash-update-component",
                                         json=checks.commit_body(callback_map, file), timeout=60)
                    receipt, shown = checks.receipt_of(response), checks.alert_text(response)
                except requests.RequestException as exc:
                    receipt, shown = None, f"{exc.__class__.__name__}"
                traffic.record(start, "upload", receipt is not None, shown)
                if receipt is not None:
                    receipts.append((file.name, receipt))
                    break
                time.sleep(0.3)
    finally:
        http.close()


def dashboard(base: str, username: str, callback_map: dict, traffic: Traffic) -> None:
    http = checks.signed_in(base, username)
    body = checks.headline_body(callback_map)
    try:
        while not traffic.stop.is_set():
            start = time.monotonic()
            try:
                response = http.post(base + "/dash/_dash-update-component", json=body, timeout=60)
                ok = response.status_code == 200 and not checks.alert_text(response)
                shown = "" if ok else f"{response.status_code} {checks.alert_text(response)}"
            except requests.RequestException as exc:
                ok, shown = False, exc.__class__.__name__
            traffic.record(start, "dashboard", ok, shown)
            time.sleep(0.05)
    finally:
        http.close()


def test_a_database_restart_under_uploads_and_dashboards_loses_nothing(private_pg, tmp_path):
    from app import create_app

    files = checks.return_files(FILES)
    clean_url = migrated_database(private_pg, "clean")
    checks.clean_run(clean_url, tmp_path / "clean-data", files)

    url = migrated_database(private_pg, "faulted")
    data_dir = tmp_path / "data"
    app = create_app({"TESTING": True, "MAIC_DATABASE_URL": url, "MAIC_DATA_DIR": str(data_dir),
                      "MAIC_SECRET_KEY": "fault-test-secret", "MAIC_LOGIN_RATE_LIMIT": "1000 per minute"})
    factory = app.extensions["maic.db"]["factory"]
    analyst, viewer = make_user(factory, "analyst"), make_user(factory, "viewer")
    callback_map = app.extensions["maic.dash"].callback_map
    traffic, receipts = Traffic(), []
    with LiveServer(app) as server:
        threads = [threading.Thread(target=uploader, args=(server.url, analyst, callback_map, files, traffic,
                                                           receipts))]
        threads += [threading.Thread(target=dashboard, args=(server.url, viewer, callback_map, traffic))
                    for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 60
            while len(receipts) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(receipts) >= 3, traffic.records[-5:]
            down_at = time.monotonic()
            private_pg.restart(down_seconds=3)
            back_at = time.monotonic()
            threads[0].join(timeout=120)
            assert not threads[0].is_alive(), "the uploads did not all get through after the restart"
            time.sleep(2)  # dashboards keep asking for a while after the database is back
        finally:
            traffic.stop.set()
            for thread in threads:
                thread.join(timeout=60)

    failed = [r for r in traffic.records if not r[3]]
    first_ok = min((r[1] for r in traffic.records if r[3] and r[0] > down_at), default=None)
    print(f"restart: down {back_at - down_at:.1f}s, {len(failed)} of {len(traffic.records)} requests failed, "
          f"first success {first_ok - back_at if first_ok else float('nan'):.2f}s after it was back")
    assert failed, "the restart should have made some requests fail while the database was down"
    after = [r for r in traffic.records if r[0] > back_at + 1.0]
    assert len(after) > 10 and all(r[3] for r in after), [r for r in after if not r[3]][:5]
    assert all(down_at - 1.0 <= r[1] for r in failed), "nothing failed before the restart began"
    # An upload that failed said so clearly: not saved, send it again (never a traceback or a blank).
    failed_uploads = [r for r in traffic.records if r[2] == "upload" and not r[3]]
    for *_times, _kind, _ok, shown in failed_uploads:
        assert "may not have been saved" in shown or "cannot be reached" in shown, shown
    assert [name for name, _ in receipts] == [f.name for f in files]
    checks.assert_same_as_clean_run(url, clean_url, files)
