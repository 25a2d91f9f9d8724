"""The settings of SMS, fax and e-mail campaigns (Campaign.sms_*, email_*, bounce_address,
smsc, fax_document): checked when saved, by the portal and the API alike (voxcast.campaigns.
editing), and what a campaign needs before it may start (`start_problem`).

The templates are the sending helpers' (voxcast.messaging.sms.templates,
voxcast.messaging.email.templates); they are imported when used, so the campaigns work
without them (nothing then checks the placeholders beyond what is saved)."""
from __future__ import annotations

import importlib
import re
from pathlib import Path

from models import Campaign, Tenant
from models.entities import FaxDocument, MESSAGE_CAMPAIGN_TYPES, SmscConnection
from models.tenancy import owns, scoped
from voxcast.accounts import email_address

from .schemas import SMS_SENDER_PATTERN, SMS_TEXT_MAX

TYPES = MESSAGE_CAMPAIGN_TYPES
TEXT_FIELDS = ("sms_text", "sms_sender", "email_subject", "email_html", "email_text")
ADDRESS_FIELDS = ("email_from", "bounce_address")
EMAIL_TEMPLATE_FIELDS = ("email_subject", "email_html", "email_text")
LIMITS = {"sms_text": SMS_TEXT_MAX, "sms_sender": 17, "email_subject": 255,
          "email_html": 200000, "email_text": 100000}
_SENDER = re.compile(SMS_SENDER_PATTERN)


def _helper(module: str):
    """A sending helper's module, or None while it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def sms_template_problems(text: str) -> list[str]:
    templates = _helper("voxcast.messaging.sms.templates")
    unknown = getattr(templates, "unknown_fields", None)
    if unknown is None:
        return []
    names = unknown(text or "")
    if not names:
        return []
    allowed = ", ".join("{%s}" % f for f in getattr(templates, "FIELDS", ()))
    return [f"Unknown placeholder {{{names[0]}}}" + (f"; use {allowed}" if allowed else "")]


def email_template_problems(subject: str, html: str, text: str, *, complete: bool) -> list[str]:
    """The e-mail helper's verdict on the templates; `complete` False (saving a draft): only
    what is wrong with the parts given, not the parts still missing."""
    templates = _helper("voxcast.messaging.email.templates")
    validate = getattr(templates, "validate_templates", None)
    if validate is None:
        return []
    if not complete:
        # stand-ins for what is not written yet, so only real mistakes are reported
        subject = subject if (subject or "").strip() else "-"
        if not (html or "").strip() and not (text or "").strip():
            text = "-"
    return list(validate(subject or "", html or "", text or ""))


def usable_smsc(smsc_id: int | None):
    """The SMSC connection a campaign with this choice sends over: its own if enabled, else
    (None chosen) the enabled default, else any enabled one, as the dispatcher picks;
    None when there is none."""
    if smsc_id:
        return SmscConnection.get_or_none(SmscConnection.id == smsc_id,
                                          SmscConnection.enabled == True)  # noqa: E712
    return (SmscConnection.select().where(SmscConnection.enabled == True)  # noqa: E712
            .order_by(SmscConnection.is_default.desc(), SmscConnection.id).first())


def smsc_choices():
    """The enabled SMSC connections a tenant may pick (provider level), default first."""
    return list(SmscConnection.select(SmscConnection.id, SmscConnection.name,
                                      SmscConnection.is_default)
                .where(SmscConnection.enabled == True)  # noqa: E712
                .order_by(SmscConnection.is_default.desc(), SmscConnection.name))


def fax_documents(tenant_id: int):
    return list(scoped(FaxDocument, tenant_id).order_by(FaxDocument.name, FaxDocument.id))


def check(campaign: Campaign, tenant: Tenant, data: dict, errors: dict[str, str]) -> dict:
    """The message settings in `data` checked; returns {column: value} to set. Problems go to
    `errors` under the API's field names."""
    values: dict = {}
    for name in TEXT_FIELDS:
        if name in data:
            value = data[name] if data[name] is not None else ""
            if not isinstance(value, str):
                errors[name] = "Text expected."
                continue
            value = value.replace("\r\n", "\n")
            if name in ("sms_sender", "email_subject"):
                value = value.strip()
            if len(value) > LIMITS[name]:
                errors[name] = f"At most {LIMITS[name]} characters."
                continue
            values[name] = value
    if "sms_sender" in values and not _SENDER.match(values["sms_sender"]):
        errors["sms_sender"] = ("A number (digits, optionally starting with +) or up to 11 "
                                "letters and digits.")
    if "sms_text" in values:
        problems = sms_template_problems(values["sms_text"])
        if problems:
            errors["sms_text"] = problems[0]
    for name in ADDRESS_FIELDS:
        if name in data:
            value = (data[name] or "").strip()
            if value:
                try:
                    value = email_address.normalize(value)
                except email_address.InvalidEmail as exc:
                    errors[name] = f"Not an e-mail address: {exc}"
                    continue
            values[name] = value
    if any(name in values for name in EMAIL_TEMPLATE_FIELDS):
        subject, html, text = (values.get(n, getattr(campaign, n) or "")
                               for n in EMAIL_TEMPLATE_FIELDS)
        problems = email_template_problems(subject, html, text, complete=False)
        if problems:
            field = ("email_subject" if problems[0].lower().startswith("subject")
                     else "email_html" if problems[0].lower().startswith("html")
                     else "email_text" if problems[0].lower().startswith("text")
                     else "email_html")
            errors[field] = "; ".join(problems)
    if "smsc_id" in data:
        smsc_id = data["smsc_id"] or None
        if smsc_id is not None and usable_smsc(smsc_id) is None:
            errors["smsc_id"] = "No such SMSC connection (or it is disabled)."
        else:
            values["smsc"] = smsc_id
    if "fax_document_id" in data:
        doc_id = data["fax_document_id"] or None
        if doc_id is not None and not owns(FaxDocument, tenant.id, doc_id):
            errors["fax_document_id"] = "No such fax document."
        else:
            values["fax_document"] = doc_id
    return values


def start_problem(campaign: Campaign, faxes_dir: Path | None) -> tuple[str, str] | None:
    """(field, reason) of the first thing a message campaign lacks to start, or None."""
    kind = campaign.type
    if kind == "sms":
        if not (campaign.sms_text or "").strip():
            return "sms_text", "Enter the SMS text"
        problems = sms_template_problems(campaign.sms_text)
        if problems:
            return "sms_text", f"The SMS text is not valid: {problems[0]}"
        if usable_smsc(campaign.smsc_id) is None:
            if campaign.smsc_id:
                return "smsc_id", "The campaign's SMSC connection is disabled or gone; choose another"
            return "smsc_id", "No SMSC connection is enabled: ask your provider"
    elif kind == "fax":
        doc = (scoped(FaxDocument, campaign.tenant_id)
               .where(FaxDocument.id == campaign.fax_document_id).first()
               if campaign.fax_document_id else None)
        if doc is None:
            return "fax_document_id", "Choose the document to fax"
        if not doc.tiff or doc.pages < 1:
            return "fax_document_id", f"The fax document '{doc.name}' is not converted yet"
        if faxes_dir is not None and not (Path(faxes_dir) / doc.tiff).is_file():
            return "fax_document_id", f"The fax document '{doc.name}' is missing; upload it again"
    elif kind == "email":
        problems = email_template_problems(campaign.email_subject, campaign.email_html,
                                           campaign.email_text, complete=True)
        if not (campaign.email_subject or "").strip():
            return "email_subject", "Enter the e-mail's subject"
        if not (campaign.email_html or "").strip() and not (campaign.email_text or "").strip():
            return "email_html", "Write the e-mail: an HTML part, a text part or both"
        if problems:
            return "email_html", "The e-mail templates are not valid: " + "; ".join(problems)
    return None
