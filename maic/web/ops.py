"""What operations needs from the web side: /healthz, /readyz, /metrics, request timing, and running behind a
reverse proxy (ProxyFix, Secure cookies under HTTPS).

/metrics is an admin route (maic/web/access.py), which addresses in MAIC_METRICS_ALLOW may also read without
signing in. Imports flask and werkzeug, never dash: app.py hands over how to name a Dash callback.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature
from werkzeug.middleware.proxy_fix import ProxyFix

from maic import health, metrics
from maic.db import factory_for
from maic.errors import MaicError

bp = Blueprint("ops", __name__)

START_KEY = "maic.started"
CALLBACK_SUFFIX = "/_dash-update-component"
STATIC_PREFIXES = ("/static/", "/dash/assets/", "/dash/_dash-component-suites/", "/favicon.ico", "/dash/_favicon")
# How a Dash callback request is named for the latency histogram: app.py sets it (maic never imports dash).
CallbackNamer = Callable[[], str]


@bp.route("/healthz")
def healthz():
    """The process answers; nothing else is checked (a liveness probe restarts what fails it)."""
    return {"status": "ok"}


@bp.route("/readyz")
def readyz():
    """Everything a request needs answers: 200 when ready, 503 otherwise, with each check's one-word result."""
    ready, checks = health.run_checks(health.CheckContext(config=current_app.config, factory=factory_for(current_app)))
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503


@bp.route("/metrics", endpoint="metrics")
def prometheus_metrics():
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def allowed_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise MaicError(f"MAIC_METRICS_ALLOW: '{part}' is not a network (CIDR such as 10.0.0.5/32): {exc}") from exc
    return tuple(networks)


def address_may_scrape(app: Flask, address: str | None) -> bool:
    """Whether the request's address (the client's, behind trusted proxies) is in MAIC_METRICS_ALLOW."""
    networks = app.extensions["maic.metrics_allow"]
    if not networks or not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def request_kind(path: str, endpoint: str | None) -> str:
    if path.endswith(CALLBACK_SUFFIX):
        return "callback"
    if path.startswith(STATIC_PREFIXES):
        return "static"
    if path.startswith("/api/"):
        return "api"
    if endpoint and endpoint.startswith("exports."):
        return "export"
    if endpoint in ("/dash/", "/dash/<path:path>", "auth.login", "auth.index"):
        return "page"
    return "other"


# A session's cookie is signed again (its idle expiry moved on) at most this often: signing it on every answer
# cost each of a dashboard's dozen callbacks a serialisation, an HMAC and a Set-Cookie header.
SESSION_REFRESH_SECONDS = 60


class ForwardedProtoSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure when MAIC_SECURE_COOKIES says so, or when this request came over HTTPS
    (directly, or as the trusted proxy says): a browser then never sends it over plain HTTP. An unchanged
    session is signed again once SESSION_REFRESH_SECONDS have passed since it last was, not on every request, so
    an idle session may end up to that much before MAIC_SESSION_MINUTES."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:  # type: ignore[override]
        """As Flask's, keeping when the cookie was signed (its signature carries the time)."""
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        try:
            data, signed_at = serializer.loads(cookie, max_age=int(app.permanent_session_lifetime.total_seconds()),
                                               return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        # By the clock the signature is checked against (the signer's), not the wall clock.
        now = serializer.make_signer(serializer.salt).get_timestamp()
        session.signed_seconds_ago = now - int(signed_at.timestamp())  # type: ignore[attr-defined]
        return session

    def should_set_cookie(self, app: Flask, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        age = getattr(session, "signed_seconds_ago", None)
        return age is None or not 0 <= age < SESSION_REFRESH_SECONDS


def init_app(app: Flask, *, callback_namer: CallbackNamer | None = None) -> None:
    hops = int(app.config["MAIC_PROXY_HOPS"])
    if hops < 0:
        raise MaicError(f"MAIC_PROXY_HOPS is {hops}: it must be 0 (no proxy) or the number of proxies in front")
    if hops:
        # Only as many X-Forwarded-* values as there are proxies we run are believed; a client's own are not.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    app.extensions["maic.metrics_allow"] = allowed_networks(app.config["MAIC_METRICS_ALLOW"])
    app.session_interface = ForwardedProtoSessionInterface()
    app.config["REMEMBER_COOKIE_SECURE"] = bool(app.config["MAIC_SECURE_COOKIES"])
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.register_blueprint(bp)

    def start_clock() -> None:
        request.environ[START_KEY] = time.perf_counter()

    # First of all the hooks (even before the size check): the time a refused request took counts too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)

    @app.after_request
    def observe(response):
        started = request.environ.get(START_KEY)
        if started is None:
            return response
        kind = request_kind(request.path, request.endpoint)
        if kind == "callback":
            target = callback_namer() if callback_namer else "callback"
        elif kind == "static":
            target = ""
        else:
            target = request.endpoint or "unmatched"
        metrics.REQUEST_SECONDS.labels(kind, target).observe(time.perf_counter() - started)
        metrics.RESPONSES.labels(kind, str(response.status_code)).inc()
        return response
