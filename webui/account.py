"""My Account: every logged-in user (provider admin included) changes their own password and
profile (name, contact, time zone, language, theme), and can log out everywhere."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, Length

from models import User
from voxcast.accounts import users as user_service
from voxcast.accounts.users import UserError

from . import auth
from .users import PROFILE_FIELDS, ProfileFields, _apply_error

bp = Blueprint("account", __name__, url_prefix="/account")


class ProfileForm(ProfileFields):
    theme = SelectField(_l("Theme"), choices=[("light", _l("Light")), ("dark", _l("Dark"))],
                        validate_choice=False)


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(), Length(max=500)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=500)],
                                 description=_l("At least 8 characters."))
    confirm_password = PasswordField(_l("New password again"),
                                     validators=[DataRequired(), Length(max=500)])


class LogoutEverywhereForm(FlaskForm):
    pass


def _me() -> User:
    return User.get_by_id(current_user.id)


def _page(profile: ProfileForm | None = None, password: PasswordForm | None = None,
          status: int = 200):
    me = _me()
    if profile is None:
        profile = ProfileForm(formdata=None, obj=me)
    profile.fill_choices()
    return render_template("account/index.html", me=me, profile=profile,
                           password=password or PasswordForm(formdata=None),
                           everywhere=LogoutEverywhereForm()), status


@bp.route("/")
@login_required
def index():
    return _page()


@bp.route("/profile", methods=["POST"])
@login_required
def profile():
    form = ProfileForm()
    form.fill_choices()
    if form.validate_on_submit():
        try:
            user_service.update_profile(
                _me(), theme=form.theme.data, ip=request.remote_addr or "",
                **{name: getattr(form, name).data or "" for name in PROFILE_FIELDS})
        except UserError as exc:
            _apply_error(form, exc)
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("account.index"))
    return _page(profile=form, status=400)


@bp.route("/password", methods=["POST"])
@login_required
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            me = user_service.change_password(
                _me(), form.current_password.data, form.new_password.data,
                form.confirm_password.data, ip=request.remote_addr or "")
        except UserError as exc:
            _apply_error(form, exc)
        else:
            # Other sessions end (their version is stale); this one carries on.
            session[auth.SESSION_VERSION_KEY] = me.session_version
            flash(_("Your password is changed; your other sessions are logged out."), "success")
            return redirect(url_for("account.index"))
    return _page(password=form, status=400)


@bp.route("/logout-everywhere", methods=["POST"])
@login_required
def logout_everywhere():
    """Every session of this user ends, on every device, this one included."""
    if LogoutEverywhereForm().validate_on_submit():
        user_service.log_out_everywhere(_me(), ip=request.remote_addr or "")
        auth.end_session()
        flash(_("You are logged out on every device."), "info")
        return redirect(url_for("auth.login"))
    return redirect(url_for("account.index"))
