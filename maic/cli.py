"""The `maic` command: database, reference data, ingest, demo, users, serve. Builds config like the app."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

import click

from maic import config as maic_config
from maic.db import make_engine, make_session_factory, transaction
from maic.errors import MaicError, ValidationFailed

DEMO_LOGINS = "demo-logins.txt"


class Context:
    def __init__(self) -> None:
        try:
            self.config = maic_config.load()
        except MaicError as exc:
            fail(exc)  # e.g. production without a secret key: one clear line, no traceback
        self._factory = None

    @property
    def factory(self):
        if self._factory is None:
            engine = make_engine(self.config["MAIC_DATABASE_URL"])
            click.get_current_context().call_on_close(engine.dispose)
            self._factory = make_session_factory(engine)
        return self._factory


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def secret_from_env(name: str) -> str:
    """A token read from the environment (never from the command line, where `ps` would show it)."""
    value = os.environ.get(name, "")
    if not value:
        click.echo(f"error: the environment variable {name} is empty", err=True)
        sys.exit(1)
    return value


def fail(exc: MaicError) -> NoReturn:
    """A domain error ends the command with its message and exit status 1; never a traceback."""
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """MAIC common picture: one shared picture of an incident's impact on local services."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Apply every Alembic migration (SQLite or PostgreSQL)."""
    from maic.migrate import upgrade

    upgrade(ctx.config["MAIC_DATABASE_URL"])
    click.echo("database is at the newest schema")


@main.group()
def reference() -> None:
    """Reference data: incident, LRFs, areas, agencies, metrics."""


@reference.command("load")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML file (default: MAIC_REFERENCE_FILE, else the bundled SDS40 East of England reference).")
@pass_ctx
def reference_load(ctx: Context, path: str | None) -> None:
    """Load reference data; loading the same file again changes nothing. A file with a problem loads nothing."""
    from maic.reference import home_code, load_reference, read_reference, reference_path

    source = reference_path(path, ctx.config["MAIC_REFERENCE_FILE"])
    home_lrf = ctx.config["MAIC_HOME_LRF"]
    try:
        data = read_reference(source)
        with transaction(ctx.factory) as session:
            summary = load_reference(session, data, home_lrf=home_lrf)
    except MaicError as exc:
        fail(exc)
    click.echo(f"reference data from {source}: {summary}; home LRF: {home_code(data, home_lrf)}")


@reference.command("init")
@click.option("--lrf", "lrf_code", required=True, help="Code of your LRF (lower case, e.g. norfolk).")
@click.option("--name", default=None, help="Its name (default: as in the source file).")
@click.option("--region", default=None, help="Its region (default: as in the source file).")
@click.option("--areas", default=None,
              help="Its districts' GSS codes, comma-separated (default: as in the source file).")
@click.option("--neighbours", default=None,
              help="Neighbouring LRFs' codes from the source file, comma-separated, or 'none' "
                   "(default: those whose districts border yours).")
@click.option("--from", "source_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Reference file to start from (default: the bundled SDS40 East of England reference).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: reference-<lrf>.yaml in the current folder).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
def reference_init(lrf_code: str, name: str | None, region: str | None, areas: str | None, neighbours: str | None,
                   source_path: str | None, output: str | None, force: bool) -> None:
    """Write a starting reference file that makes your LRF home, for you to edit and then load."""
    from maic.reference import DEFAULT_REFERENCE, read_reference
    from maic.reference_template import draft_reference, render

    def codes(text: str | None) -> list[str] | None:
        if text is None:
            return None
        return [] if text.strip().lower() == "none" else [c.strip() for c in text.split(",") if c.strip()]

    target = Path(output or f"reference-{lrf_code}.yaml")
    if target.exists() and not force:
        click.echo(f"error: {target} exists; choose another --output or add --force", err=True)
        sys.exit(1)
    try:
        data = draft_reference(read_reference(source_path or DEFAULT_REFERENCE), lrf_code, name=name,
                               region=region, area_codes=codes(areas), neighbour_codes=codes(neighbours))
    except MaicError as exc:
        fail(exc)
    target.write_text(render(data, file_name=str(target)), encoding="utf-8")
    home, *others = data["lrfs"]
    click.echo(f"wrote {target}: {home['name']} with {len(home['areas'])} districts "
               f"({', '.join(a['name'] for a in home['areas'])}); "
               f"{sum(a['lrf'] == lrf_code for a in data['agencies'])} agencies; "
               f"neighbours: {', '.join(n['code'] for n in others) or 'none'}")
    click.echo(f"next: edit it, then MAIC_REFERENCE_FILE={target} MAIC_HOME_LRF={lrf_code} maic reference load")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--agency", "agency_slug", required=True, help="The submitting agency's slug.")
@pass_ctx
def ingest(ctx: Context, file: str, agency_slug: str) -> None:
    """Check a return and commit it whole, or refuse it whole with every problem listed."""
    from maic.models import ReturnSource
    from maic.returns.ingest import IngestSettings, Submission, ingest_return

    path = Path(file)
    submission = Submission(data=path.read_bytes(), filename=path.name, agency_slug=agency_slug,
                            source=ReturnSource.CLI, actor=f"cli:{getpass.getuser()}")
    try:
        receipt = ingest_return(ctx.factory, submission, IngestSettings.from_config(ctx.config))
    except ValidationFailed as exc:
        click.echo(exc.report(), err=True)
        sys.exit(1)
    except MaicError as exc:
        fail(exc)
    if receipt.duplicate:
        click.echo(f"already received as return {receipt.return_id} (sha256 {receipt.sha256}); nothing changed")
        return
    weeks = ", ".join(w.isoformat() for w in receipt.weeks)
    click.echo(f"accepted return {receipt.return_id}: {receipt.rows} rows for week {weeks}; "
               f"sha256 {receipt.sha256}; {receipt.superseded} earlier return(s) fully superseded")
    for warning in receipt.warnings:
        click.echo(f"warning: {warning}")


@main.group()
def demo() -> None:
    """Demo data: 16 weeks of SDS40 returns ending last week, one user per role and a lead per agency."""


def pinned_now(value: str | None) -> dt.datetime | None:
    """`--today`: a date (the demo is seeded as at 12:00 UTC that day) or a date and time (UTC)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    if len(value.strip()) == 10:
        moment = moment.replace(hour=12)
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


@demo.command("seed")
@click.option("--today", "today", envvar="MAIC_DEMO_TODAY", default=None, metavar="DATE",
              help="Seed as if today were DATE (YYYY-MM-DD, or YYYY-MM-DDTHH:MM UTC); default: now. "
                   "Also MAIC_DEMO_TODAY.")
@pass_ctx
def demo_seed(ctx: Context, today: str | None) -> None:
    """Create the demo users and ingest the demo returns, once, dated so that they end last week."""
    from maic.demo import (
        already_seeded,
        create_demo_users,
        date_incident,
        demo_calendar,
        seed,
        seeded_shift,
        write_logins,
    )
    from maic.returns.ingest import IngestSettings

    now = pinned_now(today)
    settings = IngestSettings.from_config(ctx.config)
    try:
        demo_calendar(now, settings.incident_start)
    except MaicError as exc:
        fail(exc)
    data_dir = Path(ctx.config["MAIC_DATA_DIR"])
    try:
        with transaction(ctx.factory) as session:
            logins = create_demo_users(session)
    except MaicError as exc:
        fail(MaicError(f"the demo is made for the bundled reference file (Cambridgeshire & Peterborough); with "
                       f"this instance's reference data: {exc.message}"))
    write_logins(data_dir / DEMO_LOGINS, logins)
    with transaction(ctx.factory) as session:
        if already_seeded(session):
            # A reference load puts the real tranche dates back; the demo's own dates go back over them.
            date_incident(session, seeded_shift(session) or dt.timedelta())
            click.echo("demo returns already loaded")
            return
    try:
        count = seed(ctx.factory, settings, data_dir / "demo-returns", now=now)
    except MaicError as exc:
        fail(exc)
    click.echo(f"demo: ingested {count} returns")


@demo.command("logins")
@pass_ctx
def demo_logins(ctx: Context) -> None:
    """Print the demo users and their passwords."""
    from maic.demo import read_logins

    logins = read_logins(Path(ctx.config["MAIC_DATA_DIR"]) / DEMO_LOGINS)
    if not logins:
        click.echo("no demo users: run `maic demo seed`")
        return
    click.echo("Demo logins (demo data only; see MAIC_DATA_DIR/demo-logins.txt):")
    width = max(len(username) for username, _, _ in logins)
    for username, password, role in logins:
        click.echo(f"  {role:<12} {username:<{width}} {password}")


@main.group()
def users() -> None:
    """User accounts."""


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "analyst", "viewer", "agency_lead", "neighbour"]))
@click.option("--agency", "agency_slug", default=None, help="Agency slug (agency leads).")
@click.option("--lrf", "lrf_code", default=None, help="LRF code (neighbours).")
@click.option("--name", "display_name", default="", help="Name shown in the header.")
@click.option("--password-env", default=None, help="Read the password from this environment variable.")
@pass_ctx
def users_create(ctx: Context, username: str, role: str, agency_slug: str | None, lrf_code: str | None,
                 display_name: str, password_env: str | None) -> None:
    """Create a user; the password is asked for (or read from --password-env)."""
    from maic.auth import create_user

    password = os.environ.get(password_env, "") if password_env else click.prompt(
        "Password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction(ctx.factory) as session:
            create_user(session, username, password, role, display_name=display_name,
                        agency_slug=agency_slug, lrf_code=lrf_code)
    except MaicError as exc:
        fail(exc)
    click.echo(f"created {role} '{username.strip().lower()}'")


@users.command("set-password")
@click.argument("username")
@click.option("--password-env", default=None, help="Read the password from this environment variable.")
@pass_ctx
def users_set_password(ctx: Context, username: str, password_env: str | None) -> None:
    """Change a user's password; every session they have open ends at once."""
    import sqlalchemy as sa

    from maic import audit
    from maic.auth import normalise_username, set_password
    from maic.models import User

    name = normalise_username(username)
    password = os.environ.get(password_env, "") if password_env else click.prompt(
        "New password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction(ctx.factory) as session:
            user = session.scalar(sa.select(User).where(User.username == name))
            if user is None:
                raise MaicError(f"there is no user '{name}'")
            set_password(session, user, password)
            audit.record(session, f"cli:{getpass.getuser()}", "admin.password_reset", f"user:{name}")
    except MaicError as exc:
        fail(exc)
    click.echo(f"changed the password of '{name}'; their sessions have ended")


@users.command("set-email")
@click.argument("username")
@click.argument("email")
@pass_ctx
def users_set_email(ctx: Context, username: str, email: str) -> None:
    """Set where a user's notifications are emailed ('' removes it: in the app only)."""
    import sqlalchemy as sa

    from maic.admin import set_user_email
    from maic.auth import normalise_username
    from maic.models import User

    name = normalise_username(username)
    try:
        with transaction(ctx.factory) as session:
            user = session.scalar(sa.select(User).where(User.username == name))
            if user is None:
                raise MaicError(f"there is no user '{name}'")
            set_user_email(session, f"cli:{getpass.getuser()}", user.id, email)
    except MaicError as exc:
        fail(exc)
    click.echo(f"notifications for '{name}' go to {email}" if email else f"'{name}' gets notifications in the app only")


@main.group()
def notify() -> None:
    """Notifications (the scheduler runs these on its own)."""


@notify.command("check")
@pass_ctx
def notify_check(ctx: Context) -> None:
    """Check once for reminders, late returns, red services, shortfalls, quarantined files and failing pulls."""
    from maic.notify.checks import CheckSettings, run_checks

    made = run_checks(ctx.factory, CheckSettings.from_config(ctx.config))
    click.echo(", ".join(f"{n} {k}" for k, n in made.items() if n) or "nothing new")


@notify.command("send")
@pass_ctx
def notify_send(ctx: Context) -> None:
    """Send what is due in the outbox now (email and webhooks)."""
    from maic.notify.send import SendSettings, deliver_due

    click.echo(str(deliver_due(ctx.factory, SendSettings.from_config(ctx.config))))


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8050, type=int, help="Port (0: any free port; the one taken is printed).")
def serve(host: str, port: int) -> None:
    """Serve the dashboard (threaded development server; use gunicorn 'app:create_app()' in production)."""
    from app import create_app
    from maic.web.serving import make_server  # Werkzeug's, without a Server header naming it

    try:
        app = create_app()
    except MaicError as exc:
        fail(exc)
    server = make_server(host, port, app, threaded=True)
    click.echo(f"MAIC common picture on http://{host}:{server.server_port}/ "
               f"(as at {dt.datetime.now():%d %b %Y %H:%M})")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped")


# --- issue 4: templates, void, drop folder, scheduler, feeds ----------------------------------------


@main.command()
@click.option("--agency", "agency_slug", required=True, help="The agency's slug.")
@click.option("--week", required=True, help="The week's Monday, YYYY-MM-DD.")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: return-<agency>-<week>.<format> in the current folder).")
@pass_ctx
def template(ctx: Context, agency_slug: str, week: str, fmt: str, output: str | None) -> None:
    """Write a return template for an agency and week (XLSX: areas as rows, metrics as columns)."""
    from maic.returns.template import render, template_spec

    try:
        with ctx.factory() as session:
            name, data = render(template_spec(session, agency_slug, dt.date.fromisoformat(week)), fmt)
    except ValueError:
        click.echo(f"error: '{week}' is not a date (YYYY-MM-DD)", err=True)
        sys.exit(1)
    except MaicError as exc:
        fail(exc)
    target = Path(output or name)
    target.write_bytes(data)
    click.echo(f"wrote {target} ({len(data):,} bytes)")


@main.group()
def returns() -> None:
    """Returns already received."""


@returns.command("void")
@click.argument("return_id", type=int)
@click.option("--reason", required=True, help="Why the return is withdrawn (kept in the audit log).")
@pass_ctx
def returns_void(ctx: Context, return_id: int, reason: str) -> None:
    """Void a return: its values are withdrawn and what it superseded is current again."""
    from maic.returns.void import void_return

    try:
        with transaction(ctx.factory) as session:
            restored = void_return(session, return_id, reason=reason, actor=f"cli:{getpass.getuser()}")
    except MaicError as exc:
        fail(exc)
    click.echo(f"voided return {return_id}; {restored} earlier value(s) are current again")


@main.group()
def inbox() -> None:
    """The drop folder MAIC_DATA_DIR/inbox/<agency>/."""


@inbox.command("scan")
@pass_ctx
def inbox_scan(ctx: Context) -> None:
    """Scan the drop folder once: accepted files to archive/, refused ones to quarantine/ with a report."""
    from maic.inbox import scan_inbox
    from maic.returns.ingest import IngestSettings

    items = scan_inbox(ctx.factory, IngestSettings.from_config(ctx.config), Path(ctx.config["MAIC_DATA_DIR"]),
                       settle_seconds=float(ctx.config["MAIC_INBOX_SETTLE_SECONDS"]))
    for item in items:
        click.echo(f"{item.agency or '-'}/{item.name!r}: {item.outcome}: {item.message}")
    if not items:
        click.echo("the inbox is empty")


@main.command()
@click.option("--once", is_flag=True, help="Run every job once (if no other scheduler holds the lock) and exit.")
@click.option("--job", "jobs", multiple=True, help="With --once: only these jobs.")
@pass_ctx
def scheduler(ctx: Context, once: bool, jobs: tuple[str, ...]) -> None:
    """Run the scheduled jobs (drop folder, feeds, ...) as this process; only one scheduler runs at a time."""
    import logging

    if "prometheus_client" not in sys.modules:  # it picks its mode once, when imported
        # The scheduler's counts go where gunicorn's workers put theirs (gunicorn.conf.py's same default).
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(maic_config.metrics_dir(ctx.config["MAIC_DATA_DIR"])))
        Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
    from maic import scheduler as sched

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    unknown = [j for j in jobs if j not in sched.JOBS]
    if unknown:
        click.echo(f"error: unknown job(s) {unknown}; jobs are {sorted(sched.JOBS)}", err=True)
        sys.exit(1)
    job_ctx = sched.JobContext(ctx.config, ctx.factory)
    lock = sched.SchedulerLock(ctx.factory.kw["bind"], Path(ctx.config["MAIC_DATA_DIR"]))
    if once:
        try:
            runs = sched.run_once(job_ctx, lock, list(jobs) or None)
        finally:
            lock.dispose()
        if runs is None:
            click.echo("another scheduler holds the lock; nothing was run")
            return
        for run in runs:
            click.echo(f"{run.job}: {run.outcome}: {run.message}")
        return
    # SIGTERM (systemd, honcho) and Ctrl-C end the loop in order: the running jobs finish, the lock is let go.
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stopping.set())
    try:
        sched.serve(job_ctx, lock, stop=stopping.is_set)
    finally:
        lock.dispose()


@main.group()
def feeds() -> None:
    """HTTP(S) feeds of agencies' returns."""


@feeds.command("add")
@click.argument("url")
@click.option("--agency", "agency_slug", required=True, help="The agency whose returns the feed carries.")
@click.option("--every", "interval", type=int, default=3600, show_default=True, help="Seconds between pulls.")
@click.option("--token-env", default=None, help="Read the feed's bearer token from this environment variable.")
@pass_ctx
def feeds_add(ctx: Context, url: str, agency_slug: str, interval: int, token_env: str | None) -> None:
    """Add a feed, pulled by the scheduler every --every seconds."""
    from maic.feeds import add_feed

    token = secret_from_env(token_env) if token_env else None
    try:
        with transaction(ctx.factory) as session:
            feed = add_feed(session, url, agency_slug, token=token, interval_seconds=interval)
            feed_id = feed.id
    except MaicError as exc:
        fail(exc)
    click.echo(f"added feed {feed_id} for {agency_slug}: {url} every {interval}s")


@feeds.command("list")
@pass_ctx
def feeds_list(ctx: Context) -> None:
    """List the feeds, their last pull and its outcome (tokens are never shown)."""
    from maic.feeds import list_feeds

    with ctx.factory() as session:
        rows = [(f.id, f.agency.slug, f.url, f.interval_seconds, "yes" if f.token else "no", f.last_checked_at,
                 f.last_outcome or "never pulled", f.last_message) for f in list_feeds(session)]
    if not rows:
        click.echo("no feeds: add one with `maic feeds add URL --agency SLUG`")
    for fid, slug, url, every, token, checked, outcome, message in rows:
        when = f"{checked:%Y-%m-%d %H:%M} UTC" if checked else "-"
        click.echo(f"{fid}\t{slug}\t{url}\tevery {every}s\ttoken: {token}\tlast: {when} {outcome} {message}")


@feeds.command("pull")
@click.option("--id", "feed_ids", type=int, multiple=True, help="Only this feed (default: every feed that is due).")
@pass_ctx
def feeds_pull(ctx: Context, feed_ids: tuple[int, ...]) -> None:
    """Pull feeds now (those due, or the ones named with --id)."""
    from maic.feeds import FeedSettings, pull_due_feeds, pull_feed

    settings = FeedSettings.from_config(ctx.config)
    try:
        results = ([pull_feed(ctx.factory, fid, settings) for fid in feed_ids] if feed_ids
                   else pull_due_feeds(ctx.factory, settings))
    except MaicError as exc:
        fail(exc)
    for result in results:
        click.echo(f"feed {result.feed_id}: {result.outcome}: {result.message}")
    if not results:
        click.echo("no feed is due")



# --- issue 6: API tokens and federation ---------------------------------------------------------------


@main.group()
def tokens() -> None:
    """API tokens for neighbours' systems (shown once, stored hashed)."""


@tokens.command("create")
@click.argument("name")
@click.option("--lrf", "lrf_code", default=None, help="The LRF whose system holds the token.")
@click.option("--days", default=90, type=int, show_default=True, help="Days until it expires.")
@pass_ctx
def tokens_create(ctx: Context, name: str, lrf_code: str | None, days: int) -> None:
    """Create a token and print its secret once."""
    from maic.sharing.tokens import create_token

    try:
        with transaction(ctx.factory) as session:
            info, secret = create_token(session, name, created_by=f"cli:{getpass.getuser()}", lrf_code=lrf_code,
                                        days=days)
    except MaicError as exc:
        fail(exc)
    click.echo(f"token {info.id} for '{info.name}', expires {info.expires_at:%Y-%m-%d %H:%M} UTC")
    click.echo("secret (shown this once; only its hash is kept):")
    click.echo(secret)


@tokens.command("list")
@pass_ctx
def tokens_list(ctx: Context) -> None:
    """List tokens with expiry, last use and state (never the secrets)."""
    from maic.models import utcnow
    from maic.sharing.tokens import list_tokens

    now = utcnow()
    with ctx.factory() as session:
        rows = list_tokens(session)
    for t in rows:
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
        click.echo(f"{t.id}\t{t.state(now)}\t{t.prefix}...\t{t.name}\t{t.lrf_code or '-'}\texpires {expires}\t{used}")
    if not rows:
        click.echo("no tokens")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke a token at once."""
    from maic.sharing.tokens import revoke_token

    try:
        with transaction(ctx.factory) as session:
            info = revoke_token(session, token_id, by=f"cli:{getpass.getuser()}")
    except MaicError as exc:
        fail(exc)
    click.echo(f"token {info.id} ('{info.name}') is revoked")


@main.group()
def federation() -> None:
    """Neighbour instances whose shared figures we pull."""


@federation.command("add")
@click.argument("lrf_code")
@click.argument("base_url")
@click.option("--token-env", required=True, help="Environment variable holding the token they gave us.")
@pass_ctx
def federation_add(ctx: Context, lrf_code: str, base_url: str, token_env: str) -> None:
    """Configure (or change) the instance we pull for a neighbouring LRF."""
    from maic.admin import save_federation_source

    try:
        with transaction(ctx.factory) as session:
            save_federation_source(session, f"cli:{getpass.getuser()}", lrf_code, base_url,
                                   secret_from_env(token_env))
    except MaicError as exc:
        fail(exc)
    click.echo(f"{lrf_code}: pulling {base_url.rstrip('/')}")


@federation.command("list")
@pass_ctx
def federation_list(ctx: Context) -> None:
    """List neighbour instances and their last pull (never the tokens)."""
    from maic.admin import list_federation

    with ctx.factory() as session:
        rows = list_federation(session)
    for source, code in rows:
        when = f"{source.last_pulled_at:%Y-%m-%d %H:%M}" if source.last_pulled_at else "never"
        click.echo(f"{code}\t{source.base_url}\t{'active' if source.active else 'inactive'}\tlast: {when} "
                   f"{source.last_status}")
    if not rows:
        click.echo("no neighbour instance configured")


@federation.command("pull")
@click.option("--lrf", "lrf_code", default=None, help="Only this LRF's instance.")
@pass_ctx
def federation_pull(ctx: Context, lrf_code: str | None) -> None:
    """Pull the neighbour instances now, through the ingest pipeline."""
    from maic.fetch import FetchPolicy
    from maic.returns.ingest import IngestSettings
    from maic.sharing.federation import pull_all

    results = pull_all(ctx.factory, IngestSettings.from_config(ctx.config), lrf_code=lrf_code,
                       fetch=FetchPolicy.from_config(ctx.config))
    for r in results:
        click.echo(f"{r.lrf_code}: {r.outcome}: {r.message}")
    if not results:
        click.echo("no neighbour instance configured")
    if any(r.outcome == "failed" for r in results):
        sys.exit(1)


# --- issue 12: backups ---------------------------------------------------------------------------------


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: maic-backup-<UTC time>.tar in the current folder).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@pass_ctx
def backup(ctx: Context, output: str | None, force: bool) -> None:
    """Back up the database (a consistent snapshot), the received files and the reference file into one tar."""
    from maic import audit
    from maic.backup import Instance, create_backup, scheduled_name

    now = dt.datetime.now(dt.UTC)
    try:
        made = create_backup(Instance.from_config(ctx.config), Path(output or scheduled_name(now)), now=now,
                             overwrite=force)
    except MaicError as exc:
        fail(exc)
    manifest = made.manifest
    with transaction(ctx.factory) as session:
        # After the snapshot, so in the live log only: who took a copy of the data, and where to.
        audit.record(session, f"cli:{getpass.getuser()}", "backup.create", str(made.path.resolve())[:255],
                     f"created_at={manifest['created_at']} size={made.size_bytes}")
    click.echo(f"wrote {made.path} ({made.size_bytes:,} bytes): {manifest['database_kind']} database at schema "
               f"{manifest['schema_revision']}, {made.archive_files} received files, reference "
               f"{Path(manifest['reference_file']).name}; every member's sha256 is in its manifest.json")
    for warning in made.warnings:
        click.echo(f"warning: {warning}", err=True)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--check", is_flag=True, help="Only check the backup's sha256 sums; restore nothing.")
@pass_ctx
def restore(ctx: Context, file: str, check: bool) -> None:
    """Restore a backup into an empty database and data folder (every sha256 is checked first)."""
    from maic.backup import Instance, restore_backup, verify_backup

    try:
        if check:
            manifest = verify_backup(Path(file))
            click.echo(f"{file}: every member matches its sha256 ({len(manifest['members'])} members); "
                       f"{manifest['database_kind']} database at schema {manifest['schema_revision']}, made by "
                       f"version {manifest['app_version']} at {manifest['created_at']}")
            return
        done = restore_backup(Instance.from_config(ctx.config), Path(file))
    except MaicError as exc:
        fail(exc)
    manifest = done.manifest
    click.echo(f"restored {file} (taken {manifest['created_at']}): the {manifest['database_kind']} database, "
               f"{done.archive_files} received files, and the reference file to {done.reference_file}")
    click.echo(f"next: set MAIC_REFERENCE_FILE={done.reference_file} before any `maic reference load`, and start "
               f"the app")


if __name__ == "__main__":
    main()


def _as_at(value: str | None, tz: str) -> dt.datetime | None:
    """--as-at as naive UTC: ISO 8601 with an offset or Z, or a local time in MAIC_TIMEZONE without one."""
    from zoneinfo import ZoneInfo

    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MaicError(f"--as-at {value!r}: write a time like 2024-11-20T10:00 (UK time) or "
                        "2024-11-20T10:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


@main.command("briefing")
@click.option("--as-at", "as_at", default=None, help="As at this time (UK time unless an offset is given); default now.")
@click.option("--scope", type=click.Choice(["home", "home+neighbours"]), default="home", show_default=True)
@click.option("--week", default=None, help="Week (any day in it, YYYY-MM-DD); default the week the picture opens on.")
@click.option("--from-week", "week_from", default=None, help="First week of the series (default the incident start).")
@click.option("--area", default=None, help="One area's code (default all areas).")
@click.option("--audience", type=click.Choice(["scg", "neighbour", "comms"]), default="scg", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="File to write.")
@pass_ctx
def briefing(ctx: Context, as_at: str | None, scope: str, week: str | None, week_from: str | None, area: str | None,
             audience: str, fmt: str, output: str) -> None:
    """Make a briefing pack (kept as issued and audited) and write it to a file."""
    from maic.briefing import BriefingSettings, PackRequest, RendererMissing, issue_pack
    from maic.weeks import parse_week

    settings = BriefingSettings.from_config(ctx.config)
    try:
        request = PackRequest(audience=audience, week=parse_week(week) if week else None,
                              week_from=parse_week(week_from) if week_from else None, area=area,
                              scope="neighbours" if scope == "home+neighbours" else "home",
                              as_at=_as_at(as_at, settings.tz), format=fmt)
    except ValueError as exc:
        fail(MaicError(str(exc)))
    except MaicError as exc:
        fail(exc)
    made_by = f"cli:{getpass.getuser()}"
    try:
        with transaction(ctx.factory) as session:
            pack = issue_pack(session, request, made_by, settings=settings)
    except RendererMissing as exc:
        html_path = Path(output).with_suffix(".html")
        with transaction(ctx.factory) as session:
            pack = issue_pack(session, PackRequest(**{**request.__dict__, "format": "html"}), made_by,
                              settings=settings)
        html_path.write_bytes(pack.content)
        click.echo(f"error: no PDF made. {exc.message}\nThe HTML pack was written to {html_path} (pack {pack.id}).",
                   err=True)
        sys.exit(1)
    except MaicError as exc:
        fail(exc)
    Path(output).write_bytes(pack.content)
    suffix = " (a draft until an analyst approves it on the Briefings page)" if pack.status == "draft" else ""
    click.echo(f"pack {pack.id}: {pack.title}, {pack.week or 'no week'}, as at {pack.as_at:%Y-%m-%d %H:%M} UTC; "
               f"sha256 {pack.sha256}; written to {output}{suffix}")
