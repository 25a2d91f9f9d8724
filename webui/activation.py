"""The link e-mailed to a new tenant admin (or to a user whose password is reset): choose a
password, the account becomes active and the link stops working."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from voxcast.tenants import services as tenant_service
from voxcast.tenants.services import ActivationError, TenantError

bp = Blueprint("activation", __name__)


class ChoosePasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=tenant_service.MIN_PASSWORD, max=500)])
    confirm = PasswordField(_l("Repeat the password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The passwords differ."))])


@bp.after_request
def no_referrer(response):
    """The token is in this page's address: Referer headers from it carry the origin only,
    never the path, not even to our own static files (whose access log would keep it).
    The origin, not nothing: Flask-WTF wants a same-origin Referer on HTTPS form posts."""
    response.headers["Referrer-Policy"] = "strict-origin"
    return response


@bp.route("/activate/<token>", methods=["GET", "POST"])
def activate(token: str):
    try:
        user = tenant_service.user_for_token(token)
    except ActivationError as exc:
        return render_template("error.html", code=404, message=str(exc)), 404
    form = ChoosePasswordForm()
    error = None
    if form.validate_on_submit():
        try:
            tenant_service.activate(token, form.password.data, ip=request.remote_addr or "")
        except (ActivationError, TenantError) as exc:
            error = str(exc)
        else:
            flash(_("Your password is set. Log in with your username %(u)s.",
                    u=user.username), "success")
            return redirect(url_for("auth.login"))
    return render_template("activation/activate.html", form=form, user=user, error=error), \
        (400 if form.is_submitted() else 200)
