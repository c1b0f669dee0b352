"""python -m benchmarks.load [--quick] [--steps 50,100,...] [--seconds S] [--no-fault]: the load benchmark.

Starts its own stack (benchmarks/load/stack.py), then runs one Locust step per number of viewers, each in its
own process (benchmarks/load/swarm.py), all viewers of a step opening the dashboard at once (the step's
seconds count from when the last has opened), with agency leads
uploading and neighbours' systems pulling the API beside them. Stops stepping once p95 passes 2 s. Then one
more step with a fault: one gunicorn worker killed with SIGKILL half-way through, and what the users saw.
Writes the table to benchmarks/results/load.txt and prints, last, the line
`load: viewers=N p95_ms=... p99_ms=... errors=... visible_p95_s=...` for the largest step that held.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load.report import StepResult, summarise, table
from benchmarks.load.stack import PASSWORD, ROOT, VIEWER_PREFIX, Stack, machine

FULL_STEPS = (50, 100, 200, 400, 800)
QUICK_STEPS = (20, 50)
STOP_P95_MS = 2000
RESULTS = Path(__file__).resolve().parents[1] / "results"


@dataclass
class Plan:
    steps: tuple[int, ...]
    seconds: float
    fault_viewers: int | None
    viewer_think_s: tuple[float, float]
    lead_think_s: tuple[float, float]
    api_think_s: tuple[float, float]
    settle_s: float = 20
    quick: bool = False
    keep: Path | None = None
    notes: list[str] = field(default_factory=list)


def people(viewers: int, lead_accounts: int) -> tuple[int, int]:
    """Agency leads and neighbours' systems beside a step's viewers: a few, growing slowly with the viewers."""
    return min(lead_accounts, max(2, viewers // 50)), max(2, viewers // 50)


def plan_from(args) -> Plan:
    if args.quick:
        return Plan(tuple(args.steps or QUICK_STEPS), args.seconds or 15, args.fault_viewers if args.fault else None,
                    (5, 10), (4, 8), (3, 6), settle_s=10, quick=True)
    return Plan(tuple(args.steps or FULL_STEPS), args.seconds or 60,
                None if args.no_fault else (args.fault_viewers or 100), (15, 40), (10, 20), (10, 30))


def run_step(stack: Stack, plan: Plan, viewers: int, work: Path, fault: bool = False) -> StepResult:
    leads, api_clients = people(viewers, len(stack.lead_logins))
    config = {"host": stack.base_url, "viewers": viewers, "leads": leads, "api_clients": api_clients,
              "duration_s": plan.seconds, "spawn_rate": viewers + leads + api_clients,
              "viewer_prefix": VIEWER_PREFIX, "viewer_accounts": stack.viewers, "password": PASSWORD,
              "lead_logins": stack.lead_logins, "tokens": stack.tokens[1:], "probe_token": stack.tokens[0],
              "data_dir": stack.env["MAIC_DATA_DIR"], "viewer_think_s": plan.viewer_think_s,
              "lead_think_s": plan.lead_think_s, "api_think_s": plan.api_think_s, "settle_s": plan.settle_s,
              "kill_worker_of": stack.gunicorn.pid if fault else None}
    config_file, out_file = work / f"step-{viewers}.json", work / f"step-{viewers}-out.json"
    config_file.write_text(json.dumps(config))
    load_before, server_before, started = os.getloadavg(), stack.server_cpu(), time.time()
    done = subprocess.run([sys.executable, "-m", "benchmarks.load.swarm", str(config_file), str(out_file)],
                          cwd=ROOT, capture_output=True, text=True, timeout=plan.seconds + 300)
    if done.returncode != 0:
        raise RuntimeError(f"the load step of {viewers} viewers failed: {done.stderr.strip()[-1500:]}")
    if "Traceback" in done.stderr:  # a simulated person's error is the benchmark's bug, not the server's: say so
        print(f"load step of {viewers} viewers: the load generator logged errors:\n{done.stderr[-3000:]}",
              file=sys.stderr)
    server_cpu, wall = stack.server_cpu() - server_before, time.time() - started
    raw = json.loads(out_file.read_text())
    if plan.keep:
        plan.keep.mkdir(parents=True, exist_ok=True)
        (plan.keep / out_file.name).write_text(out_file.read_text())
    killed = {**raw.get("fault", {}), "workers_after": len(stack.workers())} if fault else None
    return summarise(raw, viewers=viewers, leads=leads, api_clients=api_clients, server_cpu_s=server_cpu,
                     wall_s=wall, loadavg=(load_before, os.getloadavg()), fault=killed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 20 and 50 viewers, 15 s each, every step run, no fault")
    parser.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], help="viewers per step, e.g. 50,100")
    parser.add_argument("--seconds", type=float,
                        help="use in each step once all have opened (default 60; quick 15), then 20 s (10) without "
                             "new returns while the last reach the viewers")
    parser.add_argument("--no-fault", action="store_true", help="skip the step with a worker killed")
    parser.add_argument("--fault", action="store_true", help="with --quick: run the fault step too")
    parser.add_argument("--fault-viewers", type=int, default=None, help="viewers in the fault step (default 100)")
    parser.add_argument("--output", type=Path, default=RESULTS / "load.txt", help="where the table is written")
    parser.add_argument("--keep", type=Path, default=None, help="keep each step's raw records (JSON) in this folder")
    args = parser.parse_args(argv)
    plan = plan_from(args)
    plan.keep = args.keep
    if plan.quick and plan.fault_viewers is None and args.fault:
        plan.fault_viewers = max(plan.steps)
    host = machine()
    results: list[StepResult] = []
    fault_result = None
    most = max([*plan.steps, plan.fault_viewers or 0])
    with tempfile.TemporaryDirectory(prefix="maic-load-") as tmp:
        work = Path(tmp)
        stack = Stack(work, viewers=most, api_clients=max(2, most // 50))
        try:
            began = time.monotonic()
            stack.start()
            print(f"load: serving on {stack.base_url} (database {stack.database}, Redis db {stack.redis_db}, "
                  f"workers {stack.workers()}) after {time.monotonic() - began:.0f} s of set-up", file=sys.stderr)
            for viewers in plan.steps:
                result = run_step(stack, plan, viewers, work)
                results.append(result)
                print(result.one_line(), file=sys.stderr)
                if result.p95_ms > STOP_P95_MS and not plan.quick:  # a smoke run runs every step
                    plan.notes.append(f"stopped after {viewers} viewers: p95 {result.p95_ms:.0f} ms passed "
                                      f"{STOP_P95_MS} ms")
                    break
                time.sleep(3 if plan.quick else 10)  # the step's sessions drain before the next opens
            if plan.fault_viewers:
                fault_result = run_step(stack, plan, plan.fault_viewers, work, fault=True)
                print(fault_result.one_line(), file=sys.stderr)
        finally:
            problems = stack.server_log_problems()
            stack.stop()
    plan.notes.append(f"Server logs (gunicorn, scheduler): {len(problems)} lines with an error or a worker "
                      f"timeout or kill" + (":" if problems else ""))
    plan.notes += [f"  {line}" for line in problems[:12]]
    text = table(results, fault_result, host, plan.notes, quick=plan.quick, seconds=plan.seconds)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")
    print(text)
    return 0 if results and all(r.requests for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
