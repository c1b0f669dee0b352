"""gunicorn's settings for MAIC, all from the environment (MAIC_BIND, MAIC_WORKERS, MAIC_THREADS; maic/config.py).

gunicorn reads this file from the current folder by itself: `gunicorn 'app:create_app()'` (the Procfile, the systemd
unit). Threaded workers (gthread); the app is made in each worker after the fork (no preload), so no database
connection is shared between processes. Each worker finishes Dash's setup in create_app() before it takes a request.
"""

from __future__ import annotations

import os
import sys

from maic import config as maic_config
from maic.errors import MaicError

_settings = maic_config.defaults()
_settings.update(maic_config.from_env())
try:
    # Refused here, once, with one clear line, rather than by every worker with a traceback.
    maic_config.check_environment(_settings)
except MaicError as _exc:
    print(f"error: {_exc.message}", file=sys.stderr)
    sys.exit(1)

bind = [_settings["MAIC_BIND"]]
workers = int(_settings["MAIC_WORKERS"])
threads = int(_settings["MAIC_THREADS"])
worker_class = "gthread"
# A national-scale panel computed cold can take seconds; a worker silent for this long is stuck and replaced.
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
# X-Forwarded-* is believed by the app alone, for as many proxies as MAIC_PROXY_HOPS says (werkzeug's ProxyFix):
# gunicorn's own reading (X-Forwarded-Proto from 127.0.0.1) would let a local client claim HTTPS.
secure_scheme_headers: dict[str, str] = {}
proc_name = "maic"
# gunicorn's control socket is one per user ($HOME/.gunicorn/gunicorn.ctl): two instances on a host would fight over
# it, and signals (HUP, TERM) do all we need.
control_socket_disable = True

# Every worker (and the scheduler, which uses the same default) writes its metric counts into one folder, which
# /metrics adds up. Set before any worker imports prometheus_client, which picks its mode then.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(maic_config.metrics_dir(_settings["MAIC_DATA_DIR"])))


def on_starting(server) -> None:
    from pathlib import Path

    from maic.metrics import forget_dead_processes

    folder = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    removed = forget_dead_processes(folder)
    server.log.info("metrics folder %s (%d files of stopped processes removed)", folder, removed)


def post_worker_init(worker) -> None:
    from maic.web.serving import settle_heap

    settle_heap()  # the app is made: keep the collector off it (maic/web/serving.py)
    # Logged once the app is made and Dash set up: from here on the worker answers every request whole.
    worker.log.info("worker %s ready", worker.pid)


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
