"""Ingesting long CSV returns: whole or nothing, same bytes same return, corrections supersede."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from maic.errors import ValidationFailed
from maic.models import AuditEvent, DataVersion, Incident, Observation, Return
from maic.picture import PictureQuery, values
from tests.fixtures import csv_bytes, ingest, settings_for

W = "2024-09-09"
ROWS = [(W, "E07000008", "releases_total", 12), (W, "E07000008", "releases_nfa", 2),
        (W, "E06000031", "releases_total", 20)]


def counts(factory) -> tuple[int, int]:
    with factory() as session:
        return (session.scalar(sa.select(sa.func.count()).select_from(Return)),
                session.scalar(sa.select(sa.func.count()).select_from(Observation)))


def current(factory, metric="releases_total", area="E07000008", as_at=None) -> list[int]:
    with factory() as session:
        frame = values(session, PictureQuery(as_at=as_at), [metric], dt.date(2024, 9, 9), dt.date(2024, 9, 9))
    return frame[frame["area_code"] == area]["value"].tolist()


def test_a_good_return_is_committed_with_its_file_archived(factory, data_dir):
    with factory() as session:
        version = session.scalar(sa.select(DataVersion.version))  # the reference load moved it already
    receipt = ingest(factory, data_dir, "probation-cambs", ROWS)
    assert (receipt.rows, receipt.weeks, receipt.duplicate) == (3, [dt.date(2024, 9, 9)], False)
    with factory() as session:
        ret = session.get(Return, receipt.return_id)
        assert ret.status == "accepted" and ret.row_count == 3 and ret.sha256 == receipt.sha256
        archived = data_dir / "archive" / "probation-cambs" / f"{receipt.sha256}.csv"
        assert ret.archive_path == str(archived) and archived.read_bytes() == csv_bytes(ROWS)
        assert session.scalar(sa.select(DataVersion.version)) == version + 1
        assert session.scalar(sa.select(AuditEvent.action)) == "return.commit"
    assert current(factory) == [12]


def test_the_same_bytes_twice_are_one_return(factory, data_dir):
    first = ingest(factory, data_dir, "probation-cambs", ROWS)
    second = ingest(factory, data_dir, "probation-cambs", ROWS, filename="renamed.csv")
    assert second.duplicate and second.return_id == first.return_id
    assert counts(factory) == (1, 3)


def test_a_correction_supersedes_what_it_covers_and_keeps_history(factory, data_dir):
    t1 = dt.datetime(2024, 9, 16, 9, 0)
    t2 = dt.datetime(2024, 9, 18, 15, 0)
    first = ingest(factory, data_dir, "probation-cambs", ROWS, received_at=t1)
    second = ingest(factory, data_dir, "probation-cambs", [(W, "E07000008", "releases_total", 10)], received_at=t2)
    assert current(factory) == [10]
    assert current(factory, as_at=dt.datetime(2024, 9, 17, 10, 0)) == [12]  # what the SCG saw on Tuesday
    assert current(factory, as_at=dt.datetime(2024, 9, 16, 8, 0)) == []  # before anything arrived
    assert current(factory, area="E06000031") == [20]  # not covered by the correction: still current
    assert counts(factory) == (2, 4)
    with factory() as session:
        assert session.get(Return, first.return_id).status == "accepted"  # two of its values still stand
        old = session.scalar(sa.select(Observation).where(Observation.value == 12))
        assert old.superseded_at == t2 and old.superseded_by_return_id == second.return_id
    third = ingest(factory, data_dir, "probation-cambs", ROWS[1:], received_at=t2 + dt.timedelta(hours=1))
    with factory() as session:
        assert session.get(Return, first.return_id).status == "superseded"
        assert third.superseded == 1


def test_a_return_cannot_be_dated_before_what_it_replaces(factory, data_dir):
    ingest(factory, data_dir, "probation-cambs", ROWS, received_at=dt.datetime(2024, 9, 18))
    with pytest.raises(Exception, match="history cannot run backwards"):
        ingest(factory, data_dir, "probation-cambs", [(W, "E07000008", "releases_total", 9)],
               received_at=dt.datetime(2024, 9, 17))
    assert counts(factory) == (1, 3)


BAD_ROWS = [
    (W, "E99999999", "releases_total", 1),            # 2: unknown area
    (W, "E07000008", "releases_made_up", 1),          # 3: unknown metric
    (W, "E07000008", "releases_total", -3),           # 4: negative
    (W, "E07000009", "releases_total", 2.5),          # 5: fractional
    ("2024-13-01", "E07000010", "releases_total", 1),  # 6: malformed week
    (W, "E07000011", "households_in_ta", 4),          # 7: another agency kind's metric
    ("2030-01-07", "E07000012", "releases_total", 1),  # 8: future week
    (W, "E07000143", "releases_total", 1),            # 9: area outside the agency's scope
    (W, "E06000031", "releases_total", 1),            # 10
    (W, "E06000031", "releases_total", 2),            # 11: duplicate of row 10
]


def test_a_bad_return_is_refused_whole_with_every_problem_by_row_and_column(factory, data_dir):
    with pytest.raises(ValidationFailed) as caught:
        ingest(factory, data_dir, "probation-cambs", BAD_ROWS)
    problems = [(i.row, i.column) for i in caught.value.issues]
    assert problems == [(2, "area_code"), (3, "metric"), (4, "value"), (5, "value"), (6, "week"),
                        (7, "metric"), (8, "week"), (9, "area_code"), (11, None)]
    report = caught.value.report()
    assert "row 2, column area_code: 'E99999999' is not a known area code" in report
    assert "row 4, column value: '-3' is negative" in report
    assert "row 5, column value: '2.5' is not a whole number" in report
    assert "row 7, column metric: 'households_in_ta' is reported by another kind of agency" in report
    assert "row 8, column week: 2030-01-07 is in the future" in report
    assert "row 9, column area_code: E07000143 is not an area this agency reports for" in report
    assert "row 11: a second value for releases_total in E06000031 for 2024-09-09 (first on row 10)" in report
    assert counts(factory) == (0, 0)
    assert not list((data_dir / "archive").rglob("*.csv"))


def test_a_crash_in_the_middle_leaves_no_partial_return(factory, data_dir, monkeypatch):
    import maic.returns.ingest as ingest_module

    def explode(*_args, **_kwargs):
        raise RuntimeError("power cut")

    ingest(factory, data_dir, "probation-cambs", ROWS, received_at=dt.datetime(2024, 9, 16))
    monkeypatch.setattr(ingest_module, "bump_data_version", explode)
    with pytest.raises(RuntimeError):
        ingest(factory, data_dir, "probation-cambs", [(W, "E07000008", "releases_total", 99)])
    assert counts(factory) == (1, 3)
    assert current(factory) == [12]  # the supersession was rolled back with everything else
    monkeypatch.undo()
    receipt = ingest(factory, data_dir, "probation-cambs", [(W, "E07000008", "releases_total", 99)])
    assert not receipt.duplicate and current(factory) == [99]


def test_weeks_before_the_incident_are_refused(factory, data_dir):
    with pytest.raises(ValidationFailed, match="1 problem"):
        ingest(factory, data_dir, "probation-cambs", [("2024-07-29", "E07000008", "releases_total", 1)])


def test_unknown_agency_is_a_clear_error(factory, data_dir):
    from maic.errors import NotFound

    with pytest.raises(NotFound, match="no agency 'nobody'"):
        ingest(factory, data_dir, "nobody", ROWS)


def test_a_neighbour_cell_may_send_shareable_metrics_for_its_own_areas_only(factory, data_dir):
    ingest(factory, data_dir, "norfolk-maic", [(W, "E07000148", "releases_total", 30)])
    with pytest.raises(ValidationFailed) as caught:
        ingest(factory, data_dir, "norfolk-maic", [(W, "E07000148", "police_incidents", 3),
                                                   (W, "E07000008", "releases_total", 1)])
    assert [(i.row, i.column) for i in caught.value.issues] == [(2, "metric"), (3, "area_code")]


def test_oversize_file_is_refused(factory, data_dir):
    with pytest.raises(ValidationFailed) as caught:
        ingest(factory, data_dir, "probation-cambs", ROWS, max_bytes=20)
    assert "the limit is 20" in caught.value.report()


def test_settings_come_from_config(data_dir):
    from maic.returns.ingest import IngestSettings

    settings = IngestSettings.from_config({"MAIC_DATA_DIR": str(data_dir), "MAIC_MAX_UPLOAD_BYTES": 5,
                                           "MAIC_MAX_ROWS": 7, "MAIC_INCIDENT_START": "2024-08-05"})
    assert settings.max_bytes == 5 and settings.max_rows == 7 and settings.archive_dir == data_dir / "archive"
    assert settings_for(data_dir).rules().today == dt.date(2024, 12, 2)


def test_a_week_before_the_incidents_start_in_the_reference_data_is_refused(factory, data_dir):
    """The demo moves the incident's start later than MAIC_INCIDENT_START; a return before it is refused too."""
    with factory() as session, session.begin():
        session.execute(sa.update(Incident).values(start=dt.date(2024, 9, 2)))
    with pytest.raises(ValidationFailed) as refused:
        ingest(factory, data_dir, "probation-cambs", [("2024-08-26", "E07000008", "releases_total", 4)])
    assert "2024-08-26 is before the incident began (2024-09-02)" in str(refused.value.issues[0])
    assert ingest(factory, data_dir, "probation-cambs", [("2024-09-02", "E07000008", "releases_total", 4)]).rows == 1
