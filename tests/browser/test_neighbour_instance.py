"""A second LRF sets up its own instance by README's steps alone, and the two instances federate both ways.

Every step runs the `maic` command as a subprocess, as README's "Setting up an instance for another LRF"
says: Norfolk writes its reference file with `maic reference init`, loads it, creates its admin and sends a
first return; Cambridgeshire & Peterborough runs the bundled reference. Each serves on a free port of
127.0.0.1, creates a token for the other, adds the other with `maic federation add` and pulls over real
HTTP; then a person signed in to each sees the other's published figures on its regional map.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

MAIC = str(Path(sys.executable).with_name("maic"))
WEEK = "2024-09-09"
# Releases in the week by district: all 10 or more, so nothing is suppressed and every figure crosses over.
CAMBS = {"E07000008": 31, "E07000009": 14, "E07000010": 22, "E07000011": 27, "E07000012": 19, "E06000031": 43}
NORFOLK = {"E07000143": 17, "E07000144": 15, "E07000145": 21, "E07000146": 24, "E07000147": 12,
           "E07000148": 38, "E07000149": 16}
PASSWORD = "a long demo passphrase 7"


class Instance:
    """One instance: its own folder, data folder and settings; `maic` run in that folder as a subprocess."""

    def __init__(self, folder: Path, **settings: str):
        folder.mkdir()
        self.folder = folder
        clean = {k: v for k, v in os.environ.items() if not k.startswith("MAIC_")}
        self.env = {**clean, "MAIC_DATA_DIR": str(folder / "data"), **settings}
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.logins: dict[str, str] = {}

    def maic(self, *args: str, **env: str) -> str:
        done = subprocess.run([MAIC, *args], cwd=self.folder, env={**self.env, **env}, capture_output=True,
                              text=True, timeout=180)
        assert done.returncode == 0, f"maic {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def serve(self) -> None:
        self.process = subprocess.Popen([MAIC, "serve", "--host", "127.0.0.1", "--port", "0"], cwd=self.folder,
                                        env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        first_line = self.process.stdout.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)/", first_line)
        assert found, f"maic serve said {first_line!r}"
        self.url = found.group(1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process.stdout.close()

    def send_return(self, agency: str, releases: dict[str, int]) -> str:
        """The lead's path: download the week's CSV template, fill in every value, ingest it."""
        self.maic("template", "--agency", agency, "--week", WEEK, "--format", "csv", "-o", "return.csv")
        rows = list(csv.DictReader(io.StringIO((self.folder / "return.csv").read_text(encoding="utf-8"))))
        for row in rows:
            total = releases[row["area_code"]]
            row["value"] = {"releases_total": total, "releases_tranche1": total - 10, "releases_nfa": 10,
                            "probation_caseload": 300}.get(row["metric"], 0)
        with open(self.folder / "return.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=["week", "area_code", "metric", "value"])
            writer.writeheader()
            writer.writerows(rows)
        return self.maic("ingest", "return.csv", "--agency", agency)

    def create_token_for(self, name: str, lrf: str) -> str:
        return self.maic("tokens", "create", name, "--lrf", lrf).strip().splitlines()[-1]


@pytest.fixture
def cambs_and_norfolk(tmp_path):
    # Cambridgeshire & Peterborough: the bundled reference, as `make run` loads it (without the demo returns).
    # Both instances run on this host: each may fetch the other over loopback only because this allows it
    # (the default refuses the server's own networks: server-side request forgery).
    local = {"MAIC_FETCH_ALLOW_NETWORKS": "127.0.0.0/8"}
    cambs = Instance(tmp_path / "cambs", **local)
    # Norfolk: README's steps, in order.
    norfolk = Instance(tmp_path / "norfolk", MAIC_REFERENCE_FILE=str(tmp_path / "norfolk" / "reference-norfolk.yaml"),
                       MAIC_HOME_LRF="norfolk", MAIC_DEMO_BANNER="0", **local)
    try:
        said = norfolk.maic("reference", "init", "--lrf", "norfolk")
        assert "neighbours: cambs-peterborough, suffolk, lincolnshire" in said
        for instance, admin in ((cambs, "cambs.admin"), (norfolk, "norfolk.admin")):
            instance.maic("db", "upgrade")
            instance.maic("reference", "load")
            instance.maic("users", "create", admin, "--role", "admin", "--password-env", "ADMIN_PASSWORD",
                          ADMIN_PASSWORD=PASSWORD)
            instance.logins[admin] = PASSWORD
        assert "accepted return" in norfolk.send_return("norfolk-probation", NORFOLK)
        assert "accepted return" in cambs.send_return("probation-cambs", CAMBS)
        cambs.serve()
        norfolk.serve()
        yield cambs, norfolk
    finally:
        cambs.stop()
        norfolk.stop()


def _federate(us: Instance, them: Instance, their_lrf: str, our_lrf: str, our_name: str) -> str:
    """They create a token for us; we add their instance with it and pull."""
    token = them.create_token_for(f"{our_name} MAIC", our_lrf)
    us.maic("federation", "add", their_lrf, them.url, "--token-env", "NEIGHBOUR_TOKEN", NEIGHBOUR_TOKEN=token)
    return us.maic("federation", "pull")


def _regional_releases(page, instance: Instance, admin: str) -> dict[str, str]:
    """Signed in, the map of home + neighbours for the week: the map's table, area name -> people released."""
    sign_in(page, instance, admin)
    expect(page).to_have_url(re.compile(r"/dash/$"))
    page.goto(f"{instance.url}/dash/?from={WEEK}&to={WEEK}&scope=neighbours")
    expect(page.locator("#releases-panel .summary")).to_contain_text("people released into", timeout=30_000)
    page.locator("#releases-panel").get_by_text("Table: released by area").click()
    table = page.locator("#releases-panel table.data", has=page.get_by_text("People released by area"))
    expect(table).to_be_visible()
    rows = [row.split("\t") for row in table.locator("tr").all_inner_texts()]
    return {cells[0].strip(): cells[3].strip() for cells in rows if len(cells) > 3}


def test_norfolk_sets_up_its_own_instance_and_the_two_federate_both_ways(cambs_and_norfolk, page):
    cambs, norfolk = cambs_and_norfolk

    # Each instance's API says which LRF it serves: Norfolk's says Norfolk.
    token = norfolk.create_token_for("check", "cambs-peterborough")
    served = requests.get(f"{norfolk.url}/api/v1/areas", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert served.json()["lrf"] == {"code": "norfolk", "name": "Norfolk LRF"}
    assert {a["code"] for a in served.json()["areas"]} == set(NORFOLK)

    pulled = _federate(cambs, norfolk, "norfolk", "cambs-peterborough", "Cambridgeshire & Peterborough")
    assert re.search(r"^norfolk: accepted: return \d+: \d+ figures", pulled), pulled
    pulled = _federate(norfolk, cambs, "cambs-peterborough", "norfolk", "Norfolk")
    assert re.search(r"^cambs-peterborough: accepted: return \d+: \d+ figures", pulled), pulled

    # Norfolk's regional map: its own districts as home, Cambridgeshire & Peterborough's exactly as published.
    at_norfolk = _regional_releases(page, norfolk, "norfolk.admin")
    expect(page.locator("header").first).to_contain_text("Norfolk LRF")
    expect(page.get_by_text("Demo data")).to_have_count(0)
    assert at_norfolk["Norwich"] == "38" and at_norfolk["Great Yarmouth"] == "21"
    assert at_norfolk["Cambridge"] == "31" and at_norfolk["Peterborough"] == "43"
    assert at_norfolk["Huntingdonshire"] == "27"
    path = screenshot(page, "neighbour-instance-norfolk-regional-1366")
    page.locator("#panel-releases").screenshot(path=str(path.with_name("neighbour-instance-norfolk-map-1366.png")))

    # And the other way: Cambridgeshire & Peterborough's regional map shows Norfolk's figures.
    page.context.clear_cookies()
    at_cambs = _regional_releases(page, cambs, "cambs.admin")
    assert at_cambs["Cambridge"] == "31" and at_cambs["Norwich"] == "38" and at_cambs["South Norfolk"] == "16"

    # Pulling again changes nothing. Norfolk's data version moved when it took our figures, so our pull asks
    # for its picture again and finds the same figures; Cambridgeshire's had not moved since Norfolk's pull.
    assert re.match(r"norfolk: duplicate: same figures as return \d+", cambs.maic("federation", "pull"))
    assert norfolk.maic("federation", "pull").startswith("cambs-peterborough: unchanged")
