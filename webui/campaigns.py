"""Tenant campaigns: list with live progress, create/edit, detail, start/pause/stop."""
from __future__ import annotations

import functools
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path

from flask import (Blueprint, Response, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (BooleanField, DecimalField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from werkzeug.routing import BuildError
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from models import Campaign, CampaignContact, Contact, ContactGroup, SystemStatus, Tenant, User
from models.entities import CAMPAIGN_TYPES, FaxDocument, Ivr, SmscConnection, utcnow
from models.cached_sql import ScopedList
from models.tenancy import get_scoped, scoped
from voxcast.audio import library
from voxcast.campaigns import calling_hours
from voxcast.ivr import services as flow_service
from voxcast.campaigns import flows_config
from voxcast.campaigns import services as campaign_service
from voxcast.tenants import features
from voxcast.campaigns import editing, message_fields
from voxcast.campaigns.errors import CampaignError
from voxcast.dialing import predictive

from . import campaign_settings
from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .params import parse_id
from .permissions import current_tenant, feature_required
from .status import ari_state
from .viewer import viewer_zone

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")


def campaign_types_allowed(tenant: Tenant | None) -> list[str]:
    return [t for t in CAMPAIGN_TYPES if features.allows_campaign(tenant, t)]


@bp.app_template_global()
def has_campaign_feature() -> bool:
    """The tenant's plan includes some kind of campaign (the nav shows Campaigns)."""
    tenant = current_tenant()
    return tenant is not None and bool(campaign_types_allowed(tenant))


def campaigns_feature(view):
    """The campaign pages: 403 naming the campaign kinds when the plan includes none of
    them (each type's own feature is checked where a campaign is created or started)."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        tenant = current_tenant()
        if tenant is not None and not campaign_types_allowed(tenant):
            message = _("Your plan includes no campaigns (%(kinds)s). Ask your provider to "
                        "enable them.", kinds=", ".join(
                            _(features.label(t)) for t in CAMPAIGN_TYPES))
            return render_template("error.html", code=403, message=message), 403
        return view(*args, **kwargs)
    return wrapped

# Shown beside the settings field: a working example per type.
EXAMPLES = {t: json.dumps(cfg) for t, cfg in flows_config.EXAMPLES.items() if cfg}
EDITABLE = ("name", "caller_id", "channel_limit", "dial_timeout", "retry_busy",
            "retry_noanswer", "retry_failed", "retry_interval", "retry_machine", "amd_enabled",
            "amd_action", "record", "windows", "dial_ratio", "wrapup_seconds", "script",
            "web_form_url")
MESSAGE_TEXT = ("sms_text", "sms_sender", "email_subject", "email_html", "email_text",
                "email_from", "bounce_address")


class WindowsField(StringField):
    """Calling windows typed as "Mon-Fri 09:00-17:00, Sat 10:00-13:00" (stored as JSON; the
    campaign service parses and checks the text)."""

    def _value(self):
        data = self.data or ""
        if data.lstrip().startswith("["):  # as stored
            return calling_hours.to_text(calling_hours.windows_from_json(data))
        return data

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = valuelist[0]


class CampaignForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    group = SelectField("Contact group", coerce=int, validators=[DataRequired(
        message="Choose a contact group (create one under Contacts first).")])
    message_audio = FileField("Message audio file")
    message_text = TextAreaField("…or text to speak", validators=[Length(max=2000)])
    message_prompt = SelectField(_l("…or a prompt of your audio library"),
                                 coerce=lambda v: parse_id(v) or 0, default=0,
                                 validate_choice=False)  # the tenant's own: checked by editing
    caller_id = StringField("Caller ID", validators=[
        Optional(), Regexp(r"^\+?[0-9]{2,20}$", message="Digits only, optionally starting with +.")])
    channel_limit = IntegerField("Channels", default=5)
    dial_timeout = IntegerField("Ring for (seconds)", default=30,
                                validators=[NumberRange(5, 120)])
    retry_busy = IntegerField("Retries when busy", default=2, validators=[NumberRange(0, 10)])
    retry_noanswer = IntegerField("Retries on no answer", default=2,
                                  validators=[NumberRange(0, 10)])
    retry_failed = IntegerField("Retries when failed", default=0, validators=[NumberRange(0, 10)])
    retry_interval = IntegerField("Seconds between retries", default=300,
                                  validators=[NumberRange(30, 86400)])
    retry_machine = IntegerField(_l("Retries on answering machine"), default=0,
                                 validators=[NumberRange(0, 10)])
    amd_enabled = BooleanField(_l("Detect answering machines"))
    amd_action = SelectField(_l("When a machine answers"), default="hangup", choices=[
        ("hangup", _l("Hang up")), ("leave_message", _l("Leave the message after the beep"))])
    record = BooleanField(_l("Record answered calls"))
    windows = WindowsField(_l("Calling hours"), default="", validators=[Length(max=500)],
                           description=_l("e.g. Mon-Fri 09:00-17:00, Sat 10:00-13:00 (your time "
                                          "zone; empty: your account's hours apply)"))
    type = SelectField("Campaign type", default="voice_message")
    repeat_count = IntegerField("Play the message (times)", default=1,
                                validators=[NumberRange(1, 10)])
    ivr = SelectField("IVR", coerce=lambda v: parse_id(v) or 0, default=0,
                      validate_choice=False)  # checked by tenancy
    flow = TextAreaField(_l("Settings (JSON)"), validators=[Length(max=20000)],
                         description=_l("Advanced: the settings as the API takes them. Left as "
                                        "shown, the form above is saved; edited, this is."))
    # Voice Agent campaigns
    dial_ratio = DecimalField(_l("Lines per ready agent"), default=1, places=2,
                              validators=[NumberRange(1, 3)],
                              description=_l("1.0 dials one contact per ready agent; up to "
                                             "3.0 dials more, at the risk of abandoned calls"))
    pacing_mode = SelectField(_l("Pacing"), default="ratio", choices=[
        ("ratio", _l("Fixed ratio: lines per ready agent")),
        ("predictive", _l("Predictive: adapts to live figures, under the abandon cap"))])
    abandon_cap_pct = DecimalField(_l("Abandon cap (%)"), default=Decimal("3.00"), places=2,
                                   validators=[NumberRange(0.5, 10)],
                                   description=_l("Predictive pacing never lets abandoned calls "
                                                  "exceed this share of live-answered calls over "
                                                  "the campaign (3 % is the usual legal limit)"))
    wrapup_seconds = IntegerField(_l("Wrap-up (seconds)"), default=10,
                                  validators=[NumberRange(0, 3600)],
                                  description=_l("After-call work before the next call"))
    agents = SelectMultipleField(_l("Agents"), coerce=int, validate_choice=False,
                                 description=_l("Who takes this campaign's answered calls"))
    script = TextAreaField(_l("Script"), validators=[Length(max=20000)],
                           description=_l("What the agent reads, shown with the contact"))
    web_form_url = StringField(_l("CRM web form URL"), validators=[Optional(), Length(max=500)],
                               description=_l("Opened in the agent console; {phone}, "
                                              "{first_name}, {last_name}, {email}, {custom1} … "
                                              "{custom8} are filled in"))
    # SMS campaigns
    sms_text = TextAreaField(_l("SMS text"), validators=[Length(max=1600)],
                             render_kw={"data-sms-counter": "sms-counter", "rows": 5,
                                        "data-sms-counter-format": _l(
                                            "{units} characters, {segments} SMS ({encoding}), "
                                            "{left} left in this SMS")},
                             description=_l("{first_name}, {last_name}, {email}, {phone}, "
                                            "{custom1} … {custom8} are filled in; each segment "
                                            "is charged as one message"))
    sms_sender = StringField(_l("Sender"), validators=[Optional(), Length(max=17)],
                             description=_l("A number or up to 11 letters and digits; empty: "
                                            "the connection's sender"))
    smsc = SelectField(_l("SMSC connection"), coerce=lambda v: parse_id(v) or 0, default=0,
                       validate_choice=False)  # checked by the campaign service
    # E-mail campaigns
    email_subject = StringField(_l("Subject"), validators=[Length(max=255)])
    email_html = TextAreaField(_l("HTML part"), validators=[Length(max=200000)],
                               render_kw={"rows": 10},
                               description=_l("A template: {{ first_name }}, {{ custom1 }} … "
                                              "are filled in; an unsubscribe link is added"))
    email_text = TextAreaField(_l("Plain-text part"), validators=[Length(max=100000)],
                               render_kw={"rows": 6},
                               description=_l("For mail programs that show no HTML"))
    email_from = StringField(_l("From address"), validators=[Optional(), Length(max=254)],
                             description=_l("Empty: the provider's sender"))
    bounce_address = StringField(_l("Bounce address"), validators=[Optional(), Length(max=254)],
                                 description=_l("Where undeliverable mail is reported "
                                                "(Return-Path); empty: the provider's"))
    # Fax campaigns
    fax_document = SelectField(_l("Document"), coerce=lambda v: parse_id(v) or 0, default=0,
                               validate_choice=False)  # checked by tenancy


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


def _form(tenant: Tenant, campaign: Campaign | None = None) -> CampaignForm:
    form = CampaignForm(obj=campaign) if campaign else CampaignForm()
    groups = scoped(ContactGroup, tenant.id).order_by(ContactGroup.name)
    form.group.choices = [(0, "— choose —")] + [(g.id, g.name) for g in groups]
    if campaign is not None and request.method == "GET":
        form.group.data = campaign.group_id or 0
    limit = max(tenant.channel_limit, 1)
    form.channel_limit.validators = [NumberRange(1, limit, message=f"Between 1 and {limit}.")]
    form.channel_limit.description = f"Your account allows up to {limit}."
    form.channel_limit.render_kw = {"max": limit}
    if campaign is None and request.method == "GET":
        form.channel_limit.data = min(form.channel_limit.data or 5, limit)
    types = [t for t in CAMPAIGN_TYPES if features.allows_campaign(tenant, t)
             or (campaign is not None and campaign.type == t)]
    form.type.choices = [(t, features.label(t)) for t in types]
    numbers = campaign_service.caller_ids(tenant.id)
    form.caller_id.description = (
        _("One of your numbers (%(numbers)s), or empty for the default.",
          numbers=", ".join(numbers[:20]) + (" …" if len(numbers) > 20 else ""))
        if numbers else _("Empty: the default number (you have no DID to show)."))
    ivrs = scoped(Ivr, tenant.id).order_by(Ivr.name)
    form.ivr.choices = [(0, "— none —")] + [(i.id, i.name) for i in ivrs]
    if campaign is not None and request.method == "GET":
        form.ivr.data = campaign.ivr_id or 0
        form.flow.data = json.dumps(flow_service.flow_of(campaign), indent=2) if campaign.flow else ""
    agents = (scoped(User, tenant.id).where(User.role == "agent")
              .order_by(User.last_name, User.first_name, User.username))
    form.agents.choices = [(u.id, " ".join(filter(None, (u.first_name, u.last_name)))
                            + f" ({u.username})" if u.first_name or u.last_name else u.username)
                           for u in agents]
    if campaign is not None and request.method == "GET":
        form.agents.data = editing.agent_ids(campaign)
    form.smsc.choices = [(0, _("Default connection"))] + [
        (c.id, c.name + (" (" + _("default") + ")" if c.is_default else ""))
        for c in message_fields.smsc_choices()]
    form.fax_document.choices = [(0, _("— choose —"))] + [
        (d.id, _("%(name)s (%(pages)s pages)", name=d.name, pages=d.pages))
        for d in message_fields.fax_documents(tenant.id)]
    prompts = library.prompts(tenant.id)
    form.message_prompt.choices = [(0, _("— none —"))] + [
        (p.id, f"{p.name} ({p.seconds} s)") for p in prompts]
    if campaign is not None and request.method == "GET":
        form.smsc.data = campaign.smsc_id or 0
        form.fax_document.data = campaign.fax_document_id or 0
        form.message_prompt.data = next((p.id for p in prompts
                                         if p.sound == campaign.message_file), 0)
    return form


def _data(form: CampaignForm) -> dict:
    """The form as the campaign service's input (the API's field names)."""
    data = {name: getattr(form, name).data for name in EDITABLE}
    data.update(group_id=form.group.data or None, type=form.type.data,
                flow=(form.flow.data or "").strip(), repeat_count=form.repeat_count.data or 1,
                ivr_id=form.ivr.data or None, message_text=form.message_text.data or "",
                agent_ids=form.agents.data or [], script=form.script.data or "",
                web_form_url=form.web_form_url.data or "",
                wrapup_seconds=form.wrapup_seconds.data if form.wrapup_seconds.data is not None else 10,
                dial_ratio=form.dial_ratio.data if form.dial_ratio.data is not None else 1,
                pacing_mode=form.pacing_mode.data or "ratio",
                abandon_cap_pct=(form.abandon_cap_pct.data
                                 if form.abandon_cap_pct.data is not None else Decimal("3.00")))
    data.update({name: getattr(form, name).data or "" for name in MESSAGE_TEXT})
    data.update(smsc_id=form.smsc.data or None, fax_document_id=form.fax_document.data or None)
    if form.message_prompt.data:
        data["prompt_id"] = form.message_prompt.data
    return data


def _save_upload(storage) -> Path | None:
    if storage is None or not getattr(storage, "filename", ""):
        return None
    fd, name = tempfile.mkstemp(prefix="voxcast-upload-", suffix=Path(storage.filename).suffix[:10])
    os.close(fd)
    storage.save(name)
    return Path(name)


# Service field names -> this form's field names, where they differ.
FORM_FIELD = {"group_id": "group", "ivr_id": "ivr", "agent_ids": "agents", "smsc_id": "smsc",
              "fax_document_id": "fax_document", "prompt_id": "message_prompt"}


def _save(form: CampaignForm, save) -> str | None:
    """Run the campaign service's create or update with the form; None when saved, else the
    error to show (field errors are put on their fields)."""
    upload = _save_upload(form.message_audio.data)
    try:
        save(_data(form), upload)
    except CampaignError as exc:
        for name, why in exc.fields.items():
            field = getattr(form, FORM_FIELD.get(name, name), None)
            if field is not None and name != "flow":
                field.errors = [*field.errors, why]
        return str(exc)
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)
    return None


def _endpoint_url(endpoint: str, **values) -> str | None:
    """A link to another helper's page, only once its view is registered."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _links(campaign: Campaign | None) -> dict:
    """The pages of the e-mail preview and the fax documents, when they exist."""
    return {"email_preview_url": _endpoint_url("email_preview.preview", campaign_id=campaign.id)
            if campaign is not None else None,
            "fax_documents_url": _endpoint_url("fax_documents.index")}


def _actor() -> editing.Actor:
    return editing.Actor(current_user, request.remote_addr or "")


NEWEST_FIRST = (Campaign.created_at.desc(), Campaign.id.desc())
# scoped(Campaign, tenant).order_by(*NEWEST_FIRST), its SQL built once (models.cached_sql)
CAMPAIGNS = ScopedList(Campaign, *NEWEST_FIRST)


@bp.route("/")
@tenant_required
@campaigns_feature
def index():
    tid = current_tenant_id()
    q = search_arg()
    if q:
        page = Page.from_request(matching(scoped(Campaign, tid), q, Campaign.name)
                                 .order_by(*NEWEST_FIRST), 50)
    else:  # the usual view, its statement built once
        page = Page.from_slices(lambda limit, offset: CAMPAIGNS.slice(tid, limit, offset), 50)
    campaigns = page.items
    return render_template("campaigns/list.html", campaigns=campaigns, page=page, q=q,
                           progress=campaign_service.progress_many(campaigns),
                           tenant=current_tenant(), ari=ari_state())  # read with the user


@bp.route("/new", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def create():
    tenant = Tenant.get_by_id(current_tenant_id())
    form = _form(tenant)
    error = None
    view, action = _settings_view(tenant, form, None)
    if action:
        return _render_form(form, None, None, view), 200
    valid = form.validate_on_submit()
    error = _settings_refused(form, view) if valid else None
    if valid and error is None:
        created = []
        error = _save(form, lambda data, upload: created.append(editing.create(
            tenant, data, settings=_settings(), actor=_actor(), upload_path=upload)))
        if error is None:
            flash(_("Campaign '%(name)s' created.", name=created[0].name), "success")
            return redirect(url_for("campaigns.detail", campaign_id=created[0].id))
    return _render_form(form, None, error, view), (400 if form.is_submitted() else 200)


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@tenant_required
@campaigns_feature
def edit(campaign_id: int):
    tenant = Tenant.get_by_id(current_tenant_id())
    campaign = get_scoped(Campaign, tenant.id, campaign_id)
    form = _form(tenant, campaign)
    error = None
    view, action = _settings_view(tenant, form, campaign)
    if action:
        return _render_form(form, campaign, None, view), 200
    valid = form.validate_on_submit()
    error = _settings_refused(form, view) if valid else None
    if valid and error is None:
        error = _save(form, lambda data, upload: editing.update(
            campaign, data, settings=_settings(), actor=_actor(), upload_path=upload))
        if error is None:
            flash(_("Campaign saved."), "success")
            return redirect(url_for("campaigns.detail", campaign_id=campaign.id))
        campaign = get_scoped(Campaign, tenant.id, campaign_id)  # as saved, not as refused
    return _render_form(form, campaign, error, view), (400 if form.is_submitted() else 200)


def _settings_view(tenant: Tenant, form: CampaignForm, campaign: Campaign | None):
    """The settings forms for this request, and whether one of their own buttons (add or
    remove a question, insert a field) was pressed. On a POST the chosen type's form (or
    the advanced JSON, when edited) becomes `form.flow`."""
    if request.method != "POST":
        flow = flow_service.flow_of(campaign) if campaign is not None else {}
        kind = campaign.type if campaign is not None else ""
        return campaign_settings.view(tenant.id, campaign_settings.values_from_flow(kind, flow),
                                      flow_shown=form.flow.data or ""), False
    values = campaign_settings.values_from_post(request.form)
    action = campaign_settings.apply_action(values, request.form)
    shown = request.form.get("flow_shown", "")
    edited = campaign_settings.json_edited(form.flow.data or "", shown)
    form.flow.data = campaign_settings.flow_text(form.type.data, values, form.flow.data or "",
                                                 shown)
    if action:
        form.flow.data = shown  # the JSON view keeps what it showed
    view = campaign_settings.view(tenant.id, values, flow_shown=form.flow.data or "")
    view.json_edited = edited
    return view, action


def _settings_refused(form: CampaignForm, view: campaign_settings.SettingsView) -> str | None:
    """The settings checked before saving, each problem put on its field (the form's, or the
    advanced JSON's when that was edited); the message to show when refused, else None."""
    kind = form.type.data
    if kind not in campaign_settings.PREFIX:
        return None
    messages = campaign_settings.check(current_tenant_id(), kind, form.flow.data or "")
    if not messages:
        return None
    if view.json_edited:
        form.flow.errors = [*form.flow.errors, *messages]  # the advanced JSON was edited
    view.errors = campaign_settings.errors_by_field(kind, messages)
    return _("Nothing was saved: %(why)s", why="; ".join(messages))


def _render_form(form: CampaignForm, campaign: Campaign | None, error, view):
    return render_template("campaigns/form.html", form=form, campaign=campaign, error=error,
                           examples=EXAMPLES, s=view, **_links(campaign))


@bp.route("/<int:campaign_id>")
@tenant_required
@campaigns_feature
def detail(campaign_id: int):
    campaign = get_scoped(Campaign, current_tenant_id(), campaign_id)
    survey = (flow_service.survey_results(campaign) if campaign.type == "voice_survey" else None)
    agents = (list(scoped(User, campaign.tenant_id)
                   .where(User.id.in_(editing.agent_ids(campaign))).order_by(User.username))
              if campaign.type == "voice_agent" else [])
    pacing = (predictive.campaign_figures(campaign.tenant_id, campaign.id, utcnow())
              if campaign.type == "voice_agent" else None)
    messaging = campaign.type in message_fields.TYPES
    smsc = message_fields.usable_smsc(campaign.smsc_id) if campaign.type == "sms" else None
    fax_document = (scoped(FaxDocument, campaign.tenant_id)
                    .where(FaxDocument.id == campaign.fax_document_id).first()
                    if campaign.type == "fax" and campaign.fax_document_id else None)
    return render_template("campaigns/detail.html", campaign=campaign,
                           p=campaign_service.progress(campaign), ari=ari_state(), survey=survey,
                           recordings=flow_service.recordings(campaign), agents=agents,
                           pacing=pacing, smsc=smsc, smsc_state=_bind_state(smsc),
                           fax_document=fax_document,
                           prompt=library.by_sound(campaign.tenant_id, campaign.message_file),
                           messages_url=_endpoint_url("messages.index", campaign=campaign.id)
                           if messaging else None, **_links(campaign))


def _bind_state(smsc: SmscConnection | None) -> str | None:
    """The SMS service's bind on the connection as it last wrote it (SystemStatus
    smsc:<id>, JSON with "state"), or None when it never did."""
    if smsc is None:
        return None
    row = SystemStatus.get_or_none(SystemStatus.key == f"smsc:{smsc.id}")
    if row is None:
        return None
    try:
        return str(json.loads(row.value or "{}").get("state") or "") or None
    except (ValueError, AttributeError):
        return None


@bp.route("/<int:campaign_id>/survey.csv")
@tenant_required
@feature_required("voice_survey")
def survey_csv(campaign_id: int):
    campaign = get_scoped(Campaign, current_tenant_id(), campaign_id)
    return Response(flow_service.survey_csv(campaign, viewer_zone()), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=survey-{campaign.id}.csv"})


def _action(campaign_id: int, action: str, done: str):
    campaign = get_scoped(Campaign, current_tenant_id(), campaign_id)
    try:
        if action == "start":
            campaign_service.start(campaign, _settings())
        else:
            getattr(campaign_service, action)(campaign)
    except CampaignError as exc:
        current_app.logger.warning("campaign %s %s refused: %s", campaign.id, action, exc)
        flash(str(exc), "error")
    else:
        flash(f"Campaign '{campaign.name}' {done}.", "success")
    if request.form.get("back") == "list":
        return redirect(url_for("campaigns.index"))
    return redirect(url_for("campaigns.detail", campaign_id=campaign.id))


@bp.route("/<int:campaign_id>/start", methods=["POST"])
@tenant_required
@campaigns_feature
def start(campaign_id: int):
    return _action(campaign_id, "start", "started")


@bp.route("/<int:campaign_id>/pause", methods=["POST"])
@tenant_required
@campaigns_feature
def pause(campaign_id: int):
    return _action(campaign_id, "pause", "paused")


@bp.route("/<int:campaign_id>/stop", methods=["POST"])
@tenant_required
@campaigns_feature
def stop(campaign_id: int):
    return _action(campaign_id, "stop", "stopped")


CONTACT_STATES = ("pending", "dialing", "done", "failed", "dnc")


@bp.route("/<int:campaign_id>/contacts")
@tenant_required
@campaigns_feature
def contacts(campaign_id: int):
    """Each contact's state, attempts, last disposition and next attempt; filter by state."""
    tid = current_tenant_id()
    campaign = get_scoped(Campaign, tid, campaign_id)
    query = (scoped(CampaignContact, tid).where(CampaignContact.campaign == campaign.id)
             .order_by(CampaignContact.id))
    state = request.args.get("state", "")
    messaging = campaign.type in message_fields.TYPES
    states = MESSAGE_CONTACT_STATES[campaign.type] if messaging else CONTACT_STATES
    if state not in states:
        state = ""
    elif messaging:
        query = query.where(_message_contact_state(states, state))
    else:
        query = query.where(CampaignContact.state == state)
    if campaign.type == "email":  # the address shown is the contact's, read in the same query
        query = (query.select(CampaignContact, Contact)
                 .join(Contact, on=(CampaignContact.contact == Contact.id)))
    return render_template("campaigns/contacts.html", campaign=campaign, state=state,
                           states=states, messaging=messaging,
                           page=Page.from_request(query, 100))


# A message campaign's contacts as its page counts them: waiting, a message out, or the
# latest message's outcome (CampaignContact.result) once done or given up.
MESSAGE_CONTACT_STATES = {
    "sms": ("pending", "in-flight", "delivered", "undelivered", "expired", "rejected",
            "failed", "dnc"),
    "fax": ("pending", "in-flight", "delivered", "failed", "dnc"),
    "email": ("pending", "in-flight", "sent", "bounced", "failed", "dnc"),
}


def _message_contact_state(states: tuple[str, ...], state: str):
    """The condition for one of `states`; "failed" takes every settled outcome that has no
    entry of its own in `states` (a fax that was not delivered, whatever the reason)."""
    settled = CampaignContact.state.in_(("done", "failed"))
    if state == "pending":
        return CampaignContact.state == "pending"
    if state == "in-flight":
        return CampaignContact.state == "dialing"
    if state == "dnc":
        return CampaignContact.state == "dnc"
    if state == "delivered":
        return settled & CampaignContact.result.in_(("delivered", "sent"))
    if state == "failed":
        own = {"delivered", "sent", *states} - {"failed"}
        return settled & CampaignContact.result.not_in(sorted(own))
    return settled & (CampaignContact.result == state)


from . import campaign_wizard  # noqa: E402,F401  (the creation wizard's routes, on this blueprint)
