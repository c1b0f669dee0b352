"""The `maic` command: database, reference data, ingest, demo, users, serve. Builds config like the app."""

from __future__ import annotations

import datetime as dt
import getpass
import os
import sys
from pathlib import Path

import click

from maic import config as maic_config
from maic.db import make_engine, make_session_factory, transaction
from maic.errors import MaicError, ValidationFailed

DEMO_LOGINS = "demo-logins.txt"


class Context:
    def __init__(self) -> None:
        self.config = maic_config.load()
        self._factory = None

    @property
    def factory(self):
        if self._factory is None:
            engine = make_engine(self.config["MAIC_DATABASE_URL"])
            click.get_current_context().call_on_close(engine.dispose)
            self._factory = make_session_factory(engine)
        return self._factory


pass_ctx = click.make_pass_decorator(Context, ensure=True)


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
              help="YAML file (default: the bundled SDS40 East of England reference).")
@pass_ctx
def reference_load(ctx: Context, path: str | None) -> None:
    """Load reference data; loading the same file again changes nothing."""
    from maic.reference import DEFAULT_REFERENCE, load_reference, read_reference

    with transaction(ctx.factory) as session:
        summary = load_reference(session, read_reference(path or DEFAULT_REFERENCE))
    click.echo(f"reference data: {summary}")


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
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
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
    """Demo data: 16 weeks of SDS40 returns and one user per role."""


@demo.command("seed")
@pass_ctx
def demo_seed(ctx: Context) -> None:
    """Create the demo users and ingest the demo returns, once."""
    from maic.demo import already_seeded, create_demo_users, seed, write_logins
    from maic.returns.ingest import IngestSettings

    data_dir = Path(ctx.config["MAIC_DATA_DIR"])
    with transaction(ctx.factory) as session:
        logins = create_demo_users(session)
    write_logins(data_dir / DEMO_LOGINS, logins)
    with ctx.factory() as session:
        if already_seeded(session):
            click.echo("demo returns already loaded")
            return
    count = seed(ctx.factory, IngestSettings.from_config(ctx.config), data_dir / "demo-returns")
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
    for username, password, role in logins:
        click.echo(f"  {role:<12} {username:<20} {password}")


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
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)
    click.echo(f"created {role} '{username.strip().lower()}'")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8050, type=int)
def serve(host: str, port: int) -> None:
    """Serve the dashboard (threaded development server; use gunicorn 'app:create_app()' in production)."""
    from app import create_app

    app = create_app()
    click.echo(f"MAIC common picture on http://{host}:{port}/ (as at {dt.datetime.now():%d %b %Y %H:%M})")
    app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
