"""Shared by the isolation and CSRF tests: two tenants holding one row of every tenant-owned
model, the id table that maps URL arguments to models, and a small HTML form reader.

Tenant A's strings say "A-visible"; tenant B's say "B-secret" (and B's numbers are listed in
B_MARKERS), so any B marker in a response to A is a leak."""
from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass, field
from html.parser import HTMLParser

from peewee import Model
from playhouse.shortcuts import model_to_dict
from werkzeug.routing import AnyConverter, Rule
from werkzeug.security import generate_password_hash

from models import (ApiKey, Call, Campaign, CampaignContact, Contact, ContactGroup, DncNumber,
                    Did, Extension, Tenant, TenantLog, Timeslot, User)
from models.entities import CreditBucket, CreditReservation, LedgerEntry, Rate, RatePlan
from models.entities import Ivr, IvrRecording, SipBan, SurveyAnswer
from models.entities import (AgentDisposition, AgentSession, AgentStateLog, CampaignAgent,
                             PauseReason, Queue, QueueCall, QueueMember)
from models.entities import (Evaluation, EvaluationAnswer, EvaluationForm, EvaluationQuestion,
                             EvaluationSection, SavedReport)
from models.entities import EmailDnc, FaxDocument, Message, MessagePart, SmscConnection
from models.entities import Package, Subscription, WebhookDelivery, WebhookEndpoint
from models.entities import Prompt
from models.tenancy import TENANT_FIELD, scoped
from voxcast.accounts import api_keys

ROLES = ("tenant", "supervisor", "user", "agent")
FAST_HASH = "pbkdf2:sha256:1000"  # test users only: keeps dozens of logins quick

# Numbers that only B owns; B's names all contain "B-secret".
B_NUMBERS = {"phone": "+12025550199", "did": "15557770199", "ext": "8419977",
             "dnc": "+12025550198", "call": "+12025550197"}
A_NUMBERS = {"phone": "+12025550111", "did": "15557770111", "ext": "8411111",
             "dnc": "+12025550112", "call": "+12025550113"}
B_MARKERS = ["B-secret", "b-secret", "Zebediah", "5550199", "7770199", "8419977", "5550198", "5550197",
             "555-0199", "555-0198", "555-0197"]

# URL argument name -> model whose id it carries. Extend when a route adds a new name.
ARG_MODELS: dict[str, type[Model]] = {
    "tenant_id": Tenant, "user_id": User, "group_id": ContactGroup, "contact_id": Contact,
    "campaign_id": Campaign, "entry_id": CampaignContact, "call_id": Call, "cdr_id": Call,
    "did_id": Did, "extension_id": Extension, "ext_id": Extension, "dnc_id": DncNumber,
    "number_id": DncNumber, "key_id": ApiKey, "api_key_id": ApiKey, "apikey_id": ApiKey,
    "timeslot_id": Timeslot, "slot_id": Timeslot, "log_id": TenantLog, "ivr_id": Ivr,
    "plan_id": RatePlan, "rate_id": Rate,
    "queue_id": Queue, "member_id": QueueMember, "reason_id": PauseReason,
    "pause_reason_id": PauseReason, "disposition_id": AgentDisposition,
    "session_id": AgentSession, "queue_call_id": QueueCall,
    "form_id": EvaluationForm, "section_id": EvaluationSection,
    "question_id": EvaluationQuestion, "evaluation_id": Evaluation, "report_id": SavedReport,
    "ban_id": SipBan,  # provider-only (admin pages): a tenant's request must be refused
    # messaging (issue 14)
    "message_id": Message, "part_id": MessagePart, "document_id": FaxDocument,
    "fax_document_id": FaxDocument, "fax_id": Message, "email_dnc_id": EmailDnc,
    "smsc_id": SmscConnection, "connection_id": SmscConnection,  # provider-only
    # packages, subscriptions, webhooks (issue 15)
    "package_id": Package,  # provider-only
    "subscription_id": Subscription, "webhook_id": WebhookEndpoint,
    "delivery_id": WebhookDelivery,  # (never "endpoint_id": url_for takes "endpoint")
    # the audio library (issue 17)
    "prompt_id": Prompt,
}
# (endpoint, argument) -> model, for generic names such as "id" (the JSON API).
ENDPOINT_ARG_MODELS: dict[tuple[str, str], type[Model]] = {
    ("api.email_dnc_remove", "dnc_id"): EmailDnc,  # the e-mail DNC list, not DncNumber
}
# Arguments that carry no object of a tenant: requested with a harmless value.
NON_OBJECT_ARGS = {"token": "not-a-real-token", "lang": "en", "language": "en"}

# Campaign routes are walked with a campaign of each type (a side has one of each: voice in
# rows[Campaign], the message types in Side.campaigns), since their pages and answers differ
# by type; routes for one type only get a campaign of that type (another would just 404).
# expansions() carries the type as this pseudo argument, build_url() takes it out.
CAMPAIGN_KIND = "_campaign_kind"
CAMPAIGN_KINDS = ("voice", "sms", "fax", "email")
KIND_ENDPOINTS = {"email_preview.": ("email",)}  # endpoint prefix -> the types it serves
ALL_KINDS_ENDPOINTS = ("campaigns.", "api.campaigns_")  # walked with every type


@dataclass
class Side:
    tag: str
    tenant: Tenant
    users: dict[str, User]
    rows: dict[type, Model]
    api_secret: str
    passwords: dict[str, str] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)  # type -> campaign


def build_side(tag: str, numbers: dict[str, str], label: str) -> Side:
    """One tenant with a row of every tenant-owned model and a user of every role."""
    tenant = Tenant.create(name=f"Tenant-{label}", slug=f"t{tag.lower()}")
    users, passwords = {}, {}
    for role in ROLES:
        username = f"{tag.lower()}-{role}"
        passwords[role] = f"pw-{username}"
        users[role] = User.create(
            tenant=tenant, username=username, role=role, first_name=f"First-{label}",
            last_name=f"{role}-{label}", email=f"{role}-{label}@example.com".lower(),
            password_hash=generate_password_hash(passwords[role], method=FAST_HASH))
    group = ContactGroup.create(tenant=tenant, name=f"Group-{label}")
    contact = Contact.create(tenant=tenant, group=group, phone=numbers["phone"],
                             first_name=("Zebediah-" if tag == "B" else "Abigail-") + label,
                             last_name=f"Last-{label}", custom1=f"Custom-{label}")
    campaign = Campaign.create(tenant=tenant, name=f"Campaign-{label}", group=group,
                               message_text=f"Message-{label}")
    entry = CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                                   phone=numbers["phone"])
    call = Call.create(tenant=tenant, campaign=campaign, contact=contact, entry=entry,
                       number=numbers["call"], channel_id=f"chan-{label}",
                       disposition="ANSWERED", cause_txt=f"Cause-{label}")
    did = Did.create(tenant=tenant, number=numbers["did"], user=users["user"],
                     campaign=campaign, greeting_text=f"Greeting-{label}")
    extension = Extension.create(tenant=tenant, number=numbers["ext"], secret=f"Sip-{label}",
                                 user=users["agent"])
    dnc = DncNumber.create(tenant=tenant, phone=numbers["dnc"], source="manual")
    timeslot = Timeslot.create(tenant=tenant, name=f"Slot-{label}")
    key, secret = api_keys.create(tenant_id=tenant.id, user=users["tenant"], name=f"Key-{label}")
    log = TenantLog.create(tenant=tenant, user=users["tenant"], username=users["tenant"].username,
                           action="contacts.update", object_type="contact",
                           object_id=str(contact.id), detail=f"Log-{label}")
    ivr = Ivr.create(tenant=tenant, name=f"Ivr-{label}", tree='{"start": "a", "nodes": '
                     f'{{"a": {{"type": "say", "text": "Ivr-{label}"}}}}}}')
    answer = SurveyAnswer.create(tenant=tenant, campaign=campaign, contact=contact, call=call,
                                 question="q1", digit="1")
    recording = IvrRecording.create(tenant=tenant, call=call, campaign=campaign, contact=contact,
                                    ivr=ivr, node="a", name=f"Rec-{label}")
    from voxcast.billing import ledger  # billing rows: a payment, free credit, a reservation
    plan = RatePlan.create(name=f"Plan-{label}", description=f"Plan-{label}")
    rate = Rate.create(plan=plan, prefix=numbers["call"].lstrip("+")[:6],
                       description=f"Rate-{label}", per_minute="0.0123")
    Tenant.update(rate_plan=plan).where(Tenant.id == tenant.id).execute()
    payment = ledger.credit(tenant.id, "10", "payment", reference=f"Payment-{label}")
    bucket = ledger.grant_free(tenant.id, amount="1", reference=f"Free-{label}")
    reservation = CreditReservation.get_by_id(
        ledger.reserve(tenant.id, "1", reference=f"Reserve-{label}", call_id=call.id))
    # Provider-wide, no tenant: one per side so admin-only routes with ids are walked too.
    sip_ban = SipBan.create(address=f"192.0.2.{1 if tag == 'A' else 2}", failures=5,
                            last_account="probe")
    # The contact centre: a queue with its agent, a session with its log, a queue call.
    pause = PauseReason.create(tenant=tenant, name=f"Pause-{label}")
    disposition = AgentDisposition.create(tenant=tenant, name=f"Disposition-{label}")
    queue = Queue.create(tenant=tenant, name=f"Queue-{label}", fallback_text=f"Closed-{label}")
    member = QueueMember.create(tenant=tenant, queue=queue, user=users["agent"])
    campaign_agent = CampaignAgent.create(tenant=tenant, campaign=campaign, user=users["agent"])
    session = AgentSession.create(tenant=tenant, user=users["agent"], extension=extension,
                                  state="paused", pause_reason=pause, call=call)
    state_log = AgentStateLog.create(tenant=tenant, session=session, user=users["agent"],
                                     state="paused", pause_reason=pause, call=call)
    # A closed state too: the report rollups (models.rollups, kept by triggers from these
    # raw rows) count a state once it has ended.
    AgentStateLog.create(tenant=tenant, session=session, user=users["agent"], state="ready",
                         started_at=session.started_at,
                         ended_at=session.started_at + datetime.timedelta(minutes=1))
    queue_call = QueueCall.create(tenant=tenant, queue=queue, call=call, caller=numbers["call"],
                                  agent=users["agent"], agent_call=call, outcome="answered")
    # Evaluation: a form with a question, an evaluation of the agent's call; a saved report.
    form = EvaluationForm.create(tenant=tenant, name=f"Form-{label}")
    section = EvaluationSection.create(tenant=tenant, form=form, title=f"Section-{label}")
    question = EvaluationQuestion.create(tenant=tenant, form=form, section=section,
                                         text=f"Question-{label}")
    evaluation = Evaluation.create(tenant=tenant, form=form, call=call, agent=users["agent"],
                                   evaluator=users["supervisor"], comment=f"Comment-{label}")
    answer_row = EvaluationAnswer.create(tenant=tenant, evaluation=evaluation, question=question,
                                         value="yes", points=1)
    report = SavedReport.create(tenant=tenant, name=f"Report-{label}", owner=users["tenant"],
                                definition='{"source": "calls", "fields": ["number"]}')
    # Messaging (issue 14): an SMSC connection (provider-wide, one per side like SipBan), a
    # fax document, an SMS with its part, an inbound fax, an e-mail DNC address.
    # (provider-level: tenants pick among them, so A may see B's side's name; no marker)
    smsc = SmscConnection.create(name=f"Smsc-{tag}", system_id=f"sys{tag}",
                                 password=f"Pw-{tag}", port=2775 if tag == "A" else 2776)
    document = FaxDocument.create(tenant=tenant, name=f"FaxDoc-{label}",
                                  filename=f"fax-{label}.pdf", tiff=f"fax-{tag}.tif",
                                  pdf=f"fax-{tag}.pdf", pages=1, size_bytes=100)
    campaign.sms_text = f"Sms-{label}"
    campaign.fax_document = document
    campaign.smsc = smsc
    campaign.save()
    # A campaign of each message type over the same group (so its contact is theirs), with
    # the contact's entry; the SMS and the e-mail below are theirs.
    kinds = {"voice": campaign}
    kind_fields = {
        "sms": {"sms_text": f"SmsText-{label} {{{{first_name}}}}", "sms_sender": "Vox",
                "smsc": smsc},
        "fax": {"fax_document": document, "caller_id": numbers["did"]},
        "email": {"email_subject": f"MailSubject-{label} {{{{ first_name }}}}",
                  "email_html": f"<p>MailHtml-{label} {{{{ first_name }}}}</p>",
                  "email_text": f"MailText-{label} {{{{ first_name }}}}",
                  "email_from": f"from-{label}@example.com".lower()}}
    kind_entries = {}
    for kind, fields in kind_fields.items():
        kinds[kind] = Campaign.create(tenant=tenant, name=f"Campaign-{kind}-{label}",
                                      group=group, type=kind, **fields)
        kind_entries[kind] = CampaignContact.create(tenant=tenant, campaign=kinds[kind],
                                                    contact=contact, phone=numbers["phone"])
    message = Message.create(tenant=tenant, channel="sms", campaign=kinds["sms"],
                             contact=contact, entry=kind_entries["sms"],
                             address=numbers["phone"], sender=numbers["did"],
                             body=f"SmsBody-{label}", state="delivered", units=1,
                             connection=smsc, external_id=f"ext-{tag}", cost="0.0100")
    part = MessagePart.create(tenant=tenant, message=message, seq=1,
                              external_id=f"part-{tag}", state="delivered",
                              error=f"PartError-{label}")
    inbound_fax = Message.create(tenant=tenant, channel="fax", direction="inbound",
                                 address=numbers["call"], sender=numbers["did"],
                                 subject=f"FaxIn-{label}", state="received", units=1,
                                 document=f"inbound-{tag}.pdf")
    Message.create(tenant=tenant, channel="email", campaign=kinds["email"], contact=contact,
                   entry=kind_entries["email"], address=f"mail-{label}@example.com".lower(), subject=f"Subject-{label}",
                   body=f"MailBody-{label}", state="bounced", error=f"Bounce-{label}")
    email_dnc = EmailDnc.create(tenant=tenant, address=f"dnc-{label}@example.com".lower(),
                                source="manual")
    # Packages and webhooks (issue 15): a package (provider-level, one per side like SipBan)
    # the tenant subscribes to; a webhook endpoint of the tenant with one delivery.
    package = Package.create(name=f"Package-{tag}", rate_plan=plan, price="9.00")
    now = datetime.datetime(2026, 1, 1)
    subscription = Subscription.create(tenant=tenant, package=package, period_start=now,
                                       period_end=now + datetime.timedelta(days=31),
                                       external_id=f"Service-{label}")
    webhook = WebhookEndpoint.create(tenant=tenant, url=f"https://hooks.example.com/{label}",
                                     secret=f"Hook-{label}", description=f"Hook-{label}")
    delivery = WebhookDelivery.create(endpoint=webhook, tenant=tenant, event="tenant.updated",
                                      event_id=f"evt-{label}",
                                      payload=f'{{"tenant": "Delivery-{label}"}}')
    # The audio library (issue 17): a prompt its campaign plays (its file: write_files).
    prompt = Prompt.create(tenant=tenant, name=f"Prompt-{label}", sound=f"prompt-t{tag}-walk",
                           source="tts", text=f"PromptText-{label}", language="en",
                           seconds=1, size_bytes=100)
    rows = {Tenant: tenant, User: users["tenant"], ContactGroup: group, Contact: contact,
            Campaign: campaign, CampaignContact: entry, Call: call, Did: did,
            Extension: extension, DncNumber: dnc, Timeslot: timeslot, ApiKey: key,
            TenantLog: log, LedgerEntry: payment, CreditBucket: bucket,
            CreditReservation: reservation, Ivr: ivr, SurveyAnswer: answer,
            IvrRecording: recording, RatePlan: plan, Rate: rate, SipBan: sip_ban,
            PauseReason: pause, AgentDisposition: disposition, Queue: queue,
            QueueMember: member, CampaignAgent: campaign_agent, AgentSession: session,
            AgentStateLog: state_log, QueueCall: queue_call, EvaluationForm: form,
            EvaluationSection: section, EvaluationQuestion: question, Evaluation: evaluation,
            EvaluationAnswer: answer_row, SavedReport: report, SmscConnection: smsc,
            FaxDocument: document, Message: inbound_fax, MessagePart: part,
            EmailDnc: email_dnc, Package: package, Subscription: subscription,
            WebhookEndpoint: webhook, WebhookDelivery: delivery, Prompt: prompt}
    return Side(tag, tenant, users, rows, secret, passwords, kinds)


def write_files(side: Side, faxes_dir) -> None:
    """The files behind a side's fax rows (its document's TIFF and PDF, its received fax's
    PDF), holding its marker: a route that served another tenant's file would leak it."""
    faxes_dir.mkdir(parents=True, exist_ok=True)
    doc, fax = side.rows[FaxDocument], side.rows[Message]
    marker = b"%PDF-1.4 Tenant-" + side.tenant.name.encode() + b"\n%%EOF\n"
    for name in (doc.tiff, doc.pdf, fax.document):
        (faxes_dir / name).write_bytes(marker)
    sounds_dir = faxes_dir.parent / "sounds"  # Settings.sounds_dir beside faxes_dir
    sounds_dir.mkdir(parents=True, exist_ok=True)
    (sounds_dir / f"{side.rows[Prompt].sound}.wav").write_bytes(
        b"RIFF Tenant-" + side.tenant.name.encode() + b" WAVE")


def build_world(settings=None) -> tuple[Side, Side]:
    """Both sides; with `settings` also the files their rows name (fax documents, faxes)."""
    a = build_side("A", A_NUMBERS, "A-visible")
    b = build_side("B", B_NUMBERS, "B-secret")
    if settings is not None:
        for side in (a, b):
            write_files(side, settings.faxes_dir)
    missing = [m.__name__ for m in TENANT_FIELD if not scoped(m, b.tenant.id).exists()]
    assert not missing, (f"tests/unit/route_walk.py build_side makes no row of {missing}: "
                         "add one, so the isolation test covers the new model")
    return a, b


def snapshot(tenant_id: int) -> dict[str, list[dict]]:
    """Every row the tenant owns, for a before/after comparison."""
    state = {"Tenant": [model_to_dict(Tenant.get_by_id(tenant_id), recurse=False)]}
    for model in TENANT_FIELD:
        rows = scoped(model, tenant_id).order_by(model._meta.primary_key)
        state[model.__name__] = [model_to_dict(r, recurse=False) for r in rows]
    for row in state.get("ApiKey", []):
        row.pop("last_used_at", None)  # using A's key may touch only A's; B's must not move
    return state


# -- rules ------------------------------------------------------------------------------

def is_api(rule: Rule) -> bool:
    return rule.rule.startswith("/api/")


def arg_model(rule: Rule, arg: str) -> type[Model] | None:
    return ENDPOINT_ARG_MODELS.get((rule.endpoint, arg)) or ARG_MODELS.get(arg)


def choices(rule: Rule, arg: str) -> list[str] | None:
    """The values of a non-object argument: each item of an any(...) converter, or the one
    harmless value of NON_OBJECT_ARGS; None when the argument is unknown."""
    converter = rule._converters.get(arg)
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)
    if arg in NON_OBJECT_ARGS:
        return [NON_OBJECT_ARGS[arg]]
    return None


def unresolved_args(rules) -> list[str]:
    """Arguments the table cannot map: a new route the isolation test would not cover."""
    problems = []
    for rule in rules:
        if rule.endpoint == "static":
            continue
        for arg in sorted(rule.arguments):
            if arg_model(rule, arg) is None and choices(rule, arg) is None:
                problems.append(f"{rule.rule} ({rule.endpoint}): argument '{arg}'")
    return problems


def campaign_kinds(rule: Rule) -> tuple[str, ...]:
    """The campaign types a rule with a campaign_id is walked with (see CAMPAIGN_KINDS)."""
    if "campaign_id" not in rule.arguments:
        return ()
    for prefix, kinds in KIND_ENDPOINTS.items():
        if rule.endpoint.startswith(prefix):
            return kinds
    if rule.endpoint.startswith(ALL_KINDS_ENDPOINTS):
        return CAMPAIGN_KINDS
    return ("voice",)


def expansions(rule: Rule) -> list[dict[str, str]]:
    """Every combination of the rule's non-object argument values (one dict when none),
    and of the campaign types it is walked with (CAMPAIGN_KIND)."""
    names = [a for a in sorted(rule.arguments) if arg_model(rule, a) is None]
    values = [choices(rule, a) for a in names]
    if kinds := campaign_kinds(rule):
        names.append(CAMPAIGN_KIND)
        values.append(list(kinds))
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def object_args(rule: Rule) -> list[str]:
    return [a for a in sorted(rule.arguments) if arg_model(rule, a) is not None]


def build_url(app, rule: Rule, sides: dict[str, Side], extra: dict[str, str] | None = None
              ) -> str:
    """The rule's URL with each object argument taken from sides[arg] (Side A or B) and the
    others from `extra` (default: the first expansion)."""
    values = dict(extra if extra is not None else expansions(rule)[0])
    kind = values.pop(CAMPAIGN_KIND, "voice")
    for arg in rule.arguments:
        model = arg_model(rule, arg)
        if model is Campaign and arg == "campaign_id":
            values[arg] = sides[arg].campaigns[kind].id
        elif model is not None:
            values[arg] = sides[arg].rows[model].id
    built = rule.build(values, append_unknown=False)  # this rule, even if endpoints repeat
    assert built is not None, f"cannot build {rule.rule} from {values}"
    return built[1]


def variants(rule: Rule, a: Side, b: Side):
    """All-B, then each object argument B alone with the rest A (a child of B under A's
    parent), so both the parent and the child lookups must be scoped."""
    args = object_args(rule)
    if not args:
        return
    yield {arg: b for arg in rule.arguments}
    if len(args) > 1:
        for one in args:
            yield {arg: (b if arg == one else a) for arg in rule.arguments}


def a_only(rule: Rule, a: Side) -> dict[str, Side]:
    return {arg: a for arg in rule.arguments}


def get_rules(app):
    return [r for r in app.url_map.iter_rules() if r.endpoint != "static" and "GET" in r.methods]


def write_methods(rule: Rule) -> list[str]:
    return sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"})


def leaked(body: str) -> list[str]:
    return [m for m in B_MARKERS if m in body]


# -- forms ------------------------------------------------------------------------------

@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)


class FormReader(HTMLParser):
    """The forms of a page with the values a browser would submit unchanged."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self._select: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    @property
    def form(self) -> Form | None:
        return self.forms[-1] if self.forms else None

    def handle_starttag(self, tag, attrs):
        at = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(at.get("action") or self.page_url,
                                   (at.get("method") or "get").lower()))
        elif self.form is None:
            return
        elif tag == "input" and at.get("name"):
            kind = at.get("type", "text").lower()
            if kind == "hidden":
                self.form.hidden.add(at["name"])
            if kind in ("checkbox", "radio") and "checked" not in at:
                return
            if kind in ("file", "submit", "button", "image", "reset"):
                return
            self.form.fields[at["name"]] = at.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and at.get("name"):
            self._select, self._select_first = at["name"], None
        elif tag == "option" and self._select:
            value = at.get("value", "")
            if self._select_first is None:
                self._select_first = value
                self.form.fields.setdefault(self._select, value)
            if "selected" in at:
                self.form.fields[self._select] = value
        elif tag == "textarea" and at.get("name"):
            self._textarea = at["name"]
            self.form.fields[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.form is not None:
            self.form.fields[self._textarea] += data


def read_forms(page_url: str, html: str) -> list[Form]:
    reader = FormReader(page_url)
    reader.feed(html)
    return reader.forms


def login(client, username: str, password: str):
    from .conftest import CSRF_RE
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    resp = client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": token})
    assert resp.status_code == 302, f"login as {username} failed: {resp.status_code}"
    return resp


def flatten(values):
    return list(itertools.chain.from_iterable(values))
