"""Login and logout through a real form with CSRF; failures never say whether the user exists."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from maic import audit
from maic.auth import authenticate
from maic.db import session_for
from maic.models import Role
from maic.web.session_user import SessionUser

bp = Blueprint("auth", __name__, template_folder="templates")
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see the picture."


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@login_manager.user_loader
def load_user(user_id: str) -> SessionUser | None:
    try:
        user = SessionUser.load(session_for(current_app), int(user_id))
    except ValueError:
        return None
    return user if user is not None and user.active else None


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
        user = authenticate(db, form.username.data, form.password.data)
        if user is None:
            audit.record(db, form.username.data[:120], "login.failure", remote_addr=request.remote_addr or "")
            db.commit()
            flash("That username and password do not match an active account.", "error")
            return render_template("login.html", form=form, marking=current_app.config["MAIC_PROTECTIVE_MARKING"]), 401
        audit.record(db, user.username, "login.success", remote_addr=request.remote_addr or "")
        db.commit()
        session.clear()
        login_user(SessionUser.load(db, user.id))
        session.permanent = True
        return redirect(_safe_next(request.args.get("next")) or home_for(current_user))
    return render_template("login.html", form=form, marking=current_app.config["MAIC_PROTECTIVE_MARKING"])


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        db = session_for(current_app)
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


@bp.route("/healthz")
def healthz():
    return {"status": "ok"}


def init_app(app) -> None:
    # Sessions end after MAIC_SESSION_MINUTES without a request (the cookie is refreshed on each one).
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(minutes=int(app.config["MAIC_SESSION_MINUTES"]))
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["MAIC_SECURE_COOKIES"])
    csrf.init_app(app)
    login_manager.init_app(app)
    app.register_blueprint(bp)
