"""What the SMS integration tests share: the database on SQLite or PostgreSQL, the test SMSC
on loopback, `voxcast messaging` as its own process, and an SMS campaign ready to start."""
from __future__ import annotations

import functools
import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest

import models
from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant
from models.entities import Message, MessagePart, RatePlan, SmscConnection, SystemStatus
from tests.pg_support import fresh_schema, postgres_url
from tests.smsc.server import SmscConfig, SmscThread
from voxcast.billing import ledger
from voxcast.campaigns import lifecycle

from .messaging_support import MessagingProcess

OFFSET = int(os.environ.get("VOXCAST_PORT_OFFSET", "0"))
SMSC_PORT = 2775 + OFFSET
PRICE = Decimal("0.05")


def wait_for(check, timeout: float, message: str, every: float = 0.2):
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {message() if callable(message) else message}")
        time.sleep(every)


def messaging_process(db_url: str, logdir: Path) -> MessagingProcess:
    """`voxcast messaging` on the SMS test's own database."""
    return MessagingProcess(logdir, {**os.environ, "DATABASE_URL": db_url})


# The backend of this pass: `make test` runs the integration tests once on PostgreSQL
# (DATABASE_URL set) and once on SQLite, at the same time on two instances.
BACKENDS = ["postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else ["sqlite"]


@functools.lru_cache(maxsize=1)
def _pg_url() -> str | None:
    """Made once a process: each SMS module imports the fixture (a fixture per module), and a
    second module's drop of the database would meet the first's open connection."""
    instance = re.sub(r"[^a-z0-9_]", "_", os.environ.get("VOXCAST_INSTANCE", "test").lower())
    return postgres_url(f"voxcast_sms_{instance}")


@pytest.fixture(scope="session")
def sms_pg_url():
    """The SMS tests' PostgreSQL database, one per instance so parallel passes never meet
    (each test gets a fresh schema)."""
    url = _pg_url()
    if url is None:
        pytest.skip("PostgreSQL could not be started here")
    return url


@pytest.fixture(params=BACKENDS)
def sms_db(request, tmp_path):
    """A database of the test's own; the suite's (models.database as the session's `db`
    fixture opened it) is put back afterwards, or every later test would write here."""
    previous = models.database.obj
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/sms.db"
        models.init_database(url)
        models.bootstrap(admin_password="x-admin-secret", master_password="x-master-secret")
    else:
        url = request.getfixturevalue("sms_pg_url")
        fresh_schema(url)
    yield url
    models.database.close()
    if previous is not None:
        models.database.initialize(previous)


@pytest.fixture
def smsc_factory():
    started = []

    def make(**kw) -> SmscThread:
        smsc = SmscThread(SmscConfig(port=SMSC_PORT, **kw)).start()
        started.append(smsc)
        return smsc
    yield make
    for smsc in started:
        smsc.stop()


@pytest.fixture
def messaging(sms_db, tmp_path):
    procs = []

    def start() -> MessagingProcess:
        proc = messaging_process(sms_db, tmp_path)
        proc.start()
        procs.append(proc)
        return proc
    yield start
    for proc in procs:
        proc.stop()


def make_tenant(balance: Decimal = Decimal("100"), per_second: int = 0) -> Tenant:
    plan = RatePlan.create(name=f"sms-plan-{time.monotonic_ns()}", sms_price=PRICE)
    tenant = Tenant.create(name=f"SMS tenant {time.monotonic_ns()}", slug=f"sms{time.monotonic_ns()}",
                           country="DE", rate_plan=plan, sms_per_second=per_second)
    if balance > 0:
        ledger.credit(tenant.id, balance, reference="test credit")
    return tenant


def make_connection(**kw) -> SmscConnection:
    fields = dict(name=f"test-smsc-{time.monotonic_ns()}", host="127.0.0.1", port=SMSC_PORT,
                  system_id="voxcast", password="secret", source_addr="Voxcast", throughput=0,
                  is_default=True)
    fields.update(kw)
    return SmscConnection.create(**fields)


def make_sms_campaign(tenant: Tenant, phones: list[str], text: str, **fields) -> Campaign:
    group = ContactGroup.create(tenant=tenant, name=f"g{time.monotonic_ns()}")
    for i, phone in enumerate(phones):
        Contact.create(tenant=tenant, group=group, phone=phone, first_name=f"Ann{i}",
                       custom1=f"C{i}")
    return Campaign.create(tenant=tenant, name=f"sms-{time.monotonic_ns()}", type="sms",
                           group=group, sms_text=text, **fields)


def start_campaign(campaign: Campaign) -> None:
    """Queue the group's contacts and mark it running (what the portal's start does)."""
    with models.database.atomic():
        for contact in Contact.select().where(Contact.group == campaign.group_id):
            CampaignContact.create(tenant=campaign.tenant_id, campaign=campaign.id,
                                   contact=contact.id, phone=contact.phone)
        lifecycle.mark_running(Campaign.get_by_id(campaign.id))


def progress(campaign: Campaign, proc: "MessagingProcess") -> str:
    """What a campaign that did not finish left behind, for the failure message."""
    from peewee import fn
    states = {k: n for k, n in CampaignContact.select(CampaignContact.state, fn.COUNT(1))
              .where(CampaignContact.campaign == campaign.id).group_by(CampaignContact.state).tuples()}
    msgs = {k: n for k, n in Message.select(Message.state, fn.COUNT(1))
            .where(Message.campaign == campaign.id).group_by(Message.state).tuples()}
    parts = {k: n for k, n in MessagePart.select(MessagePart.state, fn.COUNT(1))
             .join(Message).where(Message.campaign == campaign.id)
             .group_by(MessagePart.state).tuples()}
    return f"every contact settled: entries {states} messages {msgs} parts {parts}\n{proc.log_tail()}"


def entries(campaign: Campaign) -> list[CampaignContact]:
    return list(CampaignContact.select().where(CampaignContact.campaign == campaign.id)
                .order_by(CampaignContact.id))


def all_settled(campaign: Campaign) -> bool:
    rows = entries(campaign)
    return bool(rows) and all(e.state in ("done", "failed", "dnc") for e in rows)


def messages(campaign: Campaign) -> list[Message]:
    return list(Message.select().where(Message.campaign == campaign.id).order_by(Message.id))


def parts_of(message: Message) -> list[MessagePart]:
    return list(MessagePart.select().where(MessagePart.message == message.id)
                .order_by(MessagePart.seq))


def bind_state(connection_id: int) -> str:
    import json
    row = SystemStatus.get_or_none(SystemStatus.key == f"smsc:{connection_id}")
    return json.loads(row.value)["state"] if row else ""
