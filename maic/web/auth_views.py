"""Login and logout through a real form with CSRF; failures never say whether the user exists."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from maic import audit
from maic.auth import end_sessions, sign_in
from maic.db import session_for
from maic.models import Role, User
from maic.web.session_user import SessionUser, session_id_parts

bp = Blueprint("auth", __name__, template_folder="templates")
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see the picture."


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


# Said for every refused sign-in, whatever the reason: wrong password, unknown name, disabled or throttled.
SIGN_IN_REFUSED = ("That username and password do not match an active account. After 5 wrong tries from one "
                   "computer, it must wait 15 minutes before trying that name again: you can still sign in from "
                   "another computer at once, or ask an admin to reset your password.")


@login_manager.user_loader
def load_user(session_id: str) -> SessionUser | None:
    """Runs on every request: a session whose generation is no longer the user's has ended (maic.auth.end_sessions),
    whichever worker ended it, because the check reads the database."""
    parts = session_id_parts(session_id)
    if parts is None:
        return None
    user = SessionUser.load(session_for(current_app), parts[0])
    if user is None or not user.active or user.session_generation != parts[1]:
        return None
    return user


def home_for(user: SessionUser) -> str:
    return "/dash/shared" if user.role == Role.NEIGHBOUR else "/dash/"


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():  # rate-limited per client address by maic/web/security.py
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    db = session_for(current_app)
    if form.validate_on_submit():
        attempt = sign_in(db, form.username.data, form.password.data, request.remote_addr or "",
                          slowdown_seconds=float(current_app.config["MAIC_LOGIN_SLOWDOWN_SECONDS"]))
        db.commit()
        if attempt.delay_seconds:
            time.sleep(attempt.delay_seconds)
        user = attempt.user
        if user is None:
            flash(SIGN_IN_REFUSED, "error")
            return render_template("login.html", form=form, marking=current_app.config["MAIC_PROTECTIVE_MARKING"]), 401
        session.clear()
        login_user(SessionUser.load(db, user.id))
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")) or home_for(current_user))
    return render_template("login.html", form=form, marking=current_app.config["MAIC_PROTECTIVE_MARKING"])


@bp.route("/logout", methods=["POST"])
def logout():
    """Ends every session of the user, not only this browser's: a copied cookie must not outlive sign-out."""
    if current_user.is_authenticated:
        db = session_for(current_app)
        end_sessions(db.get(User, current_user.id))
        audit.record(db, current_user.username, "logout", remote_addr=request.remote_addr or "")
        db.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


@bp.route("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico on any page that links no icon; it is the one Dash's pages link from assets/.
    return current_app.send_static_file("favicon.ico")


def init_app(app) -> None:
    # Sessions end after MAIC_SESSION_MINUTES without a request (the cookie is refreshed on each one).
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(minutes=int(app.config["MAIC_SESSION_MINUTES"]))
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["MAIC_SECURE_COOKIES"])
    # A CSRF token lives as long as the session it is bound to (Flask-WTF keeps its secret in the session, which
    # sign-in and sign-out clear), not an hour from the page load: a dashboard left open all day keeps working.
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    csrf.init_app(app)
    login_manager.init_app(app)
    app.register_blueprint(bp)
