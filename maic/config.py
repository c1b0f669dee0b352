"""Settings as data: every MAIC_* setting, its default and its help, read from the environment.

Owns the one list of settings; README's table and a test are made from it. Never imports flask or dash.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maic.errors import MaicError


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    kind: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("MAIC_DATA_DIR", "./var", "Folder for the SQLite file, secret key, archive/, inbox/ and quarantine/."),
    Setting(
        "MAIC_DATABASE_URL",
        None,
        "SQLAlchemy URL. Default: an SQLite file maic.db under MAIC_DATA_DIR. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
    Setting(
        "MAIC_SECRET_KEY",
        None,
        "Flask secret key. Default: generated once into MAIC_DATA_DIR/secret_key (never committed).",
    ),
    Setting("MAIC_PROTECTIVE_MARKING", "OFFICIAL-SENSITIVE", "Marking shown on every page and export."),
    Setting("MAIC_REFERENCE_FILE", "",
            "Reference YAML that `maic reference load` reads (default: the bundled SDS40 East of England file).",
            str),
    Setting("MAIC_HOME_LRF", "",
            "Code of the LRF this instance serves. Empty: the LRF the reference file marks `home: true`. When set, "
            "loading a file that makes another LRF home is refused, and the app will not start on a database "
            "whose home LRF is another.", str),
    Setting("MAIC_INCIDENT_START", "2024-08-05", "Monday of the first week of the incident; earlier weeks are refused "
            "(a later incident start in the reference data wins)."),
    Setting(
        "MAIC_RETURN_DEADLINE",
        "TUE 12:00",
        "When a week's return is due, in the week after it (Europe/London): day and time.",
    ),
    Setting("MAIC_TIMEZONE", "Europe/London", "Time zone for deadlines and displayed times."),
    Setting("MAIC_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, "Largest file accepted by any door, in bytes.", int),
    Setting("MAIC_MAX_ROWS", 200_000, "Most data rows accepted in one return.", int),
    Setting("MAIC_CHANGE_WARNING_FACTOR", 3.0, "Warn when a value moves by more than this factor on last week.", float),
    Setting("MAIC_SESSION_MINUTES", 30, "Sign a user out after this many minutes without a request.", int),
    Setting("MAIC_SECURE_COOKIES", False, "Mark cookies Secure: set 1 whenever the app is served over HTTPS.", bool),
    Setting("MAIC_SCAN_SECONDS", 60, "How often the scheduler scans the drop folder.", int),
    Setting("MAIC_INBOX_SETTLE_SECONDS", 2.0,
            "Pause between the two looks at a dropped file; a file whose size changed is left for the next scan.",
            float),
    Setting("MAIC_MAX_UNZIPPED_BYTES", 16 * 1024 * 1024,
            "Most an XLSX may expand to when unzipped (checked before it is opened: zip bombs).", int),
    Setting("MAIC_MAX_CELLS", 1_000_000,
            "Most cells read from one return (every cell counts: values, blanks inside the sheet, formulas).", int),
    Setting("MAIC_FEED_CHECK_SECONDS", 60, "How often the scheduler looks for feeds that are due a pull.", int),
    Setting("MAIC_FEED_TIMEOUT_SECONDS", 20.0, "Connect and read timeout for one feed request.", float),
    Setting("MAIC_FEED_RETRIES", 3, "Retries (with exponential backoff) after a feed's network error or 5xx.", int),
    Setting("MAIC_LIVE_POLL_SECONDS", 3, "How often an open dashboard checks for new data.", int),
    Setting("MAIC_NOTIFY_POLL_SECONDS", 30, "How often an open page checks the signed-in user's unread "
            "notifications (the count beside their name).", int),
    Setting("MAIC_LIVE_RENDER_AHEAD_SECONDS", 0.8, "When new data lands, how long the live check may wait while "
            "the panels open dashboards show are rendered ahead, before telling them anyway (0: at once). Under "
            "1 s: new data is announced within a second.", float),
    Setting("MAIC_SUPPRESSION_THRESHOLD", 5, "Counts from 1 up to this value minus one are shown as '<N' when shared.", int),
    Setting("MAIC_RATELIMIT_STORAGE_URL", "", "Flask-Limiter storage, e.g. redis://127.0.0.1:6379/0. "
            "Default: MAIC_REDIS_URL when set (counts shared by every worker), memory:// otherwise."),
    Setting("MAIC_DEMO_BANNER", True, "Label the screens 'Demo data' (set 0 in production).", bool),
    # issue 6: sharing and security
    Setting("MAIC_SHARED_HISTORY_DAYS", 14, "How far back (days) neighbours may ask for the shared picture as at.", int),
    Setting("MAIC_LOGIN_RATE_LIMIT", "10 per minute;50 per hour",
            "Login attempts allowed per client address (Flask-Limiter syntax).", str),
    Setting("MAIC_LOGIN_SLOWDOWN_SECONDS", 2.0, "How long each sign-in for a name is held once it has had 20 wrong "
            "tries from all addresses in 15 minutes (slowed, never refused).", float),
    # issue 12: a scheduler that cannot silently stop
    Setting("MAIC_SCHEDULER_CHECK_SECONDS", 5.0, "How often the scheduler holding the lock checks, on the database, "
            "that it still holds it, and beats its heartbeat.", float),
    Setting("MAIC_SCHEDULER_STANDBY_SECONDS", 10.0, "How often a standing-by scheduler tries to take the lock (a "
            "killed leader is replaced within this, plus 30 s if it died during a job).", float),
    Setting("MAIC_FEDERATION_SECONDS", 900, "How often the scheduler pulls configured neighbour instances.", int),
    # issue 18: bounded cost and server-side requests
    Setting("MAIC_PANEL_CACHE_BYTES", 256 * 1024 * 1024,
            "Most memory (bytes, estimated) one worker keeps for panel results and answers.", int),
    # issue 12: one cache for all workers
    Setting("MAIC_REDIS_URL", "", "Redis shared by every worker and server (redis://host:6379/0): kept panel "
            "answers, who renders what, rate-limit counts. Empty: each process keeps its own.", str),
    Setting("MAIC_REDIS_PREFIX", "maic", "Prefix of every key this deployment writes in Redis (one per deployment "
            "sharing a Redis).", str),
    Setting("MAIC_REDIS_CACHE_BYTES", 256 * 1024 * 1024,
            "Most bytes of rendered answers the deployment keeps in Redis (the oldest go first).", int),
    Setting("MAIC_REDIS_ANSWER_SECONDS", 3600, "How long an answer is kept in Redis (a new return makes it "
            "unused at once; this bounds how long it stays).", int),
    Setting("MAIC_FETCH_ALLOW_NETWORKS", "",
            "Networks (CIDR, comma-separated) feeds and federation may fetch from although they are the "
            "server's own (loopback, private, link-local...), e.g. 127.0.0.0/8. Default: none.", str),
    # issue 12: backups
    Setting("MAIC_BACKUP_DIR", "", "Folder the scheduler writes backups to (best on another disk). Empty: no "
            "scheduled backups (`maic backup` still works).", str),
    Setting("MAIC_BACKUP_INTERVAL_HOURS", 24.0, "Hours between scheduled backups.", float),
    Setting("MAIC_BACKUP_KEEP", 14, "How many scheduled backups to keep in MAIC_BACKUP_DIR (the newest; at least 1).",
            int),
    Setting("MAIC_PG_BIN_DIR", "", "Folder holding pg_dump and pg_restore (PostgreSQL only). Empty: found on PATH.",
            str),
    # issue 12: production start
    Setting("MAIC_ENV", "development", "'production' (set by make prod, the Procfile and the systemd units): "
            "refuses to start without an explicit MAIC_SECRET_KEY.", str),
    Setting("MAIC_BIND", "127.0.0.1:8000", "Where gunicorn listens (host:port, or unix:/path).", str),
    # 4 x 4 on a 2-core server: a request waiting (a single computation, the database, Redis) holds a thread, and
    # with two processes the others queue behind one interpreter lock each (README "Running in production", Sizing).
    Setting("MAIC_WORKERS", 4, "gunicorn worker processes (each with MAIC_THREADS threads).", int),
    Setting("MAIC_THREADS", 4, "Threads per gunicorn worker (gthread).", int),
    Setting("MAIC_PROXY_HOPS", 0, "Reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host/-Port "
            "are trusted (0: none; 1: one nginx or Apache).", int),
    Setting("MAIC_SCHEDULER_STALE_SECONDS", 300, "/readyz fails when the scheduler's heartbeat is older than this.",
            int),
    Setting("MAIC_METRICS_ALLOW", "", "Addresses (CIDR, comma-separated) that may read /metrics without signing "
            "in, e.g. a Prometheus scraper's 10.0.0.5/32. Admins signed in may always read it.", str),


    # issue 14: notifications
    Setting("MAIC_PUBLIC_URL", "http://127.0.0.1:8050",
            "The address people open the app at: links in emails and webhooks point there.", str),
    Setting("MAIC_SMTP_HOST", "", "SMTP server for email notifications. Empty: notifications are in the app only.",
            str),
    Setting("MAIC_SMTP_PORT", 25, "SMTP port (587 with STARTTLS is usual).", int),
    Setting("MAIC_SMTP_USER", "", "SMTP login name; empty: no login.", str),
    Setting("MAIC_SMTP_PASSWORD", "", "SMTP password (with MAIC_SMTP_USER).", str),
    Setting("MAIC_SMTP_STARTTLS", False, "Upgrade the SMTP connection with STARTTLS before logging in.", bool),
    Setting("MAIC_SMTP_FROM", "maic@localhost", "The From address of notification emails.", str),
    Setting("MAIC_SMTP_TIMEOUT_SECONDS", 20.0, "Connect and send timeout for the SMTP server.", float),
    Setting("MAIC_REMINDER_HOURS", 24, "How long before a return's deadline an agency lead whose return is not in "
            "is reminded.", int),
    Setting("MAIC_NOTIFY_CHECK_SECONDS", 300, "How often the scheduler checks for reminders, late returns, red "
            "services, shortfalls and quarantined files.", int),
    Setting("MAIC_NOTIFY_SEND_SECONDS", 30, "How often the scheduler sends what waits in the outbox.", int),
    Setting("MAIC_NOTIFY_RETRY_SECONDS", 60, "First wait before a failed email or webhook is tried again; it "
            "doubles on each failure, up to an hour.", int),
    Setting("MAIC_NOTIFY_MAX_ATTEMPTS", 20, "Tries before a message is marked failed (an admin can retry it).", int),
    Setting("MAIC_NOTIFY_PULL_FAILURES", 3, "A feed or neighbour pull that fails this many times in a row alerts "
            "the MAIC.", int),
    Setting("MAIC_NOTIFY_WEBHOOKS", "", "Webhooks per audience, e.g. 'maic=https://bridge/x;scg=https://bridge/y' "
            "(audiences: leads, maic, scg, neighbours). JSON POSTs signed with MAIC_NOTIFY_WEBHOOK_SECRET.", str),
    Setting("MAIC_NOTIFY_WEBHOOK_SECRET", "", "Key of the HMAC-SHA256 signature on every webhook POST "
            "(X-MAIC-Signature); webhooks are not sent without one.", str),
)

ENVIRONMENTS = ("development", "production")
# A key shorter than this is guessable enough to forge a session cookie.
MIN_PRODUCTION_KEY_LENGTH = 32

SETTINGS += (
    # issue 13: briefing packs
    Setting("MAIC_CHROMIUM", "/usr/bin/chromium", "Headless Chromium that prints PDF briefing packs "
            "(`make browser-deps` installs Debian's); without it packs are made as HTML only.", str),
    Setting("MAIC_BRIEFING_OFFSET_HOURS", 2.0, "Hours after a week's return deadline at which the scheduler makes "
            "that week's SCG briefing pack (once per week).", float),
    Setting("MAIC_BRIEFING_CHECK_SECONDS", 600, "How often the scheduler checks whether the week's SCG pack is due.",
            int),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


def _coerce(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        return raw.strip().lower() not in {"0", "false", "no", "off", ""}
    if setting.kind in (int, float):
        return setting.kind(raw)
    return raw


def defaults() -> dict[str, Any]:
    return {s.name: s.default for s in SETTINGS}


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    return {s.name: _coerce(s, environ[s.name]) for s in SETTINGS if s.name in environ}


def resolve(config: dict[str, Any]) -> dict[str, Any]:
    """Fill the derived settings (data dir folders, database URL, secret key) in place and return config."""
    data_dir = Path(config["MAIC_DATA_DIR"]).resolve()
    for sub in ("archive", "inbox", "quarantine"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    config["MAIC_DATA_DIR"] = str(data_dir)
    if not config.get("MAIC_DATABASE_URL"):
        config["MAIC_DATABASE_URL"] = f"sqlite:///{data_dir / 'maic.db'}"
    if not config.get("MAIC_SECRET_KEY"):
        config["MAIC_SECRET_KEY"] = _secret_key_in(data_dir)
    return config


def _secret_key_in(data_dir: Path) -> str:
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def check_environment(config: Mapping[str, Any]) -> None:
    """Production never runs on a key it made up itself: each server would make its own (sessions signed by one
    would be refused by the next), and a key kept only in a data folder is lost with it or copied with it."""
    env = config.get("MAIC_ENV") or "development"
    if env not in ENVIRONMENTS:
        raise MaicError(f"MAIC_ENV is '{env}': it must be one of {', '.join(ENVIRONMENTS)}")
    if env != "production":
        return
    key = config.get("MAIC_SECRET_KEY") or ""
    if not key:
        raise MaicError("MAIC_ENV is production but MAIC_SECRET_KEY is not set: set it to a long random value "
                        "(e.g. the output of `python3 -c 'import secrets; print(secrets.token_hex(32))'`), "
                        "the same on every server, kept out of version control")
    if len(key) < MIN_PRODUCTION_KEY_LENGTH:
        raise MaicError(f"MAIC_ENV is production but MAIC_SECRET_KEY has {len(key)} characters: use at least "
                        f"{MIN_PRODUCTION_KEY_LENGTH} random ones")


def metrics_dir(data_dir: str | Path) -> Path:
    """Where gunicorn's workers and the scheduler write their metric counts by default (PROMETHEUS_MULTIPROC_DIR)."""
    return Path(data_dir).resolve() / "metrics"


def load(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then overrides (which win): the one way config is built."""
    config = defaults()
    config.update(from_env())
    if overrides:
        config.update(overrides)
    check_environment(config)
    return resolve(config)
