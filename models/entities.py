"""The platform's tables. Tenant-owned models derive from TenantOwned."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from peewee import (
    AutoField, BigIntegerField, BooleanField, CharField, DateTimeField,
    DecimalField, ForeignKeyField, IntegerField, TextField,
)

from .db import BaseModel, node_name


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def Money(**kw):
    return DecimalField(max_digits=14, decimal_places=4, auto_round=True, default=Decimal("0"), **kw)


class RatePlan(BaseModel):
    """Prices for a tenant: per-destination Rate rows plus per-unit prices of the other
    channels. `version` is bumped on every change so cached rate tables know they are stale."""
    id = AutoField()
    name = CharField(unique=True)
    is_default = BooleanField(default=False)
    description = CharField(default="")
    sms_price = DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))  # per message
    fax_page_price = DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    email_price = DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    inbound_per_minute = DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    did_monthly_fee = Money()
    version = IntegerField(default=1)


class Rate(BaseModel):
    """A destination rate of a plan: the longest matching prefix of the dialled number wins."""
    id = AutoField()
    plan = ForeignKeyField(RatePlan, backref="rates", on_delete="CASCADE")
    prefix = CharField()  # digits, no '+'
    description = CharField(default="")
    per_minute = DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    connection_fee = DecimalField(max_digits=14, decimal_places=6, default=Decimal("0"))
    initial_s = IntegerField(default=60)
    increment_s = IntegerField(default=60)

    class Meta:
        indexes = ((("plan", "prefix"), True),)


FEATURES = ("voice_message", "voice_interactive", "voice_ivr", "voice_survey",
            "appointment_reminder", "fax", "sms", "email", "agents", "recordings", "reports",
            "api")


class Tenant(BaseModel):
    id = AutoField()
    name = CharField(unique=True)
    slug = CharField(unique=True)  # sub-domain and short id
    company_size = CharField(default="")
    country = CharField(default="US")  # ISO 3166 alpha-2, for E.164 normalisation
    email = CharField(default="")
    timezone = CharField(default="UTC")
    language = CharField(default="en")
    rate_plan = ForeignKeyField(RatePlan, null=True, on_delete="SET NULL")
    channel_limit = IntegerField(default=10)
    # Numbers besides its own DIDs that the provider lets this tenant's campaigns show as
    # caller ID (E.164, one per line); voxcast.campaigns.services.caller_ids.
    allowed_caller_ids = TextField(default="")
    balance = Money()
    status = CharField(default="active")  # active | suspended
    greeting_text = TextField(default="Welcome. Thank you for calling.")
    # Feature permissions: space-separated names from FEATURES (empty: none).
    features = TextField(default=" ".join(FEATURES))
    # Capability quotas; 0 means "none allowed", None is never used (explicit numbers only).
    max_users = IntegerField(default=50)
    max_agents = IntegerField(default=20)
    # Destinations its phones may not call: digit prefixes the provider sets (premium,
    # international...), separated by spaces or commas.
    blocked_prefixes = TextField(default="")
    # An agent who leaves this many offered calls in a row unanswered is paused by the system.
    agent_max_missed = IntegerField(default=3)
    max_campaigns = IntegerField(default=100)
    max_contacts = IntegerField(default=1000000)
    disk_quota_mb = IntegerField(default=1024)
    # Low-balance e-mail: sent once when the balance falls below the threshold (0: off);
    # `low_balance_notified` remembers it until the balance is back above.
    low_balance_threshold = Money()
    low_balance_notified = BooleanField(default=False)
    # Messaging: inbound SMS whose text is one of these words (any case) opt the sender out;
    # per-tenant sending rates across all its campaigns.
    sms_opt_out_words = TextField(default="STOP STOPP UNSUBSCRIBE ABMELDEN")
    sms_per_second = IntegerField(default=10)
    email_per_hour = IntegerField(default=1000)
    created_at = DateTimeField(default=utcnow)

    def has_feature(self, name: str) -> bool:
        return name in self.features.split()


class TenantOwned(BaseModel):
    """Base of every row that belongs to one tenant; queries go through models.tenancy.scoped."""
    tenant = ForeignKeyField(Tenant, on_delete="CASCADE")


ROLES = ("admin", "tenant", "supervisor", "user", "agent")


class User(BaseModel):
    """Provider admins have no tenant; every other role belongs to exactly one."""
    id = AutoField()
    tenant = ForeignKeyField(Tenant, null=True, on_delete="CASCADE", backref="users")
    username = CharField(unique=True)
    password_hash = CharField()
    role = CharField(default="user")
    first_name = CharField(default="")
    last_name = CharField(default="")
    email = CharField(default="")
    phone = CharField(default="")
    pin = CharField(default="")  # hashed like the password
    timezone = CharField(default="")  # empty: the tenant's
    language = CharField(default="")  # empty: the tenant's
    theme = CharField(default="light")  # light | dark
    active = BooleanField(default=True)
    # Created inactive to wait for its first password: only such an account is made active by
    # its link. Inactive without this flag means an administrator disabled it.
    pending_activation = BooleanField(default=False)
    # A link to choose a password (activation or reset); cleared when used, when the account
    # is disabled and when the password changes, so it works once and only for the state it
    # was issued in.
    activation_token = CharField(null=True, index=True)  # sha256 of the link's token
    activation_expires_at = DateTimeField(null=True)  # links expire (72 h)
    failed_logins = IntegerField(default=0)
    locked_until = DateTimeField(null=True)
    # Bumped to end every open session (password change, tenant suspended).
    session_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class ContactGroup(TenantOwned):
    id = AutoField()
    name = CharField()

    class Meta:
        indexes = ((("tenant", "name"), True),)


class Contact(TenantOwned):
    id = AutoField()
    group = ForeignKeyField(ContactGroup, backref="contacts", on_delete="CASCADE")
    phone = CharField()  # E.164
    first_name = CharField(default="")
    last_name = CharField(default="")
    email = CharField(default="")
    custom1 = CharField(default="")
    custom2 = CharField(default="")
    custom3 = CharField(default="")
    custom4 = CharField(default="")
    custom5 = CharField(default="")
    custom6 = CharField(default="")
    custom7 = CharField(default="")
    custom8 = CharField(default="")

    class Meta:
        indexes = ((("group", "phone"), True),)


# sms, fax and email are message campaigns (voxcast.messaging): no Stasis flow of their own.
MESSAGE_CAMPAIGN_TYPES = ("sms", "fax", "email")
CAMPAIGN_TYPES = ("voice_message", "voice_interactive", "voice_ivr", "voice_survey",
                  "appointment_reminder", "voice_agent", *MESSAGE_CAMPAIGN_TYPES)
CAMPAIGN_STATES = ("draft", "running", "paused", "completed", "stopped")


class Ivr(TenantOwned):
    """A voice menu tree (JSON, validated by voxcast.ivr.tree) run by IVR campaigns and DIDs."""
    id = AutoField()
    name = CharField()
    tree = TextField(default="{}")
    number = CharField(default="")  # the tenant's phones dial it (the `ivr` Stasis route); "" none
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "name"), True),)


class SmscConnection(BaseModel):
    """An SMPP 3.4 account at an SMS carrier, set by the provider's admin. The messaging
    service keeps one transceiver bind per enabled connection; `throughput` caps submits per
    second on it (0: no cap)."""
    id = AutoField()
    name = CharField(unique=True)
    host = CharField(default="127.0.0.1")
    port = IntegerField(default=2775)
    system_id = CharField()
    password = CharField(default="")  # the carrier's, kept in the database, never in the repo
    system_type = CharField(default="")
    source_addr = CharField(default="")  # default sender when the campaign sets none
    source_ton = IntegerField(default=1)
    source_npi = IntegerField(default=1)
    dest_ton = IntegerField(default=1)
    dest_npi = IntegerField(default=1)
    throughput = IntegerField(default=10)
    enabled = BooleanField(default=True)
    is_default = BooleanField(default=False)  # used by campaigns that choose none
    created_at = DateTimeField(default=utcnow)


class FaxDocument(TenantOwned):
    """A tenant's uploaded PDF or TIFF, converted to fax TIFF (Ghostscript) for SendFAX.
    Files live in Settings.faxes_dir; their bytes count in the tenant's disk quota."""
    id = AutoField()
    name = CharField()
    filename = CharField(default="")  # as uploaded
    tiff = CharField(default="")  # file name in faxes_dir: the fax TIFF sent
    pdf = CharField(default="")  # file name in faxes_dir: a PDF to preview it
    pages = IntegerField(default=0)
    size_bytes = BigIntegerField(default=0)
    created_at = DateTimeField(default=utcnow)


class Campaign(TenantOwned):
    id = AutoField()
    name = CharField()
    type = CharField(default="voice_message")
    group = ForeignKeyField(ContactGroup, null=True, on_delete="SET NULL")
    message_file = CharField(default="")  # sound name in the instance's sounds dir, no extension
    message_text = TextField(default="")  # the text it was spoken from, when TTS
    message_seconds = DecimalField(max_digits=8, decimal_places=2, default=0)
    caller_id = CharField(default="")
    channel_limit = IntegerField(default=5)
    dial_timeout = IntegerField(default=30)
    retry_busy = IntegerField(default=2)
    retry_noanswer = IntegerField(default=2)
    retry_failed = IntegerField(default=0)
    retry_interval = IntegerField(default=300)  # seconds between attempts at one contact
    # Type-specific settings as JSON (voxcast.campaigns.flows_config validates them); the message plays
    # repeat_count times in a voice message campaign.
    flow = TextField(default="")
    repeat_count = IntegerField(default=1)
    ivr = ForeignKeyField(Ivr, null=True, on_delete="SET NULL")
    # Answering-machine detection: a machine is hung up on or, with "leave_message", hears the
    # message after its greeting's beep; retry_machine counts retries of a machine (hangup).
    amd_enabled = BooleanField(default=False)
    amd_action = CharField(default="hangup")  # hangup | leave_message
    retry_machine = IntegerField(default=0)
    record = BooleanField(default=False)  # record answered calls (counted in the disk quota)
    # Voice Agent campaigns: lines dialled per ready agent, after-call work, what the agent
    # reads and which CRM page the console opens with the contact's fields.
    dial_ratio = DecimalField(max_digits=4, decimal_places=2, default=Decimal("1.0"))
    wrapup_seconds = IntegerField(default=10)
    script = TextField(default="")
    web_form_url = CharField(default="")
    # Voice Agent pacing (issue 13): "ratio" dials dial_ratio lines per ready agent;
    # "predictive" adapts the level to live figures (voxcast.dialing.predictive) and never lets
    # the campaign's abandon rate (abandoned / live-answered calls) exceed abandon_cap_pct.
    pacing_mode = CharField(default="ratio")
    abandon_cap_pct = DecimalField(max_digits=5, decimal_places=2, default=Decimal("3.00"))
    # Calling windows of this campaign as JSON [{"weekdays": "01234", "start": "09:00",
    # "end": "17:00"}]; empty: only the tenant's timeslots apply (voxcast.campaigns.calling_hours).
    windows = TextField(default="")
    # Message campaigns (MESSAGE_CAMPAIGN_TYPES). Texts are templates with contact fields.
    sms_text = TextField(default="")
    sms_sender = CharField(default="")  # source address; empty: the connection's
    smsc = ForeignKeyField(SmscConnection, null=True, on_delete="SET NULL")  # None: the default
    email_subject = CharField(default="")
    email_html = TextField(default="")
    email_text = TextField(default="")
    email_from = CharField(default="")  # empty: the provider's sender
    bounce_address = CharField(default="")  # Return-Path; empty: the provider's bounce address
    fax_document = ForeignKeyField(FaxDocument, null=True, on_delete="SET NULL")
    status = CharField(default="draft")
    # Why it is paused or not dialing: a code and JSON params (voxcast.campaigns.lifecycle);
    # status_reason is the English text of the same, for the API and the logs.
    status_code = CharField(default="")
    status_params = TextField(default="{}")
    status_reason = CharField(default="")
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)


class CampaignContact(TenantOwned):
    """The dialer's durable state for one contact of one campaign."""
    id = AutoField()
    campaign = ForeignKeyField(Campaign, backref="entries", on_delete="CASCADE")
    contact = ForeignKeyField(Contact, on_delete="CASCADE")
    phone = CharField()
    state = CharField(default="pending")  # pending | dialing | done | failed | dnc
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_disposition = CharField(default="")
    # What the contact did in an interactive flow: pressed1, opted_out, confirmed, cancelled,
    # transferred, completed (survey)...; empty when nothing.
    result = CharField(default="")

    class Meta:
        indexes = (
            (("campaign", "contact"), True),
            (("campaign", "state", "next_attempt_at"), False),
        )


class Did(BaseModel):
    """A DID is in the provider's pool until assigned to a tenant, which may hand it to one of
    its users or campaigns."""
    id = AutoField()
    number = CharField(unique=True)
    tenant = ForeignKeyField(Tenant, null=True, on_delete="SET NULL", backref="dids")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    campaign = ForeignKeyField(Campaign, null=True, on_delete="SET NULL")
    # Where a call goes (DID_ROUTES; voxcast.numbers.did_routes): the greeting, the `ivr`, the
    # `queue`, the `user`'s phone (voicemail to their e-mail) or the `campaign`'s inbound flow.
    route = CharField(default="greeting")  # the `queue` field is added after Queue below
    # Outside the tenant's timeslots: `closed_route` ("" = no time-of-day routing) with the id
    # of its queue / IVR / user / campaign in `closed_target` (checked again at call time);
    # a closed "greeting" says `closed_text` (empty: the greeting).
    closed_route = CharField(default="")
    closed_target = IntegerField(null=True)
    closed_text = TextField(default="")
    greeting_text = TextField(default="")
    greeting_file = CharField(default="")
    ivr = ForeignKeyField(Ivr, null=True, on_delete="SET NULL")  # runs instead of the greeting
    # Inbound fax: the `fax` route receives every call as a fax; `fax_detect` listens for a
    # fax tone on the other routes. Received faxes are stored as PDF and mailed here.
    fax_detect = BooleanField(default=False)
    fax_emails = TextField(default="")  # addresses, space or comma separated


DID_ROUTES = ("greeting", "ivr", "queue", "user", "campaign", "fax")


class Extension(BaseModel):
    """A SIP extension: in the provider's pool, allocated to a tenant, assigned to a user.
    Each allocated extension is a PJSIP endpoint + auth + AOR named by `number`."""
    id = AutoField()
    number = CharField(unique=True)
    secret = CharField()
    tenant = ForeignKeyField(Tenant, null=True, on_delete="SET NULL", backref="extensions")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="extensions")
    caller_id = CharField(default="")  # a DID of its tenant shown on its PSTN calls; empty: the tenant's
    # A WebRTC phone in the agent console (JsSIP over WSS, DTLS-SRTP) instead of a SIP phone
    browser_phone = BooleanField(default=False)
    created_at = DateTimeField(default=utcnow)


class Timeslot(BaseModel):
    """An allowed calling window, in the tenant's time zone; set by the provider's admin."""
    id = AutoField()
    tenant = ForeignKeyField(Tenant, on_delete="CASCADE", backref="timeslots")
    name = CharField(default="")
    weekdays = CharField(default="0123456")  # Monday=0
    start_time = CharField(default="09:00")  # HH:MM
    end_time = CharField(default="18:00")


class DncNumber(BaseModel):
    """Do-not-call: tenant None is the provider-wide list."""
    id = AutoField()
    tenant = ForeignKeyField(Tenant, null=True, on_delete="CASCADE")
    phone = CharField()  # E.164
    source = CharField(default="manual")  # manual | upload | opt-out | api
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "phone"), True), (("phone",), False))


class ApiKey(BaseModel):
    """An API key of a tenant (tenant set) or of the provider (tenant None). Only a hash is kept."""
    id = AutoField()
    tenant = ForeignKeyField(Tenant, null=True, on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    name = CharField(default="")
    prefix = CharField(index=True)  # first characters, to find the row and show the key
    key_hash = CharField()
    active = BooleanField(default=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)


class TenantLog(BaseModel):
    """Every change: who, what, when, from which address. Tenant None: provider-level."""
    id = AutoField()
    tenant = ForeignKeyField(Tenant, null=True, on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, on_delete="SET NULL")
    username = CharField(default="")
    action = CharField()  # e.g. tenant.create, user.update, contacts.import
    object_type = CharField(default="")
    object_id = CharField(default="")
    detail = TextField(default="")
    ip = CharField(default="")
    created_at = DateTimeField(default=utcnow, index=True)


DISPOSITIONS = ("ANSWERED", "NO ANSWER", "BUSY", "FAILED", "CONGESTION", "MACHINE", "NOT PLACED")


class NodeField(CharField):
    """The node that wrote the row (models.db.node_name): constant for a process, so
    prepared INSERTs take it as a literal (models.prepared.insert_columns)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", node_name)
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)


class Call(TenantOwned):
    """A CDR: one row per call attempt, written even when the attempt never rang."""
    id = AutoField()
    campaign = ForeignKeyField(Campaign, null=True, on_delete="SET NULL")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    entry = ForeignKeyField(CampaignContact, null=True, on_delete="SET NULL")
    direction = CharField(default="outbound")
    number = CharField()
    did = CharField(default="")
    channel_id = CharField(unique=True)
    started_at = DateTimeField(default=utcnow)
    answered_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    duration = IntegerField(default=0)
    billsec = IntegerField(default=0)
    disposition = CharField(default="")
    hangup_cause = IntegerField(default=0)
    cause_txt = CharField(default="")
    # Set once Asterisk accepted the originate: an open CDR without it after a crash was
    # never dialed (the contact is queued again), with it the call happened.
    placed_at = DateTimeField(null=True)
    recording = CharField(default="")  # file name in the instance's recordings dir
    # Contact centre: the agent who took the call, what they recorded of it.
    agent = ForeignKeyField(User, null=True, on_delete="SET NULL")
    agent_disposition = CharField(default="")  # the AgentDisposition's name when set
    notes = TextField(default="")
    # What the call cost (set when it is settled); None: not rated yet.
    cost = DecimalField(max_digits=14, decimal_places=4, auto_round=True, null=True)
    node = NodeField()  # where the call runs (issue 16: recovery and cluster limits)

    class Meta:
        indexes = ((("tenant", "started_at"), False),)


# The calls in progress (live statistics, the wallboard, polled every few seconds): a partial
# index holds only the open rows, so reading them costs the number of live calls, not the
# tenant's CDR history (m0014).
Call.add_index(Call.index(Call.tenant, Call.started_at, name="call_open_by_tenant",
                          where=Call.ended_at.is_null()))


class Node(BaseModel):
    """One node of a cluster (an Asterisk with its Stasis app), as its heartbeat shows it.
    A node whose heartbeat is older than voxcast.cluster.nodes.STALE_S is dead: a survivor
    takes its open calls over (`taken_over_by`) and it leaves the channel-limit shares."""
    name = CharField(primary_key=True, max_length=64)
    state = CharField(default="up")  # up | stopped | taking_over | down
    started_at = DateTimeField(default=utcnow)
    last_seen = DateTimeField(default=utcnow)
    # Asterisk's record of channels (voxcast.runtime.channel_log) where a survivor can read
    # it (the same host or shared storage); "": a survivor counts unplaced calls as dialed.
    channel_log = CharField(default="", max_length=500)
    # Where Kamailio reaches its Asterisk (host:port; VOXCAST_NODE_SIP): `voxcast kamailio
    # start` takes the nodes from here when VOXCAST_NODES is not set.
    sip_address = CharField(default="", max_length=200)
    # Where the web reaches its ARI (VOXCAST_NODE_ARI): console commands go to the node
    # that has the agent's phone or call (voxcast.console.nodes).
    ari_url = CharField(default="", max_length=200)
    taken_over_by = CharField(default="", max_length=64)
    taken_over_at = DateTimeField(null=True)


class SystemStatus(BaseModel):
    """Small key/value facts the Stasis app publishes for the UI (ARI connection, heartbeat)."""
    key = CharField(primary_key=True)
    value = TextField(default="")
    updated_at = DateTimeField(default=utcnow)


class LoginSession(BaseModel):
    """One browser login. The signed cookie carries the raw id, only its hash is kept; logout
    deletes the row, so a copy of the cookie dies with it (Flask's cookie alone cannot be
    revoked). Rows also remember the addresses a user logged in from (voxcast.accounts.login_guard)."""
    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="login_sessions")
    key_hash = CharField(unique=True)
    ip = CharField(default="")
    created_at = DateTimeField(default=utcnow)
    last_seen_at = DateTimeField(default=utcnow, index=True)
    ended_at = DateTimeField(null=True)  # logout; the row stays as a known address

    class Meta:
        indexes = ((("user", "ip"), False),)


class LoginFailure(BaseModel):
    """One failed login, kept 15 minutes for the per-address and unknown-username limits.
    In the database, not in memory: the web UI runs threaded and may run as several processes."""
    id = AutoField()
    ip = CharField(default="", index=True)
    username = CharField(default="", index=True)
    created_at = DateTimeField(default=utcnow, index=True)


class SipBan(BaseModel):
    """Failed SIP authentications of one source address (voxcast.runtime.sip_guard counts them from
    Asterisk's security log) and, past the limit, its ban: a PJSIP ACL deny until banned_until.
    Provider-wide (an attacker belongs to no tenant); shown and lifted on /admin/sip-security."""
    id = AutoField()
    address = CharField(unique=True)
    failures = IntegerField(default=0)  # within the window that started at first_failure_at
    first_failure_at = DateTimeField(default=utcnow)
    last_failure_at = DateTimeField(default=utcnow)
    last_account = CharField(default="")  # the account name the last failure tried
    banned_until = DateTimeField(null=True, index=True)
    banned_at = DateTimeField(null=True)


LEDGER_KINDS = ("opening", "payment", "topup", "charge", "call", "sms", "fax", "email",
                "did_fee", "refund", "adjustment", "free_credit", "free_minutes",
                # issue 15: a package's price and set-up fee (amount 0 when the billing front
                # end collected them, negative when charged from the balance), included units
                "subscription", "setup_fee", "free_units")


class LedgerEntry(TenantOwned):
    """One movement of a tenant's money; Tenant.balance always equals SUM(amount).

    Credits are positive, charges negative. `free_money` / `free_seconds` record what free
    credit buckets covered of a charge (or granted, for kind free_credit/free_minutes); they
    never touch the paid balance. A CDR is charged once per kind: (call, kind) is unique."""
    id = AutoField()
    kind = CharField()
    amount = Money()
    balance_after = Money()
    free_money = Money()
    free_seconds = IntegerField(default=0)
    reference = CharField(default="")
    entered_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")
    message_ref = CharField(null=True)  # SMS/fax/e-mail id; (tenant, kind, message_ref) unique
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = (
            (("call", "kind"), True),
            (("tenant", "kind", "message_ref"), True),
            (("tenant", "created_at"), False),
        )


class CreditBucket(TenantOwned):
    """Free credit (kind money: `amount`) or free minutes (kind minutes: `seconds`) granted
    to a tenant, used before the paid balance until spent or expired. A usage-quota package's
    included messages, fax pages and e-mails are buckets of kind sms | fax | email counted in
    `units` (issue 15), spent by the messages of that channel before they are charged."""
    id = AutoField()
    kind = CharField(default="money")  # money | minutes | sms | fax | email
    amount = Money()  # remaining free money
    seconds = IntegerField(default=0)  # remaining free seconds
    units = IntegerField(default=0)  # remaining included units (kinds sms, fax, email)
    granted_amount = Money()
    granted_seconds = IntegerField(default=0)
    granted_units = IntegerField(default=0)
    # the subscription period that granted it ("sub:<id>:<period start>"), so a renewal that
    # resets expires exactly the previous period's grants and a replay grants nothing twice
    source = CharField(default="", index=True)
    reference = CharField(default="")
    expires_at = DateTimeField(null=True)  # None: never
    created_at = DateTimeField(default=utcnow)


class CreditReservation(TenantOwned):
    """Money (and free seconds) set aside for a call in progress, so concurrent calls cannot
    spend the same credit; released when the call is settled or abandoned."""
    id = AutoField()
    amount = Money()
    seconds = IntegerField(default=0)
    reference = CharField(default="")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")
    entry = ForeignKeyField(LedgerEntry, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    released_at = DateTimeField(null=True, index=True)
    node = NodeField()  # the node holding it: only its own are reconciled at its start


class SurveyAnswer(TenantOwned):
    """One key a contact pressed for one survey question in one call."""
    id = AutoField()
    campaign = ForeignKeyField(Campaign, on_delete="CASCADE")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")
    question = CharField()  # the question's key
    digit = CharField()
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("campaign", "question"), False),)


class IvrRecording(TenantOwned):
    """A message a caller left at an IVR record node; the file is in the instance's recordings."""
    id = AutoField()
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")
    campaign = ForeignKeyField(Campaign, null=True, on_delete="SET NULL")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    ivr = ForeignKeyField(Ivr, null=True, on_delete="SET NULL")
    node = CharField(default="")
    name = CharField()  # ARI recording name: <recordings dir>/<name>.wav
    created_at = DateTimeField(default=utcnow)


# -- contact centre --------------------------------------------------------------------------

AGENT_STATES = ("logged_out", "ready", "ringing", "on_call", "wrapup", "paused")


class PauseReason(TenantOwned):
    """A tenant's own reasons to pause (break, lunch, training...). `system` marks the one the
    platform uses when an agent leaves offered calls unanswered."""
    id = AutoField()
    name = CharField()
    system = BooleanField(default=False)
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("tenant", "name"), True),)


DISPOSITION_KINDS = ("normal", "callback", "dnc")


class AgentDisposition(TenantOwned):
    """What an agent can record at the end of a call; `callback` asks for a time and queues the
    contact again then, `dnc` puts the number on the tenant's DNC list."""
    id = AutoField()
    name = CharField()
    kind = CharField(default="normal")
    position = IntegerField(default=0)
    active = BooleanField(default=True)

    class Meta:
        indexes = ((("tenant", "name"), True),)


class AgentSession(TenantOwned):
    """One login of an agent, bound to their extension, with the current state. The web
    console and the phone change it, the Stasis app offers calls by it; `version` grows on
    every change so the console can tell it moved."""
    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE", backref="agent_sessions")
    extension = ForeignKeyField(Extension, null=True, on_delete="SET NULL")
    via = CharField(default="web")  # web | phone
    state = CharField(default="ready")
    state_since = DateTimeField(default=utcnow)
    pause_reason = ForeignKeyField(PauseReason, null=True, on_delete="SET NULL")
    missed_in_row = IntegerField(default=0)
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")  # the call ringing or talking
    wrapup_until = DateTimeField(null=True)
    last_call_ended_at = DateTimeField(null=True)  # for longest-idle-first
    version = IntegerField(default=0)
    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True, index=True)
    end_reason = CharField(default="")  # logout | tenant_suspended | user_disabled | replaced
    # What the Stasis app reports of the console's call (JSON: on hold, consulting, conference,
    # a refused dial...), written with a version bump (voxcast.console.live.publish).
    console_status = TextField(default="")


class AgentStateLog(TenantOwned):
    """Every state an agent was in, from when to when, so login, ready, talk, wrap-up and pause
    times can be summed."""
    id = AutoField()
    session = ForeignKeyField(AgentSession, on_delete="CASCADE", backref="log")
    user = ForeignKeyField(User, on_delete="CASCADE")
    state = CharField()
    pause_reason = ForeignKeyField(PauseReason, null=True, on_delete="SET NULL")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")
    started_at = DateTimeField(default=utcnow)
    ended_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "started_at"), False),)


# Agent statistics (voxcast.reports.agent_stats): the offers of a period are the tenant's
# ringing rows, each answered one found by its session's on_call row starting as it ended;
# partial indexes hold only those rows (m0015_agent_offer_indexes).
AgentStateLog.add_index(AgentStateLog.index(AgentStateLog.tenant, AgentStateLog.started_at,
                                            name="agentstatelog_offers",
                                            where=AgentStateLog.state == "ringing"))
AgentStateLog.add_index(AgentStateLog.index(AgentStateLog.session, AgentStateLog.started_at,
                                            name="agentstatelog_answers",
                                            where=AgentStateLog.state == "on_call"))


QUEUE_STRATEGIES = ("longest_idle", "round_robin", "ring_all")
QUEUE_FALLBACKS = ("message", "queue", "ivr", "voicemail")


class Queue(TenantOwned):
    """An inbound ACD queue. `fallback_*` says where a caller goes on timeout or when no agent
    is logged in."""
    id = AutoField()
    name = CharField()
    number = CharField(default="")  # dialled by the tenant's phones and IVR transfers
    strategy = CharField(default="longest_idle")
    ring_seconds = IntegerField(default=15)  # per agent offer
    max_wait_seconds = IntegerField(default=300)
    music_class = CharField(default="default")
    announce_every_seconds = IntegerField(default=60)  # 0: no periodic announcement
    announce_position = BooleanField(default=True)
    announce_wait = BooleanField(default=True)
    wrapup_seconds = IntegerField(default=10)
    # the service-level target: answered within this many seconds (per queue, m0016)
    service_level_seconds = IntegerField(default=20)
    fallback = CharField(default="message")
    fallback_queue = ForeignKeyField("self", null=True, on_delete="SET NULL")
    fallback_ivr = ForeignKeyField(Ivr, null=True, on_delete="SET NULL")
    fallback_text = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "name"), True),)


# A DID's queue (route "queue"), declared once Queue exists; a plain foreign key, so a fresh
# table gets the same constraint as a migrated one.
Did._meta.add_field("queue", ForeignKeyField(Queue, null=True, on_delete="SET NULL"))


class QueueMember(TenantOwned):
    """An agent of a queue; a lower penalty is offered calls first."""
    id = AutoField()
    queue = ForeignKeyField(Queue, backref="members", on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="CASCADE")
    penalty = IntegerField(default=0)

    class Meta:
        indexes = ((("queue", "user"), True),)


class CampaignAgent(TenantOwned):
    """An agent who takes the answered calls of a Voice Agent campaign."""
    id = AutoField()
    campaign = ForeignKeyField(Campaign, backref="agents", on_delete="CASCADE")
    user = ForeignKeyField(User, on_delete="CASCADE")

    class Meta:
        indexes = ((("campaign", "user"), True),)


QUEUE_OUTCOMES = ("answered", "abandoned", "timeout", "no_agents", "transferred")


class QueueCall(TenantOwned):
    """One caller's stay in a queue (or a Voice Agent campaign's wait for an agent): how long
    they waited, who answered, whether they gave up."""
    id = AutoField()
    queue = ForeignKeyField(Queue, null=True, on_delete="SET NULL")
    campaign = ForeignKeyField(Campaign, null=True, on_delete="SET NULL")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")  # the caller's CDR
    caller = CharField(default="")
    entered_at = DateTimeField(default=utcnow)
    answered_at = DateTimeField(null=True)
    ended_at = DateTimeField(null=True)
    agent = ForeignKeyField(User, null=True, on_delete="SET NULL")
    agent_call = ForeignKeyField(Call, null=True, on_delete="SET NULL")  # the agent leg's CDR
    offers = IntegerField(default=0)
    outcome = CharField(default="")
    wait_seconds = IntegerField(default=0)

    class Meta:
        indexes = ((("tenant", "entered_at"), False),)


# Callers in a queue now (the wallboard): only the open rows, as for Call above (m0014).
QueueCall.add_index(QueueCall.index(QueueCall.tenant, QueueCall.entered_at,
                                    name="queuecall_open_by_tenant",
                                    where=QueueCall.ended_at.is_null()))



# --- Agent evaluation (issue 13): forms of weighted questions, scored against agents' calls.

class EvaluationForm(TenantOwned):
    """A quality form: sections of questions; a call's evaluation scores it."""
    id = AutoField()
    name = CharField()
    description = TextField(default="")
    active = BooleanField(default=True)  # inactive: kept for past evaluations, not offered
    created_by = ForeignKeyField(User, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "name"), True),)


class EvaluationSection(TenantOwned):
    id = AutoField()
    form = ForeignKeyField(EvaluationForm, backref="sections", on_delete="CASCADE")
    title = CharField()
    position = IntegerField(default=0)


class EvaluationQuestion(TenantOwned):
    """kind "yes_no" (yes scores the weight) or "scale" (1..scale_max, scored pro rata);
    allow_na: "N/A" leaves the question out of the score."""
    id = AutoField()
    form = ForeignKeyField(EvaluationForm, backref="questions", on_delete="CASCADE")
    section = ForeignKeyField(EvaluationSection, backref="questions", on_delete="CASCADE")
    text = TextField()
    kind = CharField(default="yes_no")  # yes_no | scale
    scale_max = IntegerField(default=5)
    weight = DecimalField(max_digits=8, decimal_places=2, default=Decimal("1"))
    allow_na = BooleanField(default=True)
    position = IntegerField(default=0)


class Evaluation(TenantOwned):
    """One scoring of an agent's call against a form; score is a percentage 0-100."""
    id = AutoField()
    form = ForeignKeyField(EvaluationForm, backref="evaluations", on_delete="CASCADE")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")
    agent = ForeignKeyField(User, on_delete="CASCADE", backref="evaluations")
    evaluator = ForeignKeyField(User, null=True, on_delete="SET NULL")
    score = DecimalField(max_digits=6, decimal_places=2, default=Decimal("0"))
    points = DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    max_points = DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    comment = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "created_at"), False), (("agent", "created_at"), False))


# One evaluation per call and form (voxcast.evaluation.evaluations), held by the database
# under concurrent saves too (m0012).
Evaluation.add_index(Evaluation.index(Evaluation.form, Evaluation.call, unique=True,
                                      name="evaluation_form_call"))


class EvaluationAnswer(TenantOwned):
    id = AutoField()
    evaluation = ForeignKeyField(Evaluation, backref="answers", on_delete="CASCADE")
    question = ForeignKeyField(EvaluationQuestion, on_delete="CASCADE")
    value = CharField()  # "yes" | "no" | "na" | "1".."scale_max"
    points = DecimalField(max_digits=8, decimal_places=2, default=Decimal("0"))

    class Meta:
        indexes = ((("evaluation", "question"), True),)


# --- Reports (issue 13): a report builder's saved definitions.

class SavedReport(TenantOwned):
    """definition: JSON of the builder's choices (source, fields, filters, group, sort)."""
    id = AutoField()
    name = CharField()
    owner = ForeignKeyField(User, null=True, on_delete="SET NULL")
    definition = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "name"), True),)


# --- Report rollups and live campaign counters (issue 13, helper E; models.rollups keeps them).
# Database triggers (models.rollups, installed by m0008 and with every fresh schema)
# keep these rows equal to a GROUP BY of the raw tables in the same transaction as each
# change, whatever wrote it (prepared SQL, the ORM, a cascade). Keys use 0 for "none" (a NULL
# would break the unique key the upserts rely on); no foreign keys on those ids, so a
# cascade that deletes raw rows can still subtract them.

class _Rollup(TenantOwned):
    """The tenant leads each rollup's unique key, which serves as its tenant index."""
    tenant = ForeignKeyField(Tenant, on_delete="CASCADE", index=False)


class CampaignTally(TenantOwned):
    """One live count of a campaign: kind "state" (entries per CampaignContact.state),
    "result" (entries per non-empty result), "disp" (outbound calls per disposition, '' while
    open), "queue" (Voice Agent QueueCall rows per outcome). Read by campaign progress."""
    campaign = ForeignKeyField(Campaign, on_delete="CASCADE")
    kind = CharField()
    key = CharField()
    n = IntegerField(default=0)

    class Meta:
        indexes = ((("campaign", "kind", "key"), True),)


class CallRollup(_Rollup):
    """Calls per UTC hour of started_at, campaign, agent, direction and disposition: what the
    report builder and per-agent figures group by."""
    bucket = DateTimeField()
    campaign_id = IntegerField(default=0)
    agent_id = IntegerField(default=0)
    direction = CharField()
    disposition = CharField()
    calls = IntegerField(default=0)
    answered = IntegerField(default=0)
    billsec = BigIntegerField(default=0)
    duration = BigIntegerField(default=0)
    cost = Money()

    class Meta:
        indexes = ((("tenant", "bucket", "campaign_id", "agent_id", "direction", "disposition"),
                    True),)


class CallHour(_Rollup):
    """Calls per UTC hour of started_at, campaign and direction: the CDR summary's source for
    zones a whole number of hours from UTC (a quarter of CallQuarter's rows)."""
    bucket = DateTimeField()
    campaign_id = IntegerField(default=0)
    direction = CharField()
    calls = IntegerField(default=0)
    answered = IntegerField(default=0)
    billsec = BigIntegerField(default=0)
    duration = BigIntegerField(default=0)
    cost = Money()

    class Meta:
        indexes = ((("tenant", "bucket", "campaign_id", "direction"), True),)


class CallQuarter(_Rollup):
    """Calls per quarter hour of started_at, campaign and direction: the CDR summary's source
    for the other zones. Quarter hours, because every time zone's local midnight falls on one
    (India +5:30, Nepal +5:45), so local days are sums of whole buckets."""
    bucket = DateTimeField()
    campaign_id = IntegerField(default=0)
    direction = CharField()
    calls = IntegerField(default=0)
    answered = IntegerField(default=0)
    billsec = BigIntegerField(default=0)
    duration = BigIntegerField(default=0)
    cost = Money()

    class Meta:
        indexes = ((("tenant", "bucket", "campaign_id", "direction"), True),)


class AgentStateQuarter(_Rollup):
    """Closed AgentStateLog time per agent, quarter hour, state and pause reason, each row
    split at the quarter-hour boundaries it crosses (milliseconds, so sums stay exact)."""
    user_id = IntegerField()
    bucket = DateTimeField()
    state = CharField()
    pause_reason_id = IntegerField(default=0)
    ms = BigIntegerField(default=0)

    class Meta:
        indexes = ((("tenant", "bucket", "user_id", "state", "pause_reason_id"), True),)


# Indexes for the raw filters reports still run (CDR detail by agent or campaign, agent
# states of a stretch, the open agent states that totals adds to the rollup).
Call.add_index(Call.index(Call.tenant, Call.agent, Call.started_at, name="call_by_agent"))
Call.add_index(Call.index(Call.campaign, Call.started_at, name="call_by_campaign"))
AgentStateLog.add_index(AgentStateLog.index(AgentStateLog.tenant, AgentStateLog.started_at,
                                            name="agentstatelog_by_tenant"))
AgentStateLog.add_index(AgentStateLog.index(AgentStateLog.tenant, AgentStateLog.user,
                                            name="agentstatelog_open_by_tenant",
                                            where=AgentStateLog.ended_at.is_null()))

ROLLUP_MODELS = [CampaignTally, CallRollup, CallHour, CallQuarter, AgentStateQuarter]
# --- end of report rollups


# --- messaging (issue 14): SMS, fax and e-mail, sent by campaigns and received

MESSAGE_CHANNELS = ("sms", "fax", "email")
# queued: written before it is handed on; submitting: being handed to the SMSC / SMTP server /
# Asterisk (an outcome unknown after a crash is never retried blindly: see voxcast.messaging);
# submitted: accepted, waiting for a receipt; then one final state.
MESSAGE_STATES = ("queued", "submitting", "submitted", "delivered", "undelivered", "expired",
                  "rejected", "failed", "bounced", "sent", "received",
                  "receiving")  # receiving: one part of a concatenated inbound SMS
MESSAGE_FINAL_STATES = ("delivered", "undelivered", "expired", "rejected", "failed", "bounced",
                        "sent", "received")


class Message(TenantOwned):
    """One SMS, fax or e-mail, sent or received: the message counterpart of a CDR, shown in
    the tenant's reports and cost reports. An outbound one is written (state queued) before it
    is handed on, so a crash neither loses it nor sends it twice."""
    id = AutoField()
    channel = CharField()  # MESSAGE_CHANNELS
    direction = CharField(default="outbound")  # outbound | inbound
    campaign = ForeignKeyField(Campaign, null=True, on_delete="SET NULL")
    contact = ForeignKeyField(Contact, null=True, on_delete="SET NULL")
    entry = ForeignKeyField(CampaignContact, null=True, on_delete="SET NULL")
    address = CharField()  # the other party: E.164 number or e-mail address
    sender = CharField(default="")  # our side: source address, DID or From
    subject = CharField(default="")  # e-mail subject
    body = TextField(default="")  # rendered text (SMS, e-mail text part); inbound SMS text
    encoding = CharField(default="")  # SMS: gsm7 | ucs2
    units = IntegerField(default=1)  # billed: SMS segments, fax pages sent, 1 per e-mail
    state = CharField(default="queued")  # MESSAGE_STATES
    error = CharField(default="")  # why it failed, as the far side said
    external_id = CharField(default="")  # SMTP Message-ID, fax channel id (SMS: MessagePart)
    connection = ForeignKeyField(SmscConnection, null=True, on_delete="SET NULL")
    call = ForeignKeyField(Call, null=True, on_delete="SET NULL")  # a fax attempt's call
    document = CharField(default="")  # inbound fax: stored PDF file name in faxes_dir
    attempts = IntegerField(default=0)
    cost = DecimalField(max_digits=14, decimal_places=4, auto_round=True, null=True)
    created_at = DateTimeField(default=utcnow)
    submitted_at = DateTimeField(null=True)
    done_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("tenant", "created_at"), False), (("campaign", "state"), False),
                   (("entry",), False), (("external_id",), False),
                   (("tenant", "channel", "state"), False))  # the claims' credit check (m0018)


class MessagePart(TenantOwned):
    """One submit_sm of an SMS (a segment): each has its SMSC message id and receipt."""
    id = AutoField()
    message = ForeignKeyField(Message, backref="parts", on_delete="CASCADE")
    seq = IntegerField(default=1)
    external_id = CharField(default="")  # the SMSC's message_id from submit_sm_resp
    state = CharField(default="queued")
    error = CharField(default="")
    submitted_at = DateTimeField(null=True)
    done_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("message", "seq"), True), (("external_id",), False))


class EmailDnc(TenantOwned):
    """An address the tenant's e-mail campaigns never write to: unsubscribed (RFC 8058 link),
    hard-bounced, added by hand, uploaded or through the API."""
    id = AutoField()
    address = CharField()  # lower-cased
    source = CharField(default="manual")  # manual | upload | unsubscribe | bounce | api
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "address"), True),)


MESSAGING_MODELS = [SmscConnection, FaxDocument, Message, MessagePart, EmailDnc]


# --- issue 15: packages, subscriptions, the provisioning API's idempotency, webhooks, SSO

BILLING_MODELS = ("payg", "subscription", "usage", "topup")
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


class Package(BaseModel):
    """What a provider sells (provider-level, no tenant): the resources, limits and features a
    subscribed tenant gets, how it is billed, and when an unpaid service is suspended and
    terminated. Prices are what the billing front end invoices; see voxcast.packages."""
    id = AutoField()
    name = CharField(unique=True)
    description = TextField(default="")
    billing_model = CharField(default="subscription")  # BILLING_MODELS
    period = CharField(default="monthly")  # PERIOD_MONTHS; ignored for topup
    price = Money()  # per period (topup: what the customer pays)
    setup_fee = Money()
    rate_plan = ForeignKeyField(RatePlan, null=True, on_delete="SET NULL")
    channel_limit = IntegerField(default=10)
    max_users = IntegerField(default=50)
    max_agents = IntegerField(default=20)
    max_campaigns = IntegerField(default=100)
    max_contacts = IntegerField(default=1000000)
    disk_quota_mb = IntegerField(default=1024)
    features = TextField(default=" ".join(FEATURES))
    # granted each period; "keep" adds to what is left, "reset" replaces it
    free_credit = Money()
    free_minutes = IntegerField(default=0)
    free_rollover = CharField(default="reset")  # keep | reset
    # usage model: included each period (always reset at renewal); beyond them the package's
    # rate plan prices the overage
    included_minutes = IntegerField(default=0)
    included_messages = IntegerField(default=0)
    included_pages = IntegerField(default=0)
    included_emails = IntegerField(default=0)
    topup_amount = Money()  # topup model: credited to the balance per purchase
    grace_days = IntegerField(default=7)  # unpaid past the period's end: suspended after
    terminate_days = IntegerField(default=30)  # ... and its data deleted after (from the end)
    downgrade_policy = CharField(default="refuse")  # refuse | next_renewal
    active = BooleanField(default=True)  # inactive: kept for its subscribers, not sold
    created_at = DateTimeField(default=utcnow)


SUBSCRIPTION_STATES = ("active", "suspended", "terminated")


class Subscription(TenantOwned):
    """A tenant on a package, one per tenant. The period runs [period_start, period_end);
    paid through period_end once renewed. suspended_reason is "unpaid" (the sweep) or
    "provider" (an explicit suspend), so paying unsuspends only what non-payment suspended."""
    id = AutoField()
    package = ForeignKeyField(Package, on_delete="RESTRICT")
    status = CharField(default="active")  # SUBSCRIPTION_STATES
    period_start = DateTimeField()
    period_end = DateTimeField(index=True)
    pending_package = ForeignKeyField(Package, null=True, on_delete="SET NULL")
    suspended_at = DateTimeField(null=True)
    suspended_reason = CharField(default="")
    external_id = CharField(default="")  # the billing front end's service id (WHMCS serviceid)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant",), True),)


class IdempotencyKey(BaseModel):
    """A write to /api/v1 under an Idempotency-Key: the first request claims the row (unique
    per API key), its response is stored, and a replay with the same body gets it back."""
    id = AutoField()
    api_key = ForeignKeyField(ApiKey, on_delete="CASCADE")
    key = CharField(max_length=255)
    method = CharField(max_length=10)
    path = CharField(max_length=500)
    body_hash = CharField(max_length=64)
    status = IntegerField(null=True)  # None: the first request is still running
    response = TextField(default="")
    content_type = CharField(default="application/json")
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("api_key", "key"), True),)


class WebhookEndpoint(BaseModel):
    """A URL that receives signed events: the provider's (tenant None: every tenant's events
    and provider events) or a tenant's (only its own). `secret` signs; shown once at creation."""
    id = AutoField()
    tenant = ForeignKeyField(Tenant, null=True, on_delete="CASCADE")
    url = CharField(max_length=1000)
    secret = CharField()
    events = TextField(default="*")  # space-separated event names or prefixes ("campaign.*")
    active = BooleanField(default=True)
    description = CharField(default="")
    created_at = DateTimeField(default=utcnow)


WEBHOOK_STATES = ("pending", "delivered", "failed")


class WebhookDelivery(BaseModel):
    """One event for one endpoint (an outbox row written in the transaction of the change),
    retried with backoff until delivered or given up."""
    id = AutoField()
    endpoint = ForeignKeyField(WebhookEndpoint, on_delete="CASCADE")
    tenant = ForeignKeyField(Tenant, null=True, on_delete="SET NULL")  # whose event
    event = CharField()
    event_id = CharField()  # stable across retries, sent as X-Voxcast-Delivery
    payload = TextField()  # the JSON body, exactly as signed and sent
    state = CharField(default="pending")  # WEBHOOK_STATES
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    last_status = IntegerField(null=True)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("state", "next_attempt_at"), False),)


class LoginToken(BaseModel):
    """A single-sign-on link for a user: one use, a short life, only its hash kept."""
    id = AutoField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    token_hash = CharField(unique=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


PACKAGE_MODELS = [Package, Subscription, IdempotencyKey, WebhookEndpoint, WebhookDelivery,
                  LoginToken]
# --- end of packages
class Prompt(TenantOwned):
    """A prompt of the tenant's audio library (issue 17): uploaded (any format sox reads),
    recorded in the browser or spoken by TTS, stored as the 8 kHz mono WAV Asterisk plays,
    <sounds_dir>/<sound>.wav with sound = prompt-t<tenant>-<token> (voxcast.audio.library).
    Campaigns (message_file) and IVR trees (a node's `sound`) name it by `sound`."""
    id = AutoField()
    name = CharField(max_length=120)
    source = CharField(default="upload")  # upload | recording | tts
    sound = CharField(unique=True)
    text = TextField(default="")  # what TTS spoke
    language = CharField(default="")  # the TTS language
    filename = CharField(default="")  # as uploaded
    seconds = DecimalField(max_digits=8, decimal_places=2, default=0)
    size_bytes = BigIntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("tenant", "name"), True),)


# (SmscConnection and FaxDocument come before Campaign in ALL_MODELS: Campaign points at them)
# --- end of messaging


ALL_MODELS = [RatePlan, Tenant, User, ContactGroup, Contact, SmscConnection, FaxDocument, Campaign, CampaignContact,
              Did, Extension, Timeslot, DncNumber, ApiKey, TenantLog, Call, SystemStatus,
              LoginFailure, LoginSession, Rate, LedgerEntry, CreditBucket, CreditReservation, Ivr,
              SurveyAnswer, IvrRecording, SipBan, PauseReason, AgentDisposition, AgentSession,
              AgentStateLog, Queue, QueueMember, CampaignAgent, QueueCall, EvaluationForm,
              EvaluationSection, EvaluationQuestion, Evaluation, EvaluationAnswer, SavedReport,
              *ROLLUP_MODELS, Message, MessagePart, EmailDnc, *PACKAGE_MODELS, Prompt, Node]
