"""The bad-file corpus (tests/bad_files/manifest.yaml): each file is refused with its message and nothing is
written, through ingest_return and through the drop folder (where each lands in quarantine with a report).
The big ones (oversize, a million rows, a zip bomb) are made here at run time."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from maic.errors import ValidationFailed
from maic.inbox import REFUSED, RETURN_COLUMNS, scan_inbox, withhold_quoted
from maic.models import AuditEvent, Observation, Return
from maic.returns.ingest import Submission, ingest_return
from tests.fixtures import settings_for

CORPUS = Path(__file__).resolve().parents[1] / "bad_files"
MANIFEST = yaml.safe_load((CORPUS / "manifest.yaml").read_text())


def nothing_written(factory, data_dir) -> None:
    with factory() as session:
        for model in (Return, Observation, AuditEvent):
            assert session.scalar(sa.select(sa.func.count()).select_from(model)) == 0, model.__name__
    assert not [p for p in (data_dir / "archive").rglob("*") if p.is_file()]


def refusal(factory, data_dir, name: str, agency: str, data: bytes, **settings) -> str:
    with pytest.raises(ValidationFailed) as caught:
        ingest_return(factory, Submission(data=data, filename=name, agency_slug=agency, actor="test"),
                      settings_for(data_dir, **settings))
    return caught.value.report()


def test_the_corpus_is_big_enough():
    assert len(MANIFEST) >= 40
    assert all((CORPUS / entry["file"]).exists() for entry in MANIFEST)


@pytest.mark.parametrize("entry", MANIFEST, ids=lambda e: e["file"])
def test_each_bad_file_is_refused_with_its_message_and_nothing_is_written(factory, data_dir, entry):
    report = refusal(factory, data_dir, entry["file"], entry["agency"], (CORPUS / entry["file"]).read_bytes())
    assert entry["message"] in report, report
    assert "Traceback" not in report
    nothing_written(factory, data_dir)


def test_every_bad_file_dropped_in_the_inbox_goes_to_quarantine_with_its_report(factory, data_dir):
    for entry in MANIFEST:
        folder = data_dir / "inbox" / entry["agency"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / entry["file"]).write_bytes((CORPUS / entry["file"]).read_bytes())
    items = scan_inbox(factory, settings_for(data_dir), data_dir, settle_seconds=0)
    assert sorted(i.name for i in items) == sorted(e["file"] for e in MANIFEST)
    assert {i.outcome for i in items} == {REFUSED}
    for entry in MANIFEST:
        (moved,) = [i.moved_to for i in items if i.name == entry["file"] and i.agency == entry["agency"]]
        moved = Path(moved)
        assert moved.parent == data_dir / "quarantine" / entry["agency"]
        assert moved.read_bytes() == (CORPUS / entry["file"]).read_bytes()  # kept byte for byte
        # The report says where and what, without repeating the file's content (quoted values withheld).
        expected = re.sub(r"column ([^:]+):", lambda m: m.group(0) if all(
            part.strip() in RETURN_COLUMNS or re.fullmatch(r"[A-Z]{1,3}|\d+", part.strip())
            for part in m.group(1).split(",")) else "a column of the file:", withhold_quoted(entry["message"]))
        assert expected in moved.with_name(moved.name + ".errors.txt").read_text(), entry["file"]
    assert not [p for p in (data_dir / "inbox").rglob("*") if p.is_file()]
    nothing_written(factory, data_dir)


def test_an_oversize_file_is_refused(factory, data_dir, tmp_path):
    big = b"week,area_code,metric,value\n" + b"2024-09-09,E07000008,releases_total,1\n" * 300_000
    assert len(big) > 10 * 1024 * 1024
    report = refusal(factory, data_dir, "big.csv", "probation-cambs", big)
    assert f"the file is {len(big):,} bytes; the limit is 10,485,760" in report
    nothing_written(factory, data_dir)


def test_a_csv_with_a_million_rows_is_refused_at_the_row_limit(factory, data_dir):
    rows = b"".join(b"2024-09-09,E07000008,releases_total,%d\n" % (i % 10) for i in range(1_000_000))
    data = b"week,area_code,metric,value\n" + rows
    report = refusal(factory, data_dir, "million.csv", "probation-cambs", data, max_bytes=100 * 1024 * 1024)
    assert "row 200002: more than 200,000 data rows; split the return" in report
    nothing_written(factory, data_dir)


def test_a_zip_bomb_named_xlsx_is_refused_unopened(factory, data_dir):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"A" * 200_000_000)
    data = out.getvalue()
    assert len(data) < 1_000_000
    report = refusal(factory, data_dir, "figures.xlsx", "probation-cambs", data)
    assert "it was refused unopened, as it may be a zip bomb" in report
    nothing_written(factory, data_dir)


def test_a_ratio_bomb_under_the_total_limit_is_refused_too(factory, data_dir):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 12_000_000)
    report = refusal(factory, data_dir, "figures.xlsx", "probation-cambs", out.getvalue())
    assert "times over; it was refused unopened" in report
