"""Security headers, the Content-Security-Policy, and the login rate limit (Flask-Limiter).

The CSP allows scripts only from this origin plus the hashes of Dash's own inline scripts, which app.py
computes from the Dash app (maic never imports dash) and puts in MAIC_CSP_SCRIPT_HASHES.
"""

from __future__ import annotations

import secrets

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def login_limit() -> str:
    return current_app.config["MAIC_LOGIN_RATE_LIMIT"]


def content_security_policy(script_hashes: list[str]) -> str:
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script_hashes],
        # Dash and Plotly set style attributes from JavaScript; styles cannot run code.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        # The overview's maps (plotly Choroplethmap = MapLibre) draw in a web worker made from a blob: URL.
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def init_app(app) -> None:
    """After auth_views: wraps the login view in this app's own limiter (one per app, never shared)."""
    app.config.setdefault("MAIC_CSP_SCRIPT_HASHES", [])
    # Redis when configured (its own setting, else MAIC_REDIS_URL), memory otherwise. With Redis, counts
    # survive restarts and every worker and server of the deployment shares them (its key prefix); while Redis
    # is unreachable each process counts in memory, and a sign-in never fails for it.
    storage = app.config["MAIC_RATELIMIT_STORAGE_URL"] or app.config["MAIC_REDIS_URL"] or "memory://"
    app.config["RATELIMIT_STORAGE_URI"] = storage
    if storage == "memory://":
        app.config.setdefault("RATELIMIT_KEY_PREFIX", "maic-" + secrets.token_hex(4))
    else:
        app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{app.config['MAIC_REDIS_PREFIX']}-limits")
        app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter = Limiter(key_func=get_remote_address, app=app, default_limits=[])
    app.extensions["maic.limiter"] = limiter
    app.view_functions["auth.login"] = limiter.limit(login_limit, methods=["POST"])(app.view_functions["auth.login"])

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy",
                           content_security_policy(list(app.config["MAIC_CSP_SCRIPT_HASHES"])))
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        if app.config["MAIC_SECURE_COOKIES"] or request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        static = request.path.startswith(("/static/", "/dash/assets/", "/dash/_dash-component-suites/",
                                           "/favicon.ico"))
        if not static:
            headers.setdefault("Cache-Control", "no-store")
        return response
