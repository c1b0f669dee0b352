"""The load benchmark's simulated browser (benchmarks/load/dash_client.py) sends the callbacks Chromium sends.

The same server, the same viewer: Chromium opens the dashboard and changes the as-at date while every callback
request it makes is recorded; the simulated page, built from the app's /_dash-layout and /_dash-dependencies,
does the same over HTTP. Both must have asked for the same callbacks with the same inputs changed, so the load
benchmark's users cost the server what people's browsers cost it.
"""

from __future__ import annotations

import re
import threading

import requests
from playwright.sync_api import expect

from benchmarks.load.dash_client import DashPage, update_url
from layouts import ids
from tests.browser.conftest import sign_in

UPDATE = "/dash/_dash-update-component"
AS_AT = "20/11/2024"


def _calls(bodies: list[dict]) -> dict[str, tuple[int, frozenset]]:
    """Each callback asked for: how many times, and the inputs sent as changed.

    Left out is what the clock and the order of answers decide, in the browser as here: the live checks (and
    whatever else the page's timers run, such as the unread-notifications count), and
    whether the first check's answer (the data version) arrives before or after the panels appear (if after,
    it is one more changed input of theirs, and the week picker's options are asked for again). The
    drill-down's callback is counted once: it is sent for each group of its buttons that appears, and how the
    groups fall depends on which panel answers first."""
    version = f"{ids.DATA_VERSION}.data"
    ticks = {f"{ids.LIVE_TIMER}.n_intervals", f"{ids.NOTIFY_TIMER}.n_intervals"}
    found: dict[str, tuple[int, frozenset]] = {}
    for body in bodies:
        sent_changed = set(body.get("changedPropIds") or ())
        changed = sent_changed - {version}
        if body["output"] == version or ticks & sent_changed or (not changed and version in sent_changed):
            continue  # a live check, or a callback the live timer runs: the clock decides how many
        count, before = found.get(body["output"], (0, frozenset()))
        found[body["output"]] = (count + 1, before | changed)
    return {output: (1 if ids.DRILL_PANEL in output else count, changed) for output, (count, changed) in found.items()}


class Simulated:
    """The load benchmark's viewer, over plain HTTP, signed in as `username`."""

    def __init__(self, server, username: str):
        self.http = requests.Session()
        self.base = server.url
        form = self.http.get(f"{self.base}/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        signed_in = self.http.post(f"{self.base}/login", allow_redirects=False, data={
            "csrf_token": token, "username": username, "password": server.logins[username]})
        assert signed_in.status_code == 302
        page = self.http.get(f"{self.base}/dash/")
        assert page.status_code == 200
        self.url = update_url(page.text)
        self.csrf = self.http.cookies["_csrf_token"]
        self.page = DashPage(self.http.get(f"{self.base}/dash/_dash-layout").json(),
                             self.http.get(f"{self.base}/dash/_dash-dependencies").json(), pathname="/dash/")
        self.bodies: list[dict] = []

    def post(self, body: dict, _label: str):
        self.bodies.append(body)
        answer = self.http.post(self.base + self.url, json=body, headers={"X-CSRFToken": self.csrf})
        assert answer.status_code in (200, 204), (body["output"], answer.status_code, answer.text[:300])
        return answer.status_code, answer.json() if answer.status_code == 200 else None

    def run(self, fired) -> list[dict]:
        start = len(self.bodies)
        # Each request in a thread of its own, answers applied as they arrive: a browser's order of events.
        self.page.run(fired, self.post, "test", spawn=lambda job: threading.Thread(target=job).start())
        return self.bodies[start:]


def test_the_simulated_viewer_sends_the_callbacks_chromium_sends(live_server, page):
    sent: list[dict] = []
    urls: list[str] = []

    def record(request) -> None:
        if UPDATE in request.url:
            urls.append(request.url.removeprefix(live_server.url))
            sent.append(request.post_data_json)

    page.on("request", record)
    sign_in(page, live_server, "viewer")
    expect(page.locator(f"#{ids.HEADLINE_TILES} .tile").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    opened = list(sent)
    page.locator(f"#{ids.ASAT_DATE}").fill(AS_AT)
    before = len(sent)
    page.locator(f"#{ids.ASAT_DATE}").press("Enter")
    expect(page.locator(f"#{ids.ASAT_SHOWING}")).to_contain_text("2024")  # the filters' answer, every panel in it
    page.wait_for_load_state("networkidle")
    changed = sent[before:]

    simulated = Simulated(live_server, "viewer")
    sim_opened = simulated.run(simulated.page.layout_callbacks(simulated.page.root_ids))
    sim_changed = simulated.run(simulated.page.set_props(ids.ASAT_DATE, value=AS_AT, n_submit=1))

    assert _calls(sim_opened) == _calls(opened)
    # The dashboard opens in one answer: the page with its filters and every panel drawn (a dozen callbacks once).
    assert list(_calls(opened)) == [f"{ids.PAGE}.children"]
    # After a change of filters Chromium sometimes sends the drill-down's callback too, sometimes not (both seen
    # on the same test, 8 December): dash-renderer makes a "final call" of a callback with an ALL input when one
    # of its components goes away, and whether it does here depends on the order of events. Its answer is no
    # update (nothing clicked: callbacks/overview.py drill_panel), so it is left out of the comparison.
    drill = f"..{ids.DRILL_PANEL}.children...{ids.DRILL_STATE}.data.."
    assert {k: v for k, v in _calls(sim_changed).items() if k != drill} == {
        k: v for k, v in _calls(changed).items() if k != drill}
    # A change of filters is one request: the filters callback answers with the pack link and every panel.
    assert [(output.split("...")[0], count) for output, (count, _) in _calls(changed).items() if output != drill] == [
        (f"..{ids.PICTURE_URL}.search", 1)]
    assert simulated.page.errors == []
    # The same address with the page's own signed end_id (a new one for every page load).
    assert len(set(urls)) == 1 and "?endId=" in simulated.url
    assert {u.partition("=")[0] for u in urls} == {simulated.url.partition("=")[0]}
    # Every panel was filled, as on the screen.
    for panel in (ids.HEADLINE_TILES, ids.RELEASES_PANEL, ids.SHORTFALL_PANEL, ids.PRESSURE_PANEL,
                  ids.COMPLETENESS_PANEL, ids.FORWARD_PANEL):
        assert simulated.page.value(panel, "children"), panel
