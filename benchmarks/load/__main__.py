"""python -m benchmarks.load [--quick] [--steps 50,100,...] [--seconds S] [--fault worker|redis|both|none]
[--servers N] [--workers W] [--threads T] [--national quick|full] [--keep [DIR]]: the load benchmark.

Starts its own stack (benchmarks/load/stack.py), then runs one Locust step per number of viewers, each in its
own process (benchmarks/load/swarm.py). In each step everyone signs in first, about ten a second (people
arriving at a meeting; sign-in is reported on its own, outside the step's percentiles), then all viewers open
the dashboard at once (the step's seconds count from when the last has opened), with two agency leads
uploading and neighbours' systems pulling the API beside them. Stops stepping once p95 passes 2 s. Then one
more step per fault: one gunicorn worker killed with SIGKILL half-way through, and/or the app's Redis stopped
half-way through and started again ~20 s later, and what the users saw.
Writes the table to benchmarks/results/load.txt and prints, last, the line
`load: viewers=N p95_ms=... p99_ms=... errors=... visible_p95_s=...` for the largest step that held.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load.report import StepResult, summarise, table
from benchmarks.load.stack import (
    PASSWORD,
    ROOT,
    THREADS,
    VIEWER_PREFIX,
    WORKERS,
    Stack,
    busy_seconds,
    machine,
    private_redis_available,
)

FULL_STEPS = (50, 100, 200, 400, 800)
QUICK_STEPS = (20, 50)
STOP_P95_MS = 2000
SIGN_IN_RATE = 10  # people a second arriving and signing in before a step (argon2: ~130 ms of CPU each)
LEADS = 2  # agency leads uploading beside every step, whatever its number of viewers
REDIS_DOWN_S = 20
RESULTS = Path(__file__).resolve().parents[1] / "results"
FAULTS = {"worker": ("worker",), "redis": ("redis",), "both": ("worker", "redis"), "none": ()}


@dataclass
class Plan:
    steps: tuple[int, ...]
    seconds: float
    faults: tuple[str, ...]
    fault_viewers: int
    viewer_think_s: tuple[float, float]
    lead_think_s: tuple[float, float]
    api_think_s: tuple[float, float]
    settle_s: float = 20
    quick: bool = False
    keep: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def redis_down_s(self) -> float:
        """About 20 s, but back before the step ends (a quick step is shorter), so that what follows is seen."""
        return min(REDIS_DOWN_S, self.seconds / 2 + self.settle_s / 2)


def people(viewers: int, lead_accounts: int) -> tuple[int, int]:
    """Agency leads (two, as on a Tuesday morning) and neighbours' systems (a few, growing slowly with the
    viewers) beside a step's viewers."""
    return min(lead_accounts, LEADS), max(2, viewers // 50)


def plan_from(args) -> Plan:
    fault = "none" if args.no_fault else args.fault
    if args.quick:
        steps = tuple(args.steps or QUICK_STEPS)
        return Plan(steps, args.seconds or 15, FAULTS[fault or "none"], args.fault_viewers or max(steps),
                    (5, 10), (4, 8), (3, 6), settle_s=10, quick=True)
    return Plan(tuple(args.steps or FULL_STEPS), args.seconds or 60, FAULTS[fault or "both"],
                args.fault_viewers or 100, (15, 40), (20, 40), (10, 30))


def redis_fault(stack: Stack, plan: Plan, steady_file: Path, info: dict, ended: threading.Event) -> None:
    """Half-way through the step's use (timed from when the swarm says the last page is open), the app's Redis is
    stopped, then started again on the same port after plan.redis_down_s."""
    while not ended.is_set():
        try:
            steady = float(steady_file.read_text())
            break
        except (OSError, ValueError):
            time.sleep(0.1)
    else:
        return
    time.sleep(max(0.0, steady + plan.seconds / 2 - time.time()))
    info["at"] = time.time()
    stack.stop_redis()
    try:
        time.sleep(plan.redis_down_s)
    finally:
        stack.start_redis()
        info["back_at"] = time.time()


def run_step(stack: Stack, plan: Plan, viewers: int, work: Path, fault: str | None = None) -> StepResult:
    leads, api_clients = people(viewers, len(stack.lead_logins))
    name = f"step-{viewers}" + (f"-{fault}" if fault else "")
    config_file, out_file, steady_file = work / f"{name}.json", work / f"{name}-out.json", work / f"{name}-steady"
    config = {"host": stack.base_url, "hosts": stack.base_urls, "viewers": viewers, "leads": leads,
              "api_clients": api_clients, "duration_s": plan.seconds, "sign_in_rate": SIGN_IN_RATE,
              "viewer_prefix": VIEWER_PREFIX, "viewer_accounts": stack.viewers, "password": PASSWORD,
              "lead_logins": stack.lead_logins, "tokens": stack.tokens[1:], "probe_token": stack.tokens[0],
              "data_dir": stack.env["MAIC_DATA_DIR"], "viewer_think_s": plan.viewer_think_s,
              "lead_think_s": plan.lead_think_s, "api_think_s": plan.api_think_s, "settle_s": plan.settle_s,
              "kill_worker_of": stack.gunicorn.pid if fault == "worker" else None,
              "steady_file": str(steady_file)}
    config_file.write_text(json.dumps(config))
    redis_info: dict = {"kind": "redis", "down_s": plan.redis_down_s}
    ended = threading.Event()
    outage = threading.Thread(target=redis_fault, args=(stack, plan, steady_file, redis_info, ended), daemon=True) \
        if fault == "redis" else None
    returns_before = stack.returns_in_database()
    load_before, server_before, started = os.getloadavg(), stack.server_cpu(), time.time()
    database_before, machine_before = stack.database_cpu(), busy_seconds()
    if outage:
        outage.start()
    try:
        done = subprocess.run([sys.executable, "-m", "benchmarks.load.swarm", str(config_file), str(out_file)],
                              cwd=ROOT, capture_output=True, text=True, timeout=plan.seconds + 600)
    finally:
        ended.set()
        if outage:
            outage.join()  # Redis is running again before anything else happens
    if done.returncode != 0:
        raise RuntimeError(f"the load step of {viewers} viewers failed: {done.stderr.strip()[-1500:]}")
    if "Traceback" in done.stderr:  # a simulated person's error is the benchmark's bug, not the server's: say so
        print(f"load step of {viewers} viewers: the load generator logged errors:\n{done.stderr[-3000:]}",
              file=sys.stderr)
    server_cpu, wall = stack.server_cpu() - server_before, time.time() - started
    machine_busy, machine_all = (after - before for after, before in zip(busy_seconds(), machine_before, strict=True))
    # Backends alive at the end (the app's pools keep theirs): one that started during the step counts whole.
    database_cpu = sum(seconds - database_before.get(pid, 0.0) for pid, seconds in stack.database_cpu().items())
    raw = json.loads(out_file.read_text())
    raw["returns_added"] = stack.returns_in_database() - returns_before
    if plan.keep:
        (plan.keep / out_file.name).write_text(out_file.read_text())
    if fault == "worker":
        info = {"kind": "worker", **raw.get("fault", {}), "workers_after": len(stack.workers())}
    elif fault == "redis":
        info = redis_info
    else:
        info = None
    return summarise(raw, viewers=viewers, leads=leads, api_clients=api_clients, server_cpu_s=server_cpu,
                     database_cpu_s=database_cpu, machine_busy=machine_busy / machine_all if machine_all else math.nan,
                     wall_s=wall, loadavg=(load_before, os.getloadavg()), fault=info)


def describe(stack: Stack) -> str:
    redis = "a private redis-server" if stack.redis_server else f"Redis database {stack.redis_db} of the machine's"
    data = "demo data"
    if stack.national:
        data = (f"national-scale data ({stack.national}: {stack.national_counts.get('observations', 0):,} "
                "observations) beside the demo data")
    return (f"{stack.servers} gunicorn server{'s' if stack.servers > 1 else ''} x {stack.workers_per_server} gthread "
            f"workers x {stack.threads} threads (users spread over them in turn), on one PostgreSQL database and "
            f"{redis}, {data}, the scheduler running")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 and 50 viewers, 15 s each, every step run, no fault unless --fault")
    parser.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], help="viewers per step, e.g. 50,100")
    parser.add_argument("--seconds", type=float,
                        help="use in each step once all have opened (default 60; quick 15), then 20 s (10) without "
                             "new returns while the last reach the viewers")
    parser.add_argument("--fault", choices=sorted(FAULTS), default=None,
                        help="one more step per fault: worker (a gunicorn worker killed with SIGKILL half-way "
                             "through), redis (the app's Redis stopped half-way through for ~20 s, then started "
                             "again), both (default; quick: none)")
    parser.add_argument("--no-fault", action="store_true", help="the same as --fault none")
    parser.add_argument("--fault-viewers", type=int, default=None,
                        help="viewers in the fault steps (default 100; quick: the largest step)")
    parser.add_argument("--servers", type=int, default=1,
                        help="gunicorn instances on different ports over the same PostgreSQL and Redis, users "
                             "spread over them (default 1)")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"gunicorn workers per server ({WORKERS})")
    parser.add_argument("--threads", type=int, default=THREADS, help=f"threads per worker ({THREADS})")
    parser.add_argument("--national", choices=("quick", "full"), default=None,
                        help="benchmarks/national.py's national-scale data (quick: 80 areas x 52 weeks; full: 300 "
                             "areas x 260 weeks) added beside the demo data")
    parser.add_argument("--output", type=Path, default=RESULTS / "load.txt", help="where the table is written")
    parser.add_argument("--keep", type=Path, nargs="?", const=Path(""), default=None,
                        help="keep the servers' logs (gunicorn, scheduler, Redis) and each step's raw records in "
                             "this folder (default: a new folder under the temporary directory); printed at the end")
    args = parser.parse_args(argv)
    plan = plan_from(args)
    if args.keep is not None:
        plan.keep = Path(tempfile.mkdtemp(prefix="maic-load-kept-")) if str(args.keep) in ("", ".") else args.keep
        plan.keep.mkdir(parents=True, exist_ok=True)
    if "redis" in plan.faults and not private_redis_available():
        parser.error("--fault redis needs redis-server installed (a private Redis is stopped, never the machine's)")
    host = machine()
    results: list[StepResult] = []
    fault_results: list[StepResult] = []
    most = max([*plan.steps, plan.fault_viewers if plan.faults else 0])
    with tempfile.TemporaryDirectory(prefix="maic-load-") as tmp:
        work = Path(tmp)
        stack = Stack(work, viewers=most, api_clients=max(2, most // 50), servers=args.servers,
                      workers_per_server=args.workers, threads=args.threads, national=args.national)
        problems: list[str] = []
        try:
            began = time.monotonic()
            stack.start()
            print(f"load: serving on {', '.join(stack.base_urls)} (database {stack.database}, Redis "
                  f"{stack.redis_url}{' private' if stack.redis_server else ''}, workers {stack.workers()}) after "
                  f"{time.monotonic() - began:.0f} s of set-up", file=sys.stderr)
            for viewers in plan.steps:
                result = run_step(stack, plan, viewers, work)
                results.append(result)
                print(result.one_line(), file=sys.stderr)
                if result.p95_ms > STOP_P95_MS and not plan.quick:  # a smoke run runs every step
                    plan.notes.append(f"stopped after {viewers} viewers: p95 {result.p95_ms:.0f} ms passed "
                                      f"{STOP_P95_MS} ms")
                    break
                time.sleep(3 if plan.quick else 10)  # the step's sessions drain before the next opens
            for fault in plan.faults:
                fault_result = run_step(stack, plan, plan.fault_viewers, work, fault=fault)
                fault_results.append(fault_result)
                print(f"{fault_result.one_line()} fault={fault}", file=sys.stderr)
                time.sleep(3 if plan.quick else 10)
        finally:
            problems = stack.server_log_problems()
            if plan.keep:
                stack.keep_logs(plan.keep)
            stack.stop()
    plan.notes.append(f"Server logs (gunicorn, scheduler): {len(problems)} lines with an error or a worker "
                      f"timeout or kill" + (":" if problems else ""))
    plan.notes += [f"  {line}" for line in problems[:12]]
    text = table(results, fault_results, host, plan.notes, quick=plan.quick, seconds=plan.seconds,
                 setup=describe(stack))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(text)
    if plan.keep:
        print(f"load: server logs and raw records kept in {plan.keep}", file=sys.stderr)
    return 0 if results and all(r.requests for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
