"""One load step, in a process of its own: Locust's event-driven users, headless, run as a library.

python -m benchmarks.load.swarm CONFIG.json OUT.json. The config names the server, how many of each person
and for how long; the answer holds every request (type, time, outcome), each return's commit and when each
viewer received the figures it brought, and this process's own CPU (the generator's cost, so that it is
known whether the server or the generator was measured).

Everyone signs in first, arriving at `sign_in_rate` a second (people coming into a meeting), and only once all
have signed in do they all open their pages at once; the step's use is timed from when the last page is open.
Users are spread over the servers in `hosts` in turn (more than one server: the same database and Redis).

The people:
- SCG viewers open the dashboard (the page, its layout and dependencies, then the callbacks the
  browser would send: benchmarks/load/dash_client.py), poll live at the page's own interval, and now and
  then change the week, area, scope or as-at, go back to live, or export a panel's CSV.
- Agency leads open the returns page and upload a return through the upload callbacks (preview, then
  commit), as the browser does. A commit that gives no receipt is a failed request.
- Neighbours' systems pull the shared API with a token.

An answer that puts an error or a refusal in the page's alert (anything but the "Filters changed" note) is a
failed request, as is one that shows "Something went wrong".
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import random
import re
import resource
import signal
import sys
import time
from pathlib import Path

import gevent
import gevent.event
from locust import FastHttpUser, events, task
from locust.env import Environment

from benchmarks.load.dash_client import DashPage, update_url
from benchmarks.load.stack import children
from layouts import ids

APP_ERROR = "Something went wrong"
PROBE = "probe"
STOP_TIMEOUT_S = 120
OPENING_TIMEOUT_S = 300  # requests that measure, not load: left out of the tables

CONFIG: dict = {}
RECORDS: list[tuple[str, float, str, float]] = []  # (name, ms, error or "", wall-clock start)
RECEIPTS: list[int] = []  # every return id a lead's commit gave a receipt for
COMMITS: list[tuple[float, int]] = []  # (the lead's Commit click, the data version it brought or a later one)
SEEN: list[tuple[int, int, float]] = []  # (viewer, data version, when its panels were redrawn with it)
WINDOWS: dict[int, list[float]] = {}  # viewer -> [connected from, connected until]
SIGNED: list[float] = []  # when each person had signed in (or failed to), before the step
GO = gevent.event.Event()  # set once everyone has signed in: all open their pages together
OPENED: list[float] = []  # when each person had opened their page (or failed to)
NOT_REFUSALS = {"Filters changed"}  # the page's alert also tells of filters the view had to change: not an error
HOSTS: list[str] = []  # the servers, users spread over them in turn
FAULT: dict = {}  # when a worker was killed, and which
UPLOADS: dict[str, bool] = {"open": True}  # closed for the step's last seconds: its returns reach every screen


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, start_time=None, **_kw):
    RECORDS.append((name, response_time, "" if exception is None else str(exception)[:120], start_time or time.time()))


def _short(output: str) -> str:
    """'..a.children...b.children..' -> 'a+b'; dict ids by their type."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    names = []
    for part in parts:
        ident = part.rpartition(".")[0]
        if ident.startswith("{"):
            ident = "{" + str(json.loads(ident).get("type", "?")) + "}"
        names.append(ident)
    return "+".join(names)


def fetch(user: FastHttpUser, method: str, path: str, name: str, *, problem=None, **kwargs):
    """One request, tried once more when the server had closed the idle kept-alive connection just as it was
    reused (gunicorn closes idle connections after its keep-alive seconds; a browser resends such a request
    by itself). The first try is recorded apart as a reconnect, not as a request or an error. `problem(answer)`
    may name what is wrong with a 200 answer."""
    for attempt in (1, 2):
        answer = user.client.request(method, path, name=name, catch_response=True, **kwargs)
        with answer:
            error = getattr(answer, "error", None)
            if attempt == 1 and answer.status_code == 0 and "connection closed" in str(error).lower():
                answer.request_meta["name"] = f"{PROBE}: reconnect"
                answer.success()
                continue
            found = problem(answer) if problem and answer.status_code in (200, 204) else None
            if found:
                answer.failure(found)
            elif answer.status_code in (200, 204, 302):
                answer.success()
            else:
                answer.failure(f"HTTP {answer.status_code}" + (f" ({str(error)[:80]})" if error else ""))
        return answer
    return answer


def _next_host() -> str | None:
    """The servers in turn, one person after another (as a load balancer spreads people)."""
    if not HOSTS:
        return None
    _next_host.count = getattr(_next_host, "count", -1) + 1
    return HOSTS[_next_host.count % len(HOSTS)]


def _text_of(node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_text_of(n) for n in node)
    if isinstance(node, dict):
        return _text_of((node.get("props") or {}).get("children"))
    return ""


def refusal(answer: dict) -> str | None:
    """The title of the error or refusal a callback's answer put in the page's alert ("Not saved", "Database
    unavailable", "Not allowed"...), or None."""
    updates = {**(answer.get("response") or {}), **(answer.get("sideUpdate") or {})}
    alert = (updates.get(ids.ALERT) or {}).get("children")
    if not alert:
        return None
    inside = (alert.get("props") or {}).get("children") if isinstance(alert, dict) else alert
    first = inside[0] if isinstance(inside, list) and inside else inside
    title = _text_of(first).strip().rstrip(":").strip() or _text_of(alert)[:60]
    return None if title in NOT_REFUSALS else title


class Person(FastHttpUser):
    abstract = True
    concurrency = 6  # a browser's connections to one host

    page: DashPage
    csrf = ""
    update_url = ""

    def __init__(self, environment) -> None:
        host = _next_host()
        if host:
            self.host = host  # read by FastHttpUser's client, made in __init__
        super().__init__(environment)

    def sign_in(self, username: str, password: str) -> bool:
        form = fetch(self, "GET", "/login", "sign in: form")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text or "")
        answer = fetch(self, "POST", "/login", "sign in", allow_redirects=False, data={
            "csrf_token": token.group(1) if token else "", "username": username, "password": password})
        return answer.status_code == 302

    def _cookie(self, name: str) -> str:
        return next((c.value for c in self.client.cookiejar if c.name == name), "")

    def open(self, path: str) -> bool:
        """The page as the browser opens it: its HTML, then Dash's layout and dependencies, then callbacks."""
        html = fetch(self, "GET", path, "page: html")
        layout = fetch(self, "GET", "/dash/_dash-layout", "page: layout")
        dependencies = fetch(self, "GET", "/dash/_dash-dependencies", "page: dependencies")
        if not (html.status_code == layout.status_code == dependencies.status_code == 200):
            return False
        self.csrf = self._cookie("_csrf_token")
        self.update_url = update_url(html.text or "")
        self.page = DashPage(layout.json(), dependencies.json(), pathname=path)
        self.send(self.page.layout_callbacks(self.page.root_ids), "open")
        return True

    def label(self, label: str, output: str) -> str:
        return label

    def problem(self, answer, body: dict, label: str) -> str | None:
        text = answer.text or ""
        if APP_ERROR in text:
            return "the page showed 'Something went wrong'"
        data = None
        if answer.status_code == 200:
            try:
                data = json.loads(text)
            except ValueError:
                return "the answer was not JSON"
        title = refusal(data) if isinstance(data, dict) and ids.ALERT in text else None
        if title:
            return f"refused: {title}"
        response = (data or {}).get("response") or {}
        if label == "upload preview" and f"{ids.RETURNS_COMMIT}.disabled" in body["output"] and \
                response.get(ids.RETURNS_COMMIT, {}).get("disabled") is True:
            return "preview refused the return (Commit stays disabled)"
        if label == "upload commit" and f"{ids.RETURNS_COMMITTED}.data" in body["output"] and \
                not response.get(ids.RETURNS_COMMITTED, {}).get("data"):
            return "commit refused: no receipt"
        return None

    def post(self, body: dict, label: str) -> tuple[int, object]:
        name = f"{self.label(label, body['output'])}: {_short(body['output'])}"
        answer = fetch(self, "POST", self.update_url, name, json=body, headers={"X-CSRFToken": self.csrf},
                       problem=lambda a: self.problem(a, body, label))
        if answer.status_code != 200:
            return answer.status_code, None
        try:
            return 200, json.loads(answer.text or "")
        except ValueError:
            return 200, None

    def send(self, fired, label: str) -> None:
        self.page.run(fired, self.post, label, spawn=gevent.spawn)


class Viewer(Person):
    """An SCG member with the dashboard open."""

    weight = 1
    number = 0

    def on_start(self) -> None:
        Viewer.number += 1
        self.me = Viewer.number
        username = f"{CONFIG['viewer_prefix']}{(self.me - 1) % CONFIG['viewer_accounts']:04d}"
        signed_in = self.sign_in(username, CONFIG["password"])
        SIGNED.append(time.time())
        GO.wait()
        self.ready = signed_in and self.open("/dash/")
        OPENED.append(time.time())
        interval = self.page.value(ids.LIVE_TIMER, "interval") if self.ready else None
        self.poll_s = (interval or 5000) / 1000
        # The unread-notifications count has its own, slower clock (none when the page disables it).
        notify = self.page.value(ids.NOTIFY_TIMER, "interval") if self.ready else None
        self.notify_s = notify / 1000 if notify and not self.page.value(ids.NOTIFY_TIMER, "disabled") else None
        now = time.monotonic()
        self.next_poll = now + self.poll_s
        self.next_notify = now + self.notify_s if self.notify_s else math.inf
        self.next_action = now + random.uniform(*CONFIG["viewer_think_s"])
        self.ticks = 0
        self.notify_ticks = 0
        self.clicks = 0
        WINDOWS[self.me] = [time.time(), time.time()]

    def on_stop(self) -> None:
        if self.me in WINDOWS:
            WINDOWS[self.me][1] = time.time()

    def label(self, label: str, output: str) -> str:
        if label == "poll" and output not in self.timer_outputs:
            return "live"  # what a new data version sets off: the panels redrawn
        return label

    @property
    def timer_outputs(self) -> set[str]:
        """The callbacks the page's timers run themselves (the data-version check, the unread count)."""
        return {c.output for c in self.page.callbacks
                if any(d.ident in (ids.LIVE_TIMER, ids.NOTIFY_TIMER) and d.prop == "n_intervals" for d in c.inputs)}

    def wait_time(self) -> float:
        """Until the page's next live check or the person's next change, whichever is first. Waiting (not inside
        a task) is where a step's end may stop a person; a request under way is always finished."""
        if not self.ready:
            return 3600.0
        return max(0.0, min(self.next_poll, self.next_notify, self.next_action) - time.monotonic())

    @task
    def watch(self) -> None:
        if not self.ready:
            return
        now = time.monotonic()
        if now >= self.next_poll:
            self.next_poll += self.poll_s
            self.poll()
        elif now >= self.next_notify:
            self.next_notify += self.notify_s
            self.notify_ticks += 1
            self.send(self.page.set_props(ids.NOTIFY_TIMER, n_intervals=self.notify_ticks), "poll")
        elif now >= self.next_action:
            self.act()
            self.next_action = time.monotonic() + random.uniform(*CONFIG["viewer_think_s"])
        WINDOWS[self.me][1] = time.time()

    def poll(self) -> None:
        before = self.page.value(ids.DATA_VERSION, "data")
        self.ticks += 1
        self.send(self.page.set_props(ids.LIVE_TIMER, n_intervals=self.ticks), "poll")
        after = self.page.value(ids.DATA_VERSION, "data")
        if before is not None and after is not None and after != before:
            SEEN.append((self.me, int(after), time.time()))

    def _choose(self, component: str, prop: str = "options") -> object | None:
        options = self.page.value(component, prop) or []
        values = [o.get("value") for o in options if isinstance(o, dict) and not o.get("disabled")]
        current = self.page.value(component, "value")
        values = [v for v in values if v != current]
        return random.choice(values) if values else None

    def act(self) -> None:
        """One thing a person does with the picture, chosen as people do: mostly filters, sometimes an export."""
        past = bool(self.page.value(ids.ASAT_DATE, "value"))
        choice = "now" if past and random.random() < 0.6 else random.choice(
            ["week", "week", "area", "area", "scope", "as-at", "export"])
        self.clicks += 1
        if choice == "now":
            fired = self.page.set_props(ids.ASAT_NOW, n_clicks=self.clicks)
        elif choice in ("week", "area", "scope"):
            component = {"week": ids.WEEK_PICKER, "area": ids.AREA_PICKER, "scope": ids.SCOPE_PICKER}[choice]
            if component not in self.page.props:
                return
            value = self._choose(component)
            if value is None:
                return
            fired = self.page.set_props(component, value=value)
        elif choice == "as-at":
            weeks = [v for v in (o.get("value") for o in self.page.value(ids.WEEK_PICKER, "options") or [])
                     if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)]
            if not weeks:
                return
            year, month, day = random.choice(weeks[1:] or weeks).split("-")
            fired = self.page.set_props(ids.ASAT_DATE, value=f"{int(day) + 3:02d}/{month}/{year}"
                                        if int(day) <= 25 else f"{day}/{month}/{year}", n_submit=self.clicks)
        else:
            buttons = self.page.find(id_type=ids.EXPORT_BUTTON)
            if not buttons:
                return
            button = random.choice(buttons)
            fired = self.page.set_props(button, n_clicks=(self.page.value(button, "n_clicks") or 0) + 1)
        self.send(fired, "export" if choice == "export" else "filter")


class Lead(Person):
    """An agency lead sending this week's return through the returns page."""

    fixed_count = 0
    number = 0

    def on_start(self) -> None:
        Lead.number += 1
        logins = CONFIG["lead_logins"]
        username, password = logins[(Lead.number - 1) % len(logins)]
        signed_in = self.sign_in(username, password)
        SIGNED.append(time.time())
        GO.wait()
        self.ready = signed_in and self.open("/dash/returns")
        OPENED.append(time.time())
        self.sent = 0
        # Seeded from the system, never from the lead's number: a step repeating an earlier step's file would
        # send a duplicate, which is refused as already received and changes no figure.
        self.rng = random.Random()

    def wait_time(self) -> float:
        return random.uniform(*CONFIG["lead_think_s"]) if self.ready else 3600.0

    def label(self, label: str, output: str) -> str:
        if output.endswith(f"{ids.RETURNS_HISTORY}.children"):
            return "returns history"
        return label

    def _return_file(self) -> tuple[str, bytes]:
        """The agency's newest demo return with its figures moved a little: a correction, as leads send."""
        slug = self.page.value(ids.RETURNS_AGENCY, "value")
        newest = sorted((Path(CONFIG["data_dir"]) / "demo-returns" / str(slug)).glob("*.csv"))[-1]
        rows = list(csv.reader(io.StringIO(newest.read_text())))
        for row in rows[1:]:
            row[3] = str(max(0, int(row[3]) + self.rng.randint(-2, 3)))
        rows[1][3] = str(int(rows[1][3]) + self.sent + 1)  # never the same bytes twice from one lead
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        return newest.name, out.getvalue().encode()

    @task
    def upload(self) -> None:
        if not self.ready or not UPLOADS["open"]:
            return
        self.sent += 1
        name, data = self._return_file()
        contents = "data:text/csv;base64," + base64.b64encode(data).decode()
        self.send(self.page.set_props(ids.RETURNS_UPLOAD, contents=contents, filename=name,
                                      last_modified=int(time.time() * 1000)), "upload preview")
        if self.page.value(ids.RETURNS_COMMIT, "disabled") is False:
            clicked, before = time.time(), self.page.value(ids.RETURNS_COMMITTED, "data")
            self.send(self.page.set_props(ids.RETURNS_COMMIT, n_clicks=self.sent), "upload commit")
            receipt = self.page.value(ids.RETURNS_COMMITTED, "data")
            if receipt and receipt != before:  # a new return's id: this commit's receipt
                RECEIPTS.append(receipt)
                version = fetch(self, "GET", "/api/v1/version", f"{PROBE}: version",
                                headers={"Authorization": f"Bearer {CONFIG['probe_token']}"})
                if version.status_code == 200:
                    COMMITS.append((clicked, int(version.json()["data_version"])))


class Neighbour(FastHttpUser):
    """A neighbouring LRF's system pulling the shared picture with its token."""

    fixed_count = 0
    number = 0

    def __init__(self, environment) -> None:
        host = _next_host()
        if host:
            self.host = host
        super().__init__(environment)

    def wait_time(self) -> float:
        return random.uniform(*CONFIG["api_think_s"])

    def on_start(self) -> None:
        Neighbour.number += 1
        tokens = CONFIG["tokens"]
        self.headers = {"Authorization": f"Bearer {tokens[(Neighbour.number - 1) % len(tokens)]}"}
        SIGNED.append(time.time())  # a token needs no sign-in; it starts with the others
        GO.wait()
        OPENED.append(time.time())

    @task
    def pull(self) -> None:
        fetch(self, "GET", "/api/v1/version", "api: version", headers=self.headers)
        fetch(self, "GET", "/api/v1/shared", "api: shared", headers=self.headers)
        if random.random() < 0.3:
            fetch(self, "GET", "/api/v1/shared.csv", "api: shared.csv", headers=self.headers)
        if random.random() < 0.1:
            fetch(self, "GET", "/api/v1/areas", "api: areas", headers=self.headers)


def run(config: dict) -> dict:
    CONFIG.update(config)
    HOSTS[:] = config.get("hosts") or [config["host"]]
    Lead.fixed_count, Neighbour.fixed_count = config["leads"], config["api_clients"]
    total = config["viewers"] + config["leads"] + config["api_clients"]
    # At the step's end, a person in the middle of something finishes it (up to STOP_TIMEOUT_S): a request cut
    # off by the generator is not the server's error.
    env = Environment(user_classes=[Viewer, Lead, Neighbour], host=config["host"], events=events,
                      stop_timeout=STOP_TIMEOUT_S)
    runner = env.create_local_runner()
    started, cpu_before = time.time(), _cpu()
    # People arrive at sign_in_rate a second and sign in as they arrive (argon2: ~130 ms of CPU each).
    runner.start(total, spawn_rate=max(1, config.get("sign_in_rate") or total))
    went: list[float] = []

    def stop_after_the_step() -> None:
        """Everyone signs in, then all open their pages at once; the step lasts `duration_s` once everyone has
        opened their page (however long opening took), then `settle_s` more without new returns."""
        deadline = time.monotonic() + OPENING_TIMEOUT_S
        while len(SIGNED) < total and time.monotonic() < deadline:
            gevent.sleep(0.1)
        went.append(time.time())
        GO.set()
        deadline = time.monotonic() + OPENING_TIMEOUT_S
        while len(OPENED) < total and time.monotonic() < deadline:
            gevent.sleep(0.2)
        OPENED.append(time.time())  # the last entry: when the step's steady part began
        if config.get("steady_file"):  # tells the benchmark, which stops Redis half-way through the use
            Path(config["steady_file"]).write_text(str(OPENED[-1]))
        if config.get("kill_worker_of"):  # the fault: half-way through the use, one worker killed with SIGKILL
            gevent.sleep(config["duration_s"] / 2)
            workers = children(config["kill_worker_of"])
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                FAULT.update(at=time.time(), pid=workers[0])
            gevent.sleep(config["duration_s"] / 2)
        else:
            gevent.sleep(config["duration_s"])
        UPLOADS["open"] = False
        gevent.sleep(config["settle_s"])  # the viewers keep watching while the last returns reach them
        runner.quit()

    gevent.spawn(stop_after_the_step)
    runner.greenlet.join()
    wall, cpu = time.time() - started, _cpu() - cpu_before
    went_at = went[0] if went else started
    return {"started": started, "signed_in_s": went_at - started, "opened_at": went_at,
            "all_open_s": OPENED[-1] - went_at, "steady_at": OPENED[-1], "wall_s": wall, "generator_cpu_s": cpu,
            "records": RECORDS, "commits": COMMITS, "receipts": RECEIPTS, "fault": FAULT,
            "seen": SEEN, "windows": WINDOWS, "users": {"viewers": Viewer.number, "leads": Lead.number,
                                                        "api_clients": Neighbour.number}}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> None:
    config = json.loads(Path(argv[0]).read_text())
    Path(argv[1]).write_text(json.dumps(run(config)))


if __name__ == "__main__":
    main(sys.argv[1:])
