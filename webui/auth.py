"""Login, logout, the session user and the role decorators every other blueprint uses."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _, ngettext
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from voxcast.accounts.passwords import hash_password, verify as verify_password
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from peewee import JOIN

from models import Tenant, User
from models.cached_sql import CachedSelect, fields_of, instance
from voxcast.audit import records as audit
from voxcast.accounts import login_guard
from voxcast.accounts import login_sessions
from voxcast.accounts import sso
from voxcast.agents import sessions as agent_sessions
from voxcast.tenants.subdomains import login_site

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in."
login_manager.login_message_category = "info"

TENANT_ROLES = ("tenant", "supervisor", "user", "agent")
# Roles that run campaigns and keep contacts; agents get their own console later.
CAMPAIGN_ROLES = ("tenant", "supervisor", "user")


class SessionUser(UserMixin):
    """What the session knows of the logged-in user; rebuilt from the database each request,
    so disabling a user or suspending a tenant takes effect on the next click."""

    def __init__(self, row: User):
        self.id = row.id
        self.username = row.username
        self.role = row.role
        self.tenant_id = row.tenant_id
        self.display_name = f"{row.first_name} {row.last_name}".strip() or row.username
        self.tenant_name = row.tenant.name if row.tenant_id else ""
        self.language = row.language or (row.tenant.language if row.tenant_id else "") or ""
        self.theme = row.theme or "light"
        self.timezone = row.timezone or ""  # empty: the tenant's (webui.viewer.viewer_zone)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.tenant_id is None

    @property
    def can_run_campaigns(self) -> bool:
        return self.tenant_id is not None and self.role in CAMPAIGN_ROLES


def refusal(row: User) -> str | None:
    """Why this (correctly authenticated) user may not use the UI, or None."""
    if not row.active:
        return "This account is disabled. Ask your administrator to enable it."
    if row.tenant_id is not None and row.tenant.status != "active":
        return "Your organisation's account is suspended. Please contact your provider."
    if row.tenant_id is None and row.role != "admin":
        return "This account has no organisation. Ask your provider to fix it."
    return None


# The session remembers User.session_version from login; bumping it (password change,
# "log out everywhere", tenant suspended, user disabled) ends every open session of that user
# at its next request. SESSION_ID_KEY names this one session's server-side row
# (voxcast.accounts.login_sessions), which logout ends, so a copied cookie stops working too.
SESSION_VERSION_KEY = "session_version"
SESSION_ID_KEY = "sid"


_USER_TENANT = CachedSelect(
    lambda user_id: (User.select(*fields_of(User), *fields_of(Tenant))
                     .join(Tenant, JOIN.LEFT_OUTER).where(User.id == user_id)),
    samples=(-7_000_002,))


def _user_and_tenant(user_id: int) -> User | None:
    """The user with its tenant (row.tenant, no second query), or None; the SQL is built
    once per database (models.cached_sql): this runs on every request."""
    found = _USER_TENANT.first(user_id)
    if found is None:
        return None
    split = len(User._meta.sorted_fields)
    row = instance(User, found[:split])
    if row.tenant_id is not None:
        row.tenant = instance(Tenant, found[split:])
        row._dirty.clear()
    return row


@login_manager.user_loader
def load_user(user_id: str):
    try:
        # the user and its tenant in one query; the tenant is kept for the request
        # (webui.permissions.current_tenant), which reads it anyway
        row = _user_and_tenant(int(user_id))
    except ValueError:
        row = None
    if (row is None or refusal(row)
            or session.get(SESSION_VERSION_KEY) != row.session_version
            or not login_sessions.is_live(row.id, session.get(SESSION_ID_KEY),
                                          current_app.permanent_session_lifetime)):
        session.clear()
        return None
    if row.tenant_id is not None:
        g._vx_tenant, g._vx_tenant_id = row.tenant, row.tenant_id
    return SessionUser(row)


def start_session(row: User) -> None:
    """A fresh session for this user: nothing from before login carries over (no fixation),
    and it gets a new server-side id."""
    session.clear()
    login_user(SessionUser(row))
    session[SESSION_ID_KEY] = login_sessions.open_session(row, request.remote_addr or "")
    session[SESSION_VERSION_KEY] = row.session_version
    session.permanent = True  # ends after PERMANENT_SESSION_LIFETIME idle (webui.security)


def _end_web_agent_session() -> None:
    """An agent who logged in at the web console and leaves the portal is logged out as an
    agent too, so their phone is not offered calls nobody is there to take; a login made at
    the phone (*50) is the phone's to end (*51)."""
    if not current_user.is_authenticated or current_user.role != "agent":
        return
    live = agent_sessions.current(current_user.id)
    if live is not None and live.via == "web":
        agent_sessions.logout(live.id, "logout", ip=request.remote_addr or "")


def end_session() -> None:
    """Log out this browser: its server-side row ends, then the cookie is emptied."""
    login_sessions.end(session.get(SESSION_ID_KEY))
    logout_user()
    session.clear()


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.endswith((".json", ".events")):  # polled JSON, live streams
        return jsonify(error="login required"), 401
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def current_tenant_id() -> int:
    """The logged-in user's tenant. Aborts with 403 for users without one (the provider
    admin), because models.tenancy.scoped(..., None) would mean "every tenant"."""
    tenant_id = getattr(current_user, "tenant_id", None)
    if tenant_id is None:
        abort(403)
    return tenant_id


def admin_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)
    return wrapped


def tenant_required(view=None, *, roles: tuple[str, ...] = CAMPAIGN_ROLES):
    """Logged in as a user of a tenant with one of `roles`. Use bare or with roles=..."""
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.tenant_id is None or current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate(view) if view is not None else decorate


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=150)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=500)])


def _safe_next(target: str | None) -> str | None:
    """Only same-site relative paths, so ?next= cannot send the user elsewhere."""
    if not target:
        return None
    # Browsers read a backslash as a slash ("/\\evil.example" is "//evil.example") and drop
    # tabs and newlines inside URLs, so neither may appear at all.
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# Checked when the username does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password("voxcast-no-such-user")


def _throttled_message(throttled: login_guard.Throttled) -> str:
    return ngettext("Too many failed attempts; try again in %(num)d minute.",
                    "Too many failed attempts; try again in %(num)d minutes.", throttled.minutes)


def _password_ok(row: User | None, password: str) -> bool:
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(row.password_hash, password)


def _authenticate(username: str, password: str) -> tuple[User | None, str | None, int]:
    """(user, None, 200) on success, else (None, message, status). Throttled attempts are
    refused before the password is looked at; unknown names behave like wrong passwords."""
    ip = request.remote_addr or ""
    row = User.get_or_none(User.username == username)
    throttled = login_guard.check(username, ip, row)
    if throttled is not None:
        return None, _throttled_message(throttled), 429
    if not _password_ok(row, password):
        locked = login_guard.record_failure(username, ip, row)
        if locked is None:
            return None, _("Invalid username or password."), 401
        if row is not None:
            audit.record("user.locked", tenant_id=row.tenant_id, user=None, object_type="user",
                         object_id=row.id, ip=ip,
                         detail=f"{login_guard.MAX_USER_FAILURES} failed logins; "
                                f"locked for {login_guard.LOCK_MINUTES} minutes")
        return None, _throttled_message(locked), 429
    if (reason := refusal(row)) is not None:
        return None, reason, 403
    login_guard.record_success(row, ip)
    return row, None, 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("index"))
    form = LoginForm()
    site = login_site(request.host)
    error = None
    status = 200
    if form.validate_on_submit():
        row, error, status = _authenticate(form.username.data.strip(), form.password.data)
        if row is not None and not site.allows(row):  # a tenant's sub-domain: its users only
            row, error, status = None, _("Invalid username or password."), 401
        if row is not None:
            start_session(row)
            return redirect(_safe_next(request.args.get("next")) or url_for("index"))
    elif form.is_submitted():
        status = 400
    return render_template("login.html", form=form, error=error, site=site), status


@bp.route("/logout", methods=["POST"])
def logout():
    _end_web_agent_session()
    end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


def _sso_refused(exc: sso.SsoError):
    """The page for a sign-on link that does not log in (404 unknown, 410 used or expired,
    403 the account may not log in now)."""
    messages = {
        "sso-used": _("This sign-in link has been used already or has expired. Ask for a "
                      "new one from where you got it."),
        "sso-refused": _("This account may not log in now. Please contact your provider."),
    }
    message = messages.get(exc.code, _("This sign-in link is not valid."))
    response = current_app.make_response(
        (render_template("error.html", code=exc.status, message=message), exc.status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/sso/<token>")
def sso_login(token: str):
    """A single sign-on link (voxcast.accounts.sso): logs its user in once, with the same
    session as a password login (start_session), and opens the portal home."""
    try:
        row = sso.consume(token, ip=request.remote_addr or "")
    except sso.SsoError as exc:
        return _sso_refused(exc)
    if not login_site(request.host).allows(row) or refusal(row) is not None:
        return _sso_refused(sso.SsoRefused(""))
    start_session(row)
    return redirect(url_for("index"))
