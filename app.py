"""create_app(config): the Flask server with login, error pages and the Dash dashboard mounted on /dash/.

Nothing happens at import; gunicorn uses the factory string "app:create_app()".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dash
import sqlalchemy as sa
from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

import callbacks
import maic.db
import maic.web
from callbacks import pages
from layouts.components import HeaderData, shell
from maic import config as maic_config
from maic import permissions, picture
from maic.db import factory_for, session_for
from maic.errors import MaicError
from maic.notify.outbox import unread_count

ASSETS = Path(__file__).resolve().parent / "assets"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder=str(ASSETS), static_url_path="/static",
                template_folder=str(Path(maic.web.__file__).parent / "templates"))
    settings = maic_config.load(config)
    app.config.update(settings)
    app.config["SECRET_KEY"] = settings["MAIC_SECRET_KEY"]
    maic.db.init_app(app)
    _check_home_lrf(app)
    maic.web.init_app(app, callback_namer=_callback_name)
    _mount_dash(app)
    return app


def _check_home_lrf(app: Flask) -> None:
    """With MAIC_HOME_LRF set, never serve another LRF's reference data as if it were ours (its API would
    claim the wrong LRF, and neighbours pulling it would refuse it)."""
    wanted = app.config["MAIC_HOME_LRF"]
    if not wanted:
        return
    with factory_for(app)() as session:
        try:
            home = picture.home_lrf(session)
        except sa.exc.DBAPIError:
            return  # not migrated yet: `maic db upgrade` and `maic reference load` come first
    if home is not None and home.code != wanted:
        app.extensions["maic.db"]["engine"].dispose()  # the app is not made: close its pooled connection now
        raise MaicError(f"MAIC_HOME_LRF is '{wanted}' but the database's reference data makes '{home.code}' "
                        f"({home.name}) home: load your LRF's reference file (`maic reference init --lrf {wanted}`, "
                        "then `maic reference load --file ...`) or correct MAIC_HOME_LRF")


def _page_shell():
    """Built per request, so the header shows who is signed in; holds no figures (callbacks fill them)."""
    user = current_user if current_user.is_authenticated else None
    home = picture.home_lrf(session_for(current_app))
    data = HeaderData(
        lrf_name=home.name if home else "No LRF configured",
        user_name=user.display_name if user else "",
        role=user.role if user else "",
        marking=current_app.config["MAIC_PROTECTIVE_MARKING"],
        demo=bool(current_app.config["MAIC_DEMO_BANNER"]),
        nav=pages.nav_for(user),
        csrf_token=generate_csrf(),
        unread=unread_count(session_for(current_app), user.id) if user else None,
    )
    config = current_app.config
    version = picture.data_version(session_for(current_app)) if user and permissions.allowed(
        user, permissions.DATA_VERSION) else None
    return shell(data, live_poll_ms=int(config["MAIC_LIVE_POLL_SECONDS"]) * 1000,
                 notify_poll_ms=int(config["MAIC_NOTIFY_POLL_SECONDS"]) * 1000, data_version=version)


def _mount_dash(server: Flask) -> dash.Dash:
    from callbacks._common import error_alert

    dash_app = dash.Dash(
        __name__,
        server=server,
        url_base_pathname="/dash/",
        assets_folder=str(ASSETS),
        title="MAIC common picture",
        suppress_callback_exceptions=True,
        serve_locally=True,
        on_error=error_alert,
    )
    dash_app.layout = _page_shell
    callbacks.register(dash_app)
    server.extensions["maic.dash"] = dash_app
    from callbacks import _guard

    _guard.init_app(server, dash_app)
    # The CSP allows Dash's own inline scripts by hash, never 'unsafe-inline' (maic/web/security.py).
    server.config["MAIC_CSP_SCRIPT_HASHES"] = list(dash_app.csp_hashes())
    _complete_dash_setup(server, dash_app)
    return dash_app


def _complete_dash_setup(server: Flask, dash_app: dash.Dash) -> None:
    """Do now, once, what Dash does on the first request, so a worker is whole before it takes traffic.

    Dash sets its "set up" flag before it fills the registry of its JavaScript bundles (plotly/dash issue 3971):
    under threaded workers, a request arriving in that gap just after a restart got 500 "Error loading
    dependency. "dash" is not a registered library" and the page came up blank. Done here, the flag is set
    before any request can arrive. The setup builds the layout once to validate it, as an anonymous request.
    """
    with server.test_request_context("/dash/"):
        try:
            dash_app._layout_value()
        except sa.exc.DBAPIError:
            # The database is down or not migrated yet: the app must still start (/healthz answers, /readyz says
            # what is wrong), so the layout is checked without its header, which reads the database.
            dash_app._layout_value = lambda: dash.html.Div()
        try:
            dash_app._setup_server()
        finally:
            dash_app.__dict__.pop("_layout_value", None)


def _callback_name() -> str:
    """A Dash callback request's name in the metrics: its output keys, when it is one of this app's callbacks
    (a hand-made output must not add a label of its own)."""
    from callbacks import _guard

    if not current_user.is_authenticated:
        return "refused"  # answered 401 without reading the body; nor is it read here
    try:
        body = request.get_json(silent=True)
    except Exception:  # noqa: BLE001  (a body too large or unreadable: the request was refused anyway)
        return "refused"
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, str) or output not in current_app.extensions["maic.dash"].callback_map:
        return "unknown"
    return ",".join(_guard.output_keys(output))
