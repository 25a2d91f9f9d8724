"""Inbound SMS (/sms/inbound/): the messages sent to the tenant's numbers, newest first, and
the opt-out words that put a sender on the tenant's DNC list (Tenant.sms_opt_out_words)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from models import Tenant, database
from models.entities import Message
from models.tenancy import scoped
from voxcast.audit import records as audit
from voxcast.messaging.sms import optout

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .permissions import feature_required

bp = Blueprint("inbound_sms", __name__, url_prefix="/sms/inbound")
PER_PAGE = 50
SETTINGS_ROLES = ("tenant",)  # the tenant's administrator


class OptOutForm(FlaskForm):
    words = StringField(_l("Opt-out words"), validators=[Length(max=500)],
                        description=_l("Separated by spaces or commas; matched in any case, "
                                       "with punctuation ignored, against the whole message or "
                                       "its first word."))


def _received(tid: int):
    return (scoped(Message, tid)
            .where(Message.channel == "sms", Message.direction == "inbound",
                   Message.state != "receiving")  # a concatenated one's parts: not yet whole
            .order_by(Message.created_at.desc(), Message.id.desc()))


@bp.route("/")
@tenant_required
@feature_required("sms")
def index():
    tid = current_tenant_id()
    tenant = Tenant.get_by_id(tid)
    q = search_arg()
    page = Page.from_request(matching(_received(tid), q, Message.address, Message.sender,
                                      Message.body), PER_PAGE)
    form = OptOutForm(words=tenant.sms_opt_out_words)
    return render_template("sms/inbound.html", page=page, q=q, form=form,
                           can_edit=current_user.role in SETTINGS_ROLES,
                           words=sorted(optout.words(tenant.sms_opt_out_words)),
                           is_opt_out=lambda text: optout.is_opt_out(text, tenant.sms_opt_out_words))


@bp.route("/opt-out-words", methods=["POST"])
@tenant_required(roles=SETTINGS_ROLES)
@feature_required("sms")
def opt_out_words():
    form = OptOutForm()
    if form.validate_on_submit():
        tid = current_tenant_id()
        value = " ".join((form.words.data or "").replace(",", " ").split())
        with database.atomic():
            Tenant.update(sms_opt_out_words=value).where(Tenant.id == tid).execute()
            audit.record("sms.opt_out_words", tenant_id=tid, user=current_user,
                         object_type="tenant", object_id=tid, detail=value,
                         ip=request.remote_addr or "")
        flash(_("Opt-out words saved.") if value
              else _("Opt-out words removed: no inbound SMS opts a sender out now."), "success")
    else:
        for errors in form.errors.values():
            for e in errors:
                flash(e, "error")
    return redirect(url_for("inbound_sms.index"))
