"""Faults: a process killed in the middle of an ingest leaves nothing and the file is picked up again;
two uploads of the same return at once give one return."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

from maic.db import make_engine, make_session_factory
from maic.inbox import ACCEPTED, scan_inbox
from maic.models import DataVersion, Observation, Return
from maic.returns.ingest import Submission, ingest_return
from maic.weeks import weeks_between
from tests.fixtures import csv_bytes, settings_for

ROOT = Path(__file__).resolve().parents[2]
AREAS = ["E07000008", "E07000009", "E07000010", "E07000011", "E07000012", "E06000031"]
METRICS = ["releases_total", "releases_tranche1", "releases_tranche2", "releases_nfa", "probation_caseload",
           "probation_recalls"]

# Runs in a child process: the real scan, with a pause (and a sign to the test) inside the commit
# transaction, after the observations are inserted and before the transaction ends.
CHILD = """
import sys, time
from pathlib import Path
import maic.returns.ingest as ingest
from maic.db import make_engine, make_session_factory
from maic.inbox import scan_inbox
from tests.fixtures import settings_for

db_url, data_dir, marker = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
def stall(session, now, **_):
    marker.write_text("in the middle")
    time.sleep(120)
ingest.bump_data_version = stall
scan_inbox(make_session_factory(make_engine(db_url)), settings_for(data_dir), data_dir, settle_seconds=0)
"""


def big_return() -> bytes:
    import datetime as dt

    weeks = weeks_between(dt.date(2024, 8, 5), dt.date(2024, 11, 25))
    return csv_bytes([(w.isoformat(), a, m, (i * 7) % 40) for i, (w, a, m) in
                      enumerate((w, a, m) for w in weeks for a in AREAS for m in METRICS)])


def test_sigkill_in_the_middle_of_an_ingest_leaves_nothing_and_the_file_is_picked_up_again(db_url, data_dir, factory,
                                                                                           tmp_path):
    data = big_return()
    with factory() as session:
        version = session.scalar(sa.select(DataVersion.version))
    inbox = data_dir / "inbox" / "probation-cambs"
    inbox.mkdir(parents=True)
    (inbox / "backfill.csv").write_bytes(data)
    marker = tmp_path / "marker"
    child = subprocess.Popen([sys.executable, "-c", CHILD, db_url, str(data_dir), str(marker)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, "the child ended before reaching the middle of the ingest"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with factory() as session:  # the child's uncommitted rows exist only inside its transaction
            pass
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Return)) == 0
        assert session.scalar(sa.select(sa.func.count()).select_from(Observation)) == 0
        assert session.scalar(sa.select(DataVersion.version)) == version
    assert (inbox / "backfill.csv").read_bytes() == data  # still waiting in the inbox
    (item,) = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert item.outcome == ACCEPTED
    with factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Observation)) == data.count(b"\n") - 1


def test_two_uploads_of_the_same_return_at_once_make_one_return(db_url, data_dir):
    data = csv_bytes([("2024-09-09", a, m, 3) for a in AREAS for m in METRICS])
    barrier = threading.Barrier(2)
    receipts, errors = [], []

    def upload():
        engine = make_engine(db_url)
        try:
            barrier.wait()
            receipts.append(ingest_return(make_session_factory(engine),
                                          Submission(data=data, filename="same.csv", agency_slug="probation-cambs",
                                                     actor="test"), settings_for(data_dir)))
        except Exception as exc:  # noqa: BLE001  (collected and asserted on below)
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len({r.return_id for r in receipts}) == 1 and len(receipts) == 2
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(Return)) == 1
        assert conn.scalar(sa.select(sa.func.count()).select_from(Observation)) == len(AREAS) * len(METRICS)
    engine.dispose()
