"""The unsubscribe link of campaign e-mails: public, no login (/u/<token>).

The token (voxcast.messaging.email.tokens) is signed with the instance secret and names the
tenant, the address and the campaign: it can only unsubscribe that address from that
tenant's mail, and shows nothing else. GET shows a confirmation page with a button (a form
with a CSRF token: mail scanners that follow links unsubscribe no one); its POST, or the
RFC 8058 one-click POST the mail client sends (body `List-Unsubscribe=One-Click`, no cookies,
hence the only request exempt from CSRF), puts the address on the tenant's e-mail DNC list
(source unsubscribe, tenant log entry). Repeating it changes nothing. A token that was
altered is refused with 400."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from models import Tenant
from voxcast.messaging.email import dnc as email_dnc
from voxcast.messaging.email.tokens import BadToken, Signer

from . import csrf

bp = Blueprint("unsubscribe", __name__)
ONE_CLICK = "One-Click"


@bp.after_request
def no_referrer(response):
    """The token is in the address: Referer headers carry the origin only."""
    response.headers["Referrer-Policy"] = "strict-origin"
    return response


def _refused():
    return render_template("error.html", code=400, message=_(
        "This unsubscribe link is not valid: it was changed or cut short. Open the link "
        "from the e-mail again, or reply to the sender.")), 400


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt  # only for the RFC 8058 one-click POST; the confirm form is checked below
def unsubscribe(token: str):
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == ONE_CLICK
    if request.method == "POST" and not one_click:
        csrf.protect()  # the confirm page's button
    try:
        ref = Signer(current_app.config["SECRET_KEY"]).read_unsubscribe(token)
    except BadToken:
        return _refused()
    tenant = Tenant.get_or_none(Tenant.id == ref.tenant_id)
    if tenant is None:
        return _refused()
    if request.method == "GET":
        return render_template("email/unsubscribe.html", address=ref.address,
                               sender=tenant.name, done=False)
    detail = ("one-click (RFC 8058)" if one_click else "confirmed on the unsubscribe page")
    if ref.campaign_id:
        detail += f", campaign {ref.campaign_id}"
    email_dnc.add(tenant.id, [ref.address], "unsubscribe", ip=request.remote_addr or "",
                  detail=detail)
    if one_click:
        return _("Unsubscribed."), 200, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("email/unsubscribe.html", address=ref.address, sender=tenant.name,
                           done=True)
