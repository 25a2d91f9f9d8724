"""The campaign creation wizard: type -> contacts -> message -> dialling and hours -> review.

Every step is a real POST form with CSRF; what the earlier steps chose travels in a signed
hidden field (`state`), so nothing is kept on the server between steps and a step's page can
be opened on its own (it starts from defaults). Going on checks the step (the same checks the
campaign service makes: settings by flows_config, the tenant's own groups, IVRs, prompts,
extensions and queues, caller IDs, calling hours); the review shows what the campaign will do
(voxcast.campaigns.estimate) and creates it through voxcast.campaigns.editing, the one path the
campaign form and the API share. Routes are on the campaigns blueprint."""
from __future__ import annotations

import json

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, URLSafeSerializer
from wtforms import (BooleanField, IntegerField, RadioField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import Length, NumberRange, Optional

from models import ContactGroup, Contact, Tenant, User
from models.entities import FaxDocument, Ivr, Prompt
from models.tenancy import owns, scoped
from peewee import fn
from voxcast.audio import library
from voxcast.campaigns import calling_hours, editing, estimate, message_fields, settings_form
from voxcast.campaigns import services as campaign_service
from voxcast.campaigns.caller_ids import check_caller_id
from voxcast.campaigns.errors import CampaignError
from voxcast.tenants import features
from voxcast.tenants.timeslots import TimeslotError

from . import campaign_settings
from .auth import current_tenant_id, tenant_required
from .campaigns import (_actor, _settings, bp, campaign_types_allowed, campaigns_feature)
from .params import parse_id

STEPS = ("type", "contacts", "message", "dialling", "review")
STEP_LABELS = {"type": _l("Type"), "contacts": _l("Contacts"), "message": _l("Message"),
               "dialling": _l("Dialling and hours"), "review": _l("Review")}
TYPE_HINTS = {
    "voice_message": _l("A recorded or spoken message is played to each contact."),
    "voice_interactive": _l("The message is played; the contact presses a key to be put "
                            "through, opt out or hear it again."),
    "voice_ivr": _l("Each answered call runs one of your IVR menus."),
    "voice_survey": _l("Questions are asked; the contact answers each with a key."),
    "appointment_reminder": _l("A reminder with the contact's details; 1 confirms, 2 cancels, "
                               "3 puts through."),
    "voice_agent": _l("Answered calls are put through to your agents."),
    "sms": _l("A text message to each contact."),
    "fax": _l("A document faxed to each contact."),
    "email": _l("An e-mail to each contact."),
}
VOICE_WITH_MESSAGE = ("voice_message", "voice_interactive", "voice_agent")
# the campaign service's field -> the wizard step that asks for it
FIELD_STEP = {"name": "type", "type": "type", "group_id": "contacts",
              "caller_id": "dialling", "channel_limit": "dialling", "dial_timeout": "dialling",
              "retry_busy": "dialling", "retry_noanswer": "dialling",
              "retry_failed": "dialling", "retry_interval": "dialling",
              "retry_machine": "dialling", "windows": "dialling", "amd_enabled": "dialling",
              "amd_action": "dialling", "record": "dialling"}
# the campaign service's field -> this wizard's form field, where they differ
FORM_FIELD = {"group_id": "group", "ivr_id": "ivr", "agent_ids": "agents",
              "prompt_id": "message_prompt", "fax_document_id": "fax_document"}
DIALLING = ("caller_id", "channel_limit", "dial_timeout", "retry_busy", "retry_noanswer",
            "retry_interval", "windows", "amd_enabled", "record")
MESSAGE = ("message_text", "repeat_count", "script", "sms_text", "sms_sender",
           "email_subject", "email_html", "email_text")


class TypeStep(FlaskForm):
    name = StringField(_l("Campaign name"), validators=[Length(max=100)])
    type = RadioField(_l("What kind of campaign"), validate_choice=False)


class ContactsStep(FlaskForm):
    group = RadioField(_l("Contact list"), coerce=lambda v: parse_id(v) or 0,
                       validate_choice=False)  # the tenant's own: checked below


class MessageStep(FlaskForm):
    message_text = TextAreaField(_l("Text to speak"), validators=[Length(max=2000)],
                                 description=_l("Spoken in your account's language"))
    message_prompt = SelectField(_l("…or a prompt of your audio library"),
                                 coerce=lambda v: parse_id(v) or 0, validate_choice=False)
    repeat_count = IntegerField(_l("Play the message (times)"), default=1,
                                validators=[Optional(), NumberRange(1, 10)])
    ivr = SelectField(_l("IVR"), coerce=lambda v: parse_id(v) or 0, validate_choice=False)
    agents = SelectMultipleField(_l("Agents"), coerce=int, validate_choice=False,
                                 description=_l("Who takes this campaign's answered calls"))
    script = TextAreaField(_l("Script"), validators=[Length(max=20000)])
    sms_text = TextAreaField(_l("SMS text"), validators=[Length(max=1600)],
                             description=_l("{first_name}, {last_name}, {custom1} … are "
                                            "filled in"))
    sms_sender = StringField(_l("Sender"), validators=[Optional(), Length(max=17)])
    email_subject = StringField(_l("Subject"), validators=[Length(max=255)])
    email_html = TextAreaField(_l("HTML part"), validators=[Length(max=200000)])
    email_text = TextAreaField(_l("Plain-text part"), validators=[Length(max=100000)])
    fax_document = SelectField(_l("Document"), coerce=lambda v: parse_id(v) or 0,
                               validate_choice=False)


class DiallingStep(FlaskForm):
    caller_id = StringField(_l("Caller ID"), validators=[Optional(), Length(max=21)])
    channel_limit = IntegerField(_l("Channels"), default=5, validators=[NumberRange(1, 10000)])
    dial_timeout = IntegerField(_l("Ring for (seconds)"), default=30,
                                validators=[NumberRange(5, 120)])
    retry_busy = IntegerField(_l("Retries when busy"), default=2,
                              validators=[NumberRange(0, 10)])
    retry_noanswer = IntegerField(_l("Retries on no answer"), default=2,
                                  validators=[NumberRange(0, 10)])
    retry_interval = IntegerField(_l("Seconds between retries"), default=300,
                                  validators=[NumberRange(30, 86400)])
    windows = StringField(_l("Calling hours"), validators=[Length(max=500)],
                          description=_l("e.g. Mon-Fri 09:00-17:00, Sat 10:00-13:00 (your time "
                                         "zone; empty: your account's hours apply)"))
    amd_enabled = BooleanField(_l("Detect answering machines"))
    record = BooleanField(_l("Record answered calls"))


class ReviewStep(FlaskForm):
    pass


STEP_FORMS = {"type": TypeStep, "contacts": ContactsStep, "message": MessageStep,
              "dialling": DiallingStep, "review": ReviewStep}
DEFAULTS = {"type": "", "name": "", "group_id": None, "message_text": "", "prompt_id": None,
            "repeat_count": 1, "ivr_id": None, "agent_ids": [], "script": "", "sms_text": "",
            "sms_sender": "", "email_subject": "", "email_html": "", "email_text": "",
            "fax_document_id": None, "caller_id": "", "channel_limit": 5, "dial_timeout": 30,
            "retry_busy": 2, "retry_noanswer": 2, "retry_interval": 300, "windows": "",
            "amd_enabled": False, "record": False, "settings": {}}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="campaign-wizard")


def _load_state(tenant: Tenant) -> dict:
    """The wizard's campaign so far: from the signed hidden field of a POST, else defaults."""
    state = dict(DEFAULTS)
    state["channel_limit"] = min(5, max(tenant.channel_limit, 1))
    raw = request.form.get("state", "") if request.method == "POST" else ""
    if raw:
        try:
            saved = _serializer().loads(raw)
        except BadSignature:
            saved = {}
        if isinstance(saved, dict):
            state.update({k: v for k, v in saved.items() if k in DEFAULTS})
    elif request.args.get("type") in campaign_types_allowed(tenant):  # a link to one kind
        state["type"] = request.args["type"]
    if not state["settings"]:
        state["settings"] = campaign_settings.values_from_flow("", {})
    return state


def _kind(state: dict, tenant: Tenant) -> str:
    allowed = campaign_types_allowed(tenant)
    return state["type"] if state["type"] in allowed else (allowed[0] if allowed else "")


def _flow(kind: str, state: dict) -> str:
    if kind in settings_form.FORM_TYPES:
        return json.dumps(settings_form.from_form(kind, state["settings"].get(kind, {})))
    return ""


def service_data(kind: str, state: dict) -> dict:
    """The wizard's campaign as the campaign service's input (the API's field names)."""
    data = {name: state[name] for name in ("name", "group_id", "caller_id", "channel_limit",
                                           "dial_timeout", "retry_busy", "retry_noanswer",
                                           "retry_interval", "windows", "amd_enabled",
                                           "record")}
    data.update(type=kind, flow=_flow(kind, state),
                repeat_count=int(state["repeat_count"] or 1) if kind == "voice_message" else 1,
                ivr_id=state["ivr_id"] if kind == "voice_ivr" else None)
    if kind in message_fields.TYPES:
        for name in ("sms_text", "sms_sender", "email_subject", "email_html", "email_text"):
            data[name] = state[name]
        data["fax_document_id"] = state["fax_document_id"] if kind == "fax" else None
    else:
        data["message_text"] = state["message_text"] if kind in VOICE_WITH_MESSAGE else ""
        if state["prompt_id"] and kind in VOICE_WITH_MESSAGE:
            data["prompt_id"] = state["prompt_id"]
    if kind == "voice_agent":
        data.update(agent_ids=state["agent_ids"], script=state["script"])
    return data


def _choices(form, step: str, tenant: Tenant, kind: str) -> None:
    """The step's pickers: the tenant's own objects only."""
    if step == "type":
        form.type.choices = [(t, _(features.label(t))) for t in campaign_types_allowed(tenant)]
    elif step == "contacts":
        counts = dict(scoped(Contact, tenant.id).select(Contact.group, fn.COUNT(Contact.id))
                      .group_by(Contact.group).tuples())
        form.group.choices = [
            (g.id, _("%(name)s (%(n)s contacts)", name=g.name, n=counts.get(g.id, 0)))
            for g in scoped(ContactGroup, tenant.id).order_by(ContactGroup.name)]
    elif step == "message":
        form.message_prompt.choices = [(0, _("— none —"))] + [
            (p.id, f"{p.name} ({p.seconds} s)") for p in library.prompts(tenant.id)]
        form.ivr.choices = [(0, _("— choose —"))] + [
            (i.id, i.name) for i in scoped(Ivr, tenant.id).order_by(Ivr.name)]
        form.agents.choices = [
            (u.id, u.username) for u in scoped(User, tenant.id).where(User.role == "agent")
            .order_by(User.username)]
        form.fax_document.choices = [(0, _("— choose —"))] + [
            (d.id, _("%(name)s (%(pages)s pages)", name=d.name, pages=d.pages))
            for d in message_fields.fax_documents(tenant.id)]
    elif step == "dialling":
        limit = max(tenant.channel_limit, 1)
        form.channel_limit.validators = [NumberRange(1, limit, message=_(
            "Between 1 and %(limit)s.", limit=limit))]
        form.channel_limit.description = _("Your account allows up to %(limit)s.", limit=limit)


def _form_data(step: str, state: dict) -> dict:
    if step == "type":
        return {"name": state["name"], "type": state["type"]}
    if step == "contacts":
        return {"group": state["group_id"] or 0}
    if step == "message":
        return {**{n: state[n] for n in MESSAGE}, "message_prompt": state["prompt_id"] or 0,
                "ivr": state["ivr_id"] or 0, "agents": state["agent_ids"],
                "fax_document": state["fax_document_id"] or 0}
    if step == "dialling":
        return {n: state[n] for n in DIALLING}
    return {}


def _merge(step: str, form, state: dict) -> None:
    """This step's posted fields into the state."""
    if step == "type":
        state.update(name=(form.name.data or "").strip(), type=form.type.data or "")
    elif step == "contacts":
        state["group_id"] = form.group.data or None
    elif step == "message":
        for name in MESSAGE:
            value = getattr(form, name).data
            state[name] = value if value is not None else DEFAULTS[name]
        state.update(prompt_id=form.message_prompt.data or None, ivr_id=form.ivr.data or None,
                     agent_ids=list(form.agents.data or []),
                     fax_document_id=form.fax_document.data or None)
        posted = campaign_settings.values_from_post(request.form)
        for kind, values in posted.items():
            if values:
                state["settings"][kind] = values
    elif step == "dialling":
        for name in DIALLING:
            value = getattr(form, name).data
            state[name] = value if value is not None else DEFAULTS[name]


def _check(step: str, state: dict, tenant: Tenant, kind: str) -> tuple[dict, dict]:
    """This step's problems: ({form field: [messages]}, {settings errors by type})."""
    errors: dict[str, list[str]] = {}
    settings_errors: dict = {}
    if step == "type":
        if not state["name"]:
            errors["name"] = [_("Enter a name.")]
        if state["type"] not in campaign_types_allowed(tenant):
            errors["type"] = [_("Choose one of the kinds your plan includes.")]
    elif step == "contacts":
        if not state["group_id"] or not owns(ContactGroup, tenant.id, state["group_id"]):
            errors["group"] = [_("Choose one of your contact lists (create one under "
                                 "Contacts first).")]
    elif step == "message":
        if kind in ("voice_message", "voice_interactive") and not (
                (state["message_text"] or "").strip() or state["prompt_id"]):
            errors["message_text"] = [_("Type the text to speak or choose a prompt.")]
        if state["prompt_id"] and not owns(Prompt, tenant.id, state["prompt_id"]):
            errors["message_prompt"] = [_("No such prompt in your audio library.")]
        if kind == "voice_ivr" and not (state["ivr_id"] and owns(Ivr, tenant.id, state["ivr_id"])):
            errors["ivr"] = [_("Choose the IVR this campaign runs.")]
        if kind == "sms" and not (state["sms_text"] or "").strip():
            errors["sms_text"] = [_("Enter the SMS text.")]
        if kind == "email":
            if not (state["email_subject"] or "").strip():
                errors["email_subject"] = [_("Enter the e-mail's subject.")]
            if not (state["email_html"] or "").strip() and not (state["email_text"] or "").strip():
                errors["email_text"] = [_("Write the e-mail: an HTML part, a text part or both.")]
        if kind == "fax" and not (state["fax_document_id"]
                                  and owns(FaxDocument, tenant.id,
                                           state["fax_document_id"])):
            errors["fax_document"] = [_("Choose the document to fax.")]
        if kind in settings_form.FORM_TYPES:
            messages = campaign_settings.check(tenant.id, kind, _flow(kind, state))
            settings_errors = campaign_settings.errors_by_field(kind, messages)
    elif step == "dialling":
        try:
            check_caller_id(tenant.id, state["caller_id"])
        except CampaignError as exc:
            errors["caller_id"] = [str(exc)]
        try:
            calling_hours.parse_text(state["windows"] or "")
        except TimeslotError as exc:
            errors["windows"] = [str(exc)]
    return errors, settings_errors


def _render(step: str, state: dict, tenant: Tenant, *, form=None, errors=None,
            settings_errors=None, status: int = 200):
    kind = _kind(state, tenant)
    if form is None:
        form = STEP_FORMS[step](formdata=None, data=_form_data(step, state))
    _choices(form, step, tenant, kind)
    for name, messages in (errors or {}).items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, *messages]
    extra: dict = {}
    if step == "message":
        extra["s"] = campaign_settings.view(tenant.id, state["settings"], settings_errors)
    if step == "review":
        data = service_data(kind, state)
        extra["review"] = estimate.review(tenant, data)
        extra["group"] = (scoped(ContactGroup, tenant.id)
                          .where(ContactGroup.id == state["group_id"]).first()
                          if state["group_id"] else None)
        extra["settings_json"] = data["flow"]
        extra["tenant"] = tenant
        extra["ivr"] = (scoped(Ivr, tenant.id).where(Ivr.id == state["ivr_id"]).first()
                        if kind == "voice_ivr" and state["ivr_id"] else None)
    index = STEPS.index(step)
    return render_template(
        "campaigns/wizard.html", step=step, steps=STEPS, labels=STEP_LABELS, form=form,
        kind=kind, kind_label=_(features.label(kind)) if kind else "", hints=TYPE_HINTS,
        state=state, token=_serializer().dumps(state), prev=STEPS[index - 1] if index else None,
        message_types=message_fields.TYPES, voice_with_message=VOICE_WITH_MESSAGE,
        has_errors=bool(errors or settings_errors), general=(errors or {}).get("", []),
        **extra), status


def _step(step: str):
    tenant = Tenant.get_by_id(current_tenant_id())
    state = _load_state(tenant)
    if request.method == "GET":
        return _render(step, state, tenant)
    form = STEP_FORMS[step]()
    kind_before = _kind(state, tenant)
    _choices(form, step, tenant, kind_before)
    form.validate()
    if "csrf_token" in form.errors:
        return _render(step, state, tenant, errors={"": [_("The form has expired; please "
                                                            "try again.")]}, status=400)
    _merge(step, form, state)
    kind = _kind(state, tenant)
    if step == "message" and campaign_settings.apply_action(state["settings"], request.form):
        return _render(step, state, tenant)
    go = request.form.get("go", "next")
    if go in STEPS:  # back, or a "change" link of the review
        return _render(go, state, tenant)
    field_errors = {k: list(v) for k, v in form.errors.items() if k != "csrf_token"}
    errors, settings_errors = _check(step, state, tenant, kind)
    for name, messages in field_errors.items():
        errors.setdefault(name, []).extend(m for m in messages if m not in errors.get(name, []))
    if errors or settings_errors:
        return _render(step, state, tenant, errors=errors, settings_errors=settings_errors,
                       status=400)
    if step != "review":
        return _render(STEPS[STEPS.index(step) + 1], state, tenant)
    return _create(state, tenant, kind, start=go == "create_start")


def _create(state: dict, tenant: Tenant, kind: str, start: bool = False):
    """The review's "Create": the campaign service checks everything again and saves."""
    for earlier in STEPS[:-1]:  # a state put together by hand is checked step by step
        errors, settings_errors = _check(earlier, state, tenant, kind)
        if errors or settings_errors:
            return _render(earlier, state, tenant, errors=errors,
                           settings_errors=settings_errors, status=400)
    try:
        campaign = editing.create(tenant, service_data(kind, state), settings=_settings(),
                                  actor=_actor())
    except CampaignError as exc:
        fields = dict(exc.fields)
        step = next((FIELD_STEP.get(name, "message") for name in fields), "review")
        errors = {FORM_FIELD.get(n, n): [why] for n, why in fields.items() if n != "flow"}
        settings_errors = {}
        if "flow" in fields:
            settings_errors = campaign_settings.errors_by_field(kind, [fields["flow"]])
        if not errors and not settings_errors:
            errors = {"": [str(exc)]}
        return _render(step, state, tenant, errors=errors, settings_errors=settings_errors,
                       status=400)
    if not start:
        flash(_("Campaign '%(name)s' created. Start it when you are ready.", name=campaign.name),
              "success")
        return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
    try:
        campaign_service.start(campaign, _settings())
    except CampaignError as exc:  # saved all the same: its page says why it cannot start
        flash(_("Campaign '%(name)s' created, but not started: %(why)s", name=campaign.name,
                why=str(exc)), "error")
    else:
        flash(_("Campaign '%(name)s' created and started.", name=campaign.name), "success")
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/wizard/", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def wizard():
    return _step("type")


@bp.route("/wizard/contacts", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def wizard_contacts():
    return _step("contacts")


@bp.route("/wizard/message", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def wizard_message():
    return _step("message")


@bp.route("/wizard/dialling", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def wizard_dialling():
    return _step("dialling")


@bp.route("/wizard/review", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def wizard_review():
    return _step("review")


STEP_ENDPOINTS = {"type": "campaigns.wizard", "contacts": "campaigns.wizard_contacts",
                  "message": "campaigns.wizard_message", "dialling": "campaigns.wizard_dialling",
                  "review": "campaigns.wizard_review"}
