"""A small hand-computed world for the panel queries: two weeks, a correction, a late and a missing return.

Every expected figure in tests/picture is worked out by hand from these rows (the comments show the sums).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from maic.db import transaction
from maic.models import Area
from tests.fixtures import ingest

W1, W2 = dt.date(2024, 9, 2), dt.date(2024, 9, 9)
T = dt.datetime(2024, 9, 17, 9, 0)  # W2's returns arrive; W2's deadline is Tue 17 Sep 12:00 BST = 11:00 UTC
CORRECTED_AT = T + dt.timedelta(days=1)
CAMBRIDGE, PETERBOROUGH, NORWICH = "E07000008", "E06000031", "E07000148"


def seed(factory, data_dir) -> None:
    w1, w2 = W1.isoformat(), W2.isoformat()
    ingest(factory, data_dir, "probation-cambs", [
        (w1, CAMBRIDGE, "releases_total", 5), (w1, CAMBRIDGE, "releases_nfa", 1),
        (w1, PETERBOROUGH, "releases_total", 7), (w1, PETERBOROUGH, "releases_nfa", 0),
    ], filename="probation-w1.csv", received_at=dt.datetime(2024, 9, 9, 10))
    ingest(factory, data_dir, "probation-cambs", [
        (w2, CAMBRIDGE, "releases_total", 20), (w2, CAMBRIDGE, "releases_tranche1", 12),
        (w2, CAMBRIDGE, "releases_nfa", 4),
        (w2, PETERBOROUGH, "releases_total", 30), (w2, PETERBOROUGH, "releases_tranche1", 20),
        (w2, PETERBOROUGH, "releases_nfa", 6),
    ], filename="probation-w2.csv", received_at=T)
    # The correction: Peterborough's count had three transfers double-counted.
    ingest(factory, data_dir, "probation-cambs", [
        (w2, PETERBOROUGH, "releases_total", 27), (w2, PETERBOROUGH, "releases_tranche1", 17),
    ], filename="=probation-w2-corrected.csv", received_at=CORRECTED_AT)
    ingest(factory, data_dir, "cambridge-housing", [
        (w1, CAMBRIDGE, "households_in_ta", 98), (w1, CAMBRIDGE, "ta_capacity", 104),
        (w1, CAMBRIDGE, "referrals_awaiting_placement", 2),
    ], filename="cambridge-w1.csv", received_at=dt.datetime(2024, 9, 9, 11))
    ingest(factory, data_dir, "cambridge-housing", [  # late: after Tuesday 11:00 UTC
        (w2, CAMBRIDGE, "households_in_ta", 100), (w2, CAMBRIDGE, "ta_capacity", 104),
        (w2, CAMBRIDGE, "referrals_awaiting_placement", 3), (w2, CAMBRIDGE, "rough_sleepers", 30),
    ], filename="cambridge-w2.csv", received_at=dt.datetime(2024, 9, 18, 9))
    ingest(factory, data_dir, "peterborough-housing", [  # no return for W1: missing
        (w2, PETERBOROUGH, "households_in_ta", 50), (w2, PETERBOROUGH, "ta_capacity", 60),
        (w2, PETERBOROUGH, "referrals_awaiting_placement", 1), (w2, PETERBOROUGH, "rough_sleepers", 10),
    ], filename="peterborough-w2.csv", received_at=T)
    ingest(factory, data_dir, "cpft", [
        (w2, CAMBRIDGE, "mh_referrals", 9), (w2, CAMBRIDGE, "mh_capacity", 10),
        (w2, PETERBOROUGH, "mh_referrals", 12), (w2, PETERBOROUGH, "mh_capacity", 10),
    ], filename="cpft-w2.csv", received_at=T)
    ingest(factory, data_dir, "hmpps-prisons-east", [
        (w2, CAMBRIDGE, "releases_notified_1w", 20), (w2, CAMBRIDGE, "releases_notified_2w", 10),
        (w2, CAMBRIDGE, "releases_notified_3w", 5), (w2, CAMBRIDGE, "releases_notified_4w", 5),
        (w2, PETERBOROUGH, "releases_notified_1w", 6), (w2, PETERBOROUGH, "releases_notified_2w", 0),
        (w2, PETERBOROUGH, "releases_notified_3w", 0), (w2, PETERBOROUGH, "releases_notified_4w", 0),
    ], filename="prisons-w2.csv", received_at=T)
    ingest(factory, data_dir, "norfolk-maic", [(w2, NORWICH, "releases_total", 9)],
           filename="norfolk-w2.csv", received_at=T)


def clear_population(factory, code: str) -> None:
    with transaction(factory) as session:
        session.execute(sa.update(Area).where(Area.code == code).values(population=None))
