"""The Prometheus metrics every process counts, and the text /metrics answers with.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py before any worker imports this) makes every
worker, and the scheduler given the same folder, write its counts to files there, which `exposition()` adds up.
Without it (`maic serve`, the tests' servers) the counts are this process's own. Labels are bounded sets (kinds,
known callback outputs, route names, job names), never a user's text. Never imports flask or dash.
"""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Seconds: a kept panel answer takes milliseconds, a cold national-scale panel a second or more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "maic_request_seconds", "Time to answer a request, by kind (page, callback, api, export, static, other) and "
    "target (the route, or for a Dash callback its output).", ["kind", "target"], buckets=LATENCY_BUCKETS)
RESPONSES = Counter("maic_responses", "Responses by kind and status code.", ["kind", "status"])
INGESTS = Counter("maic_ingests", "Returns ingested, by door (source) and outcome "
                  "(accepted, duplicate, refused, failed).", ["source", "outcome"])
SCHEDULER_JOB_RUNS = Counter("maic_scheduler_job_runs", "Scheduled job runs by job and outcome (ok, failed).",
                             ["job", "outcome"])
PANEL_CACHE = Counter("maic_panel_cache_lookups", "Panel answers by result: hit or miss in this process; with "
                      "Redis, shared_hit (kept by another process) or computed (here).", ["result"])


def multiprocess_dir() -> Path | None:
    value = os.environ.get(MULTIPROC_ENV)
    return Path(value) if value else None


def exposition() -> tuple[bytes, str]:
    """The metrics text and its content type: every process's counts when they share a folder."""
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_dead_processes(folder: Path) -> int:
    """Remove the count files of processes that no longer run (a previous start's), keeping those of live ones
    (the scheduler, when the web server restarts alone). Returns how many files went."""
    removed = 0
    for path in folder.glob("*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
