"""Preview of an e-mail campaign for one contact of its group (/campaigns/<id>/email-preview).

The tenant picks a contact (searched by name or address); the page shows the subject and the
plain-text part as text, and the HTML part in `<iframe sandbox>` whose document is a separate
response (…/email-preview/<contact>/html) with its own strict Content-Security-Policy: no
script at all, the `sandbox` directive (a unique origin, no forms, no popups), framed only
by our own pages. The unsubscribe link points at a placeholder that unsubscribes no one."""
from __future__ import annotations

import html as html_lib

from flask import Blueprint, abort, render_template, request, url_for
from models import Campaign, Contact
from models.tenancy import get_scoped, scoped
from voxcast.messaging.dispatch import CONTACT_FIELDS
from voxcast.messaging.email import templates

from .auth import current_tenant_id, tenant_required
from .permissions import feature_required

bp = Blueprint("email_preview", __name__)
PICK_LIMIT = 50
PREVIEW_CSP = "; ".join((
    "default-src 'none'",
    "img-src https: data:",  # what the tenant's HTML shows; nothing it could run
    "style-src 'unsafe-inline'",  # e-mail HTML is styled inline
    "font-src https: data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "sandbox",
))


def _campaign(campaign_id: int) -> Campaign:
    campaign = get_scoped(Campaign, current_tenant_id(), campaign_id)
    if campaign.type != "email":
        abort(404)
    return campaign


def _contact(campaign: Campaign, contact_id: int) -> Contact:
    contact = get_scoped(Contact, current_tenant_id(), contact_id)
    if contact.group_id != campaign.group_id:
        abort(404)
    return contact


def _render(campaign: Campaign, contact: Contact):
    fields = {name: getattr(contact, name, "") or "" for name in CONTACT_FIELDS}
    fields[templates.UNSUBSCRIBE_VAR] = url_for("unsubscribe.unsubscribe", token="preview",
                                                _external=True)
    return templates.render(campaign.email_subject, campaign.email_html, campaign.email_text,
                            fields)


def _choices(campaign: Campaign, q: str) -> list[Contact]:
    if not campaign.group_id:
        return []
    query = scoped(Contact, current_tenant_id()).where(Contact.group == campaign.group_id)
    if q:
        like = f"%{q}%"
        query = query.where((Contact.email ** like) | (Contact.first_name ** like)
                            | (Contact.last_name ** like))
    return list(query.order_by(Contact.id).limit(PICK_LIMIT))


@bp.route("/campaigns/<int:campaign_id>/email-preview")
@tenant_required
@feature_required("email")
def preview(campaign_id: int):
    campaign = _campaign(campaign_id)
    q = request.args.get("q", "").strip()[:100]
    choices = _choices(campaign, q)
    raw = request.args.get("contact", "")
    contact = None
    if raw.isdigit():
        contact = _contact(campaign, int(raw))
    elif choices:
        contact = choices[0]
    mail = problem = None
    if contact is not None:
        try:
            mail = _render(campaign, contact)
        except templates.TemplateProblem as exc:
            problem = str(exc)
    return render_template("email/preview.html", campaign=campaign, choices=choices,
                           contact=contact, mail=mail, problem=problem, q=q)


@bp.route("/campaigns/<int:campaign_id>/email-preview/<int:contact_id>/html")
@tenant_required
@feature_required("email")
def preview_html(campaign_id: int, contact_id: int):
    campaign = _campaign(campaign_id)
    contact = _contact(campaign, contact_id)
    try:
        html = _render(campaign, contact).html
    except templates.TemplateProblem as exc:
        html = f"<p>{html_lib.escape(str(exc))}</p>"
    return html, 200, {"Content-Type": "text/html; charset=utf-8",
                       "Content-Security-Policy": PREVIEW_CSP,
                       "X-Frame-Options": "SAMEORIGIN"}
