"""API keys in the UI: a tenant's admin manages the tenant's keys at /api-keys, the provider's
admin the provider's at /admin/api-keys. A new key's secret is shown once, in the response
that created it (never flashed: flash messages live in the session cookie)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from voxcast.accounts import api_keys
from models import ApiKey

from .auth import admin_required, tenant_required
from .paging import Page, matching, search_arg

PER_PAGE = 50

bp = Blueprint("api_keys", __name__)


class KeyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What will use the key, e.g. \"CRM sync\"."))


class RevokeForm(FlaskForm):
    pass


def _page(owner: int | None, endpoint: str):
    form = KeyForm()
    secret, status = None, 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                key, secret = api_keys.create(tenant_id=owner, user=current_user,
                                              name=form.name.data, ip=request.remote_addr or "")
                form = KeyForm(formdata=None)
            except api_keys.ApiKeyError as exc:
                form.name.errors.append(str(exc))
                status = 400
        else:
            status = 400
    q = search_arg()
    page = Page.from_request(matching(api_keys.keys_of(owner), q, ApiKey.name, ApiKey.prefix),
                             PER_PAGE)
    return render_template("api_keys/index.html", form=form, keys=page.items, page=page, q=q,
                           secret=secret, revoke=RevokeForm(), endpoint=endpoint,
                           revoke_endpoint=endpoint.rsplit("_", 1)[0] + "_revoke",
                           is_provider=owner is None), status


def _revoke(owner: int | None, key_id: int, endpoint: str):
    if not RevokeForm().validate_on_submit():
        abort(400)
    key = api_keys.revoke(key_id, tenant_id=owner, user=current_user, ip=request.remote_addr or "")
    if key is None:
        abort(404)
    flash(_("Key \"%(name)s\" revoked: calls with it are refused from now on.", name=key.name),
          "success")
    return redirect(url_for(endpoint))


@bp.route("/api-keys", methods=["GET", "POST"])
@tenant_required(roles=("tenant",))
def tenant_keys():
    return _page(current_user.tenant_id, "api_keys.tenant_keys")


@bp.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@tenant_required(roles=("tenant",))
def tenant_revoke(key_id: int):
    return _revoke(current_user.tenant_id, key_id, "api_keys.tenant_keys")


@bp.route("/admin/api-keys", methods=["GET", "POST"])
@admin_required
def admin_keys():
    return _page(None, "api_keys.admin_keys")


@bp.route("/admin/api-keys/<int:key_id>/revoke", methods=["POST"])
@admin_required
def admin_revoke(key_id: int):
    return _revoke(None, key_id, "api_keys.admin_keys")
