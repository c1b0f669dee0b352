"""The load benchmark's figures: percentiles per request type, errors, the generator's and the server's CPU, and
how long a committed return took to reach the viewers' screens; the table and the last line."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field

# Request types, in the table's order; a request's type is its name up to the first ':'.
KINDS = ("sign in", "page", "open", "poll", "live", "filter", "export", "upload preview", "upload commit",
         "returns history", "api")
OPENING = ("page", "open")
SIGN_IN = "sign in"  # before the step, at a steady rate: its own row, outside the step's percentiles
PROBE = "probe"
VISIBLE_MARGIN_S = 5.0  # a viewer leaving this soon after a commit is not counted as one who did not see it


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class Row:
    kind: str
    times: list[float]
    errors: int

    @property
    def count(self) -> int:
        return len(self.times)

    def line(self) -> str:
        t = self.times
        return (f"  {self.kind:<16} {self.count:>7} {percentile(t, 50):>7.0f} {percentile(t, 95):>7.0f} "
                f"{percentile(t, 99):>7.0f} {max(t, default=math.nan):>7.0f} {self.errors:>6}")


@dataclass
class StepResult:
    viewers: int
    leads: int
    api_clients: int
    rows: list[Row]
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    opening_p95_ms: float
    all_open_s: float
    rps: float
    generator_cpu_pct: float
    server_cpu_pct: float
    database_cpu_pct: float
    machine_busy_pct: float
    loadavg: tuple
    visible_s: list[float]
    commits: int
    unseen: int
    error_kinds: Counter = field(default_factory=Counter)
    fault: dict | None = None
    fault_window: dict | None = None
    reconnects: int = 0
    signed_in_s: float = math.nan
    receipts: int = 0
    returns_added: int = -1

    @property
    def visible_p95_s(self) -> float:
        return percentile(self.visible_s, 95)

    def one_line(self) -> str:
        return (f"load step: viewers={self.viewers} requests={self.requests} p95_ms={self.p95_ms:.0f} "
                f"opening_p95_ms={self.opening_p95_ms:.0f} errors={self.errors} "
                f"visible_p95_s={self.visible_p95_s:.1f} generator_cpu={self.generator_cpu_pct:.0f}%")


def summarise(raw: dict, *, viewers: int, leads: int, api_clients: int, server_cpu_s: float, wall_s: float,
              database_cpu_s: float = math.nan, machine_busy: float = math.nan,
              loadavg: tuple, fault: dict | None = None) -> StepResult:
    every = [r for r in raw["records"] if not r[0].startswith(PROBE)]
    records = [r for r in every if r[0].split(":", 1)[0] != SIGN_IN]
    reconnects = sum(1 for r in raw["records"] if r[0] == f"{PROBE}: reconnect")
    by_kind: dict[str, Row] = {}
    kinds: Counter = Counter()
    for name, ms, error, _start in every:
        kind = name.split(":", 1)[0]
        row = by_kind.setdefault(kind, Row(kind, [], 0))
        row.times.append(ms)
        if error:
            row.errors += 1
            kinds[f"{kind}: {error}"] += 1
    times = [r[1] for r in records]
    opening = [t for k in OPENING if k in by_kind for t in by_kind[k].times]
    visible, unseen = visible_times(raw)
    step_wall = (raw["wall_s"] - raw.get("signed_in_s", 0)) or 1
    result = StepResult(
        viewers, leads, api_clients, [by_kind[k] for k in KINDS if k in by_kind] +
        [row for k, row in by_kind.items() if k not in KINDS], len(records), sum(1 for r in every if r[2]),
        percentile(times, 50), percentile(times, 95), percentile(times, 99), percentile(opening, 95),
        raw.get("all_open_s", math.nan), len(records) / step_wall, 100 * raw["generator_cpu_s"] / step_wall, 100 * server_cpu_s / wall_s,
        100 * database_cpu_s / wall_s, 100 * machine_busy, loadavg, visible, len(raw["commits"]), unseen, kinds, fault)
    result.reconnects = reconnects
    result.signed_in_s = raw.get("signed_in_s", math.nan)
    result.receipts = len(set(raw.get("receipts", [])))
    result.returns_added = raw.get("returns_added", -1)
    if fault and "at" in fault:
        result.fault_window = fault_window(records, fault["at"])
        # Requests whose connection the kill closed before any answer: resent by the client, as a browser does.
        result.fault_window["cut_off"] = sum(1 for name, ms, _e, start in raw["records"] if name == f"{PROBE}: reconnect"
                                             and fault["at"] - 1 <= start + ms / 1000 <= fault["at"] + 5)
        if fault.get("back_at"):  # Redis: while it was down, and in the 10 s after it was back
            result.fault_window["down"] = window(records, fault["at"], fault["back_at"])
            result.fault_window["back"] = window(records, fault["back_at"], fault["back_at"] + 10)
    return result


def window(records: list, start: float, end: float) -> dict:
    """The requests sent between two moments: how many, how many failed, p95 and max."""
    inside = [r for r in records if start <= r[3] < end]
    return {"requests": len(inside), "errors": sum(1 for r in inside if r[2]),
            "p95": percentile([r[1] for r in inside], 95), "max": max((r[1] for r in inside), default=math.nan)}


def visible_times(raw: dict) -> tuple[list[float], int]:
    """For each commit and each viewer with the dashboard open from before it until well after: seconds from the
    lead's Commit click until that viewer's panels were redrawn with that data version (or a later one)."""
    seen: dict[int, list[tuple[float, int]]] = {}
    for viewer, version, when in raw["seen"]:
        seen.setdefault(int(viewer), []).append((when, version))
    out, unseen = [], 0
    for clicked, version in raw["commits"]:
        for viewer, (start, stop) in raw["windows"].items():
            if start > clicked or stop < clicked + VISIBLE_MARGIN_S:
                continue
            times = [w for w, v in seen.get(int(viewer), []) if v >= version and w >= clicked]
            if times:
                out.append(min(times) - clicked)
            else:
                unseen += 1
    return out, unseen


def fault_window(records: list, at: float) -> dict:
    """The requests in the 10 s before and after the kill: how slow, how many failed, and what with."""
    before = [r for r in records if at - 10 <= r[3] < at]
    after = [r for r in records if at <= r[3] < at + 10]
    return {"before_p95": percentile([r[1] for r in before], 95), "after_p95": percentile([r[1] for r in after], 95),
            "after_max": max((r[1] for r in after), default=math.nan), "after_errors": sum(1 for r in after if r[2]),
            "after_requests": len(after)}


def _step_block(result: StepResult) -> list[str]:
    load_start, load_end = result.loadavg
    lines = [f"{result.viewers} viewers (+{result.leads} agency leads uploading, +{result.api_clients} neighbours' "
             f"systems): {result.requests} requests, {result.rps:.0f}/s; all p50 {result.p50_ms:.0f} ms, "
             f"p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms (sign-in not included); errors {result.errors}",
             f"  everyone signed in after {result.signed_in_s:.1f} s (before the step); then dashboard opening (page, "
             f"first callbacks) p95 {result.opening_p95_ms:.0f} ms, everyone's page open after {result.all_open_s:.1f} s; "
             f"returns committed {result.commits}, visible to viewers p50 {percentile(result.visible_s, 50):.1f} s "
             f"p95 {result.visible_p95_s:.1f} s over {len(result.visible_s)} viewer-returns"
             + (f" ({result.unseen} not seen by the step's end)" if result.unseen else ""),
             f"  returns with a receipt {result.receipts}, new returns in the database {result.returns_added}"
             + (" (nothing lost)" if result.receipts == result.returns_added else " (NOT THE SAME)"),
             f"  CPU: load generator {result.generator_cpu_pct:.0f}% of a core, server (gunicorn, scheduler, Redis) "
             f"{result.server_cpu_pct:.0f}%, database (this run's PostgreSQL backends) {result.database_cpu_pct:.0f}%; "
             f"whole machine {result.machine_busy_pct:.0f}% busy; load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end; "
             f"{result.reconnects} requests resent on a new connection (the server had closed the idle one), as "
             "browsers do",
             f"  {'request type':<16} {'count':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'errors':>6}"
             "   (sign in: before the step, about 10 a second; not in the step's 'all' percentiles)"]
    lines += [row.line() for row in result.rows]
    for kind, count in result.error_kinds.most_common(8):
        lines.append(f"  error x{count}: {kind}")
    return lines


def held(result: StepResult) -> bool:
    return result.p95_ms <= 2000


def table(results: list[StepResult], faults: list[StepResult], host: dict, notes: list[str], *, quick: bool,
          seconds: float, setup: str) -> str:
    load = host["loadavg"]
    lines = [f"Load benchmark{' (quick)' if quick else ''}: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on "
             f"{host['cores']} cores ({host['cpu']}), {host['ram_gb']} GB RAM; load average "
             f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} before the run (a shared machine)",
             f"{setup}; Locust on the same machine; in each step everyone signs in first (about 10 a second, as "
             f"people arrive), then all open their pages at once, then {seconds:.0f} s of use; times in ms", ""]
    for result in results:
        lines += _step_block(result) + [""]
    knee = next((r for r in results if r.p95_ms > 1000), None)
    lines.append(f"Knee (p95 first above 1 s): {f'{knee.viewers} viewers' if knee else 'not reached'}")
    lines += notes
    for fault in faults:
        lines += [""] + fault_lines(fault) + _step_block(fault)
    best = [r for r in results if held(r)]
    lines.append("")
    if best:
        top = max(best, key=lambda r: r.viewers)
        lines.append(f"load: viewers={top.viewers} p95_ms={top.p95_ms:.0f} p99_ms={top.p99_ms:.0f} "
                     f"errors={top.errors} visible_p95_s={top.visible_p95_s:.1f}")
    else:
        lines.append("load: viewers=0 p95_ms=nan p99_ms=nan errors=nan visible_p95_s=nan")  # no step held
    return "\n".join(lines)


def fault_lines(fault: StepResult) -> list[str]:
    """What users saw during a fault step's fault."""
    info, window = fault.fault or {}, fault.fault_window or {}
    if info.get("kind") == "redis":
        lines = [f"Fault: the app's Redis stopped half-way through a step of {fault.viewers} viewers, started again "
                 f"{info.get('down_s', math.nan):.0f} s later" + ("" if info.get("at") else " (it did not happen)")]
    else:
        lines = [f"Fault: gunicorn worker {info.get('pid')} killed with SIGKILL half-way through a step of "
                 f"{fault.viewers} viewers; {info.get('workers_after')} workers running after the step"
                 + ("" if info.get("at") else " (no worker was killed)")]
    if window:
        lines.append(f"  10 s before: p95 {window['before_p95']:.0f} ms; 10 s after: p95 "
                     f"{window['after_p95']:.0f} ms, max {window['after_max']:.0f} ms, "
                     f"{window['after_errors']} of {window['after_requests']} requests failed")
        if info.get("kind") == "redis":
            down, back = window["down"], window["back"]
            lines.append(f"  while Redis was down: {down['errors']} of {down['requests']} requests failed, p95 "
                         f"{down['p95']:.0f} ms, max {down['max']:.0f} ms; 10 s after it was back: {back['errors']} "
                         f"of {back['requests']} failed, p95 {back['p95']:.0f} ms")
        else:
            lines.append(f"  {window.get('cut_off', 0)} requests under way on the killed worker lost their connection "
                         "and were resent on a new one (as a browser resends on a kept-alive connection closed "
                         "before any answer)")
    return lines
