"""Packages and subscriptions on a real database (SQLite here; the _postgres twin runs the
same tests on PostgreSQL): provisioning and its e-mail, renewal (keep / reset, replay,
charged from the balance), the unpaid sweep, suspension reasons, package changes, top-ups,
included units and minutes spent before money, usage from real rows."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from models import Campaign, Contact, ContactGroup, Tenant, User
from models.entities import (Call, CreditBucket, LedgerEntry, Message, Package, RatePlan,
                             Subscription, TenantLog, WebhookDelivery, WebhookEndpoint,
                             IdempotencyKey, ApiKey, utcnow)
from voxcast.billing import ledger
from voxcast.packages import catalogue, subscriptions as subs
from voxcast.packages.catalogue import PackageInput
from voxcast.packages.errors import (DowngradeRefused, NoSubscription, PackageError,
                                     SubscriptionError)
from voxcast.packages.usage import usage
from voxcast.tenants.services import NewAdmin, TenantError, TenantProfile

from .smtp_peer import smtp  # noqa: F401  (fixture)

LANGS = {"en": "English", "de": "Deutsch"}
# Near the real clock: the ledger spends only buckets unexpired by the wall clock.
NOW = utcnow().replace(microsecond=0)
DAY = dt.timedelta(days=1)


@pytest.fixture
def plan(db):
    return RatePlan.create(name="pkg-plan", sms_price=Decimal("0.05"),
                           fax_page_price=Decimal("0.10"), email_price=Decimal("0.01"))


@pytest.fixture
def hook(db):
    """A provider webhook endpoint that wants every event (so emits leave rows to read)."""
    return WebhookEndpoint.create(url="http://127.0.0.1:9/hook", secret="whsec_x", events="*")


def package(name="Basic", **fields) -> Package:
    data = {"name": name, "billing_model": "subscription", "period": "monthly",
            "price": "29.00", "setup_fee": "10", "max_users": "5", "max_contacts": "100",
            "features": "sms voice_message reports", "grace_days": 3, "terminate_days": 10}
    data.update(fields)
    return catalogue.create_package(PackageInput.from_dict(data))


def tenant_on(pkg, slug="acme", now=NOW, **kw) -> Tenant:
    tenant = Tenant.create(name=slug, slug=slug)
    subs.subscribe(tenant, pkg.id, now=now, **kw)
    return Tenant.get_by_id(tenant.id)


def events_of(name):
    return [json.loads(d.payload) for d in WebhookDelivery.select().where(
        WebhookDelivery.event == name).order_by(WebhookDelivery.id)]


def profile(slug="acme"):
    return TenantProfile(name=f"{slug} GmbH", slug=slug, country="DE", timezone="Europe/Berlin")


def admin(notify="credentials", username="acme-admin"):
    return NewAdmin(username=username, password="s3cret-pass", first_name="Ann",
                    email=f"{username}@example.com", notify=notify)


# -- catalogue ------------------------------------------------------------------------------

def test_given_bad_package_input_then_each_field_is_named_and_nothing_saved(db):
    data = PackageInput(name="", billing_model="weekly-ish", period="daily", price="abc",
                        channel_limit=0, features="sms teleport", grace_days=9,
                        terminate_days=2, rate_plan_id=999)
    found = catalogue.check_package(data)
    assert set(found) >= {"name", "billing_model", "period", "price", "channel_limit",
                          "features", "terminate_days", "rate_plan_id"}
    with pytest.raises(PackageError) as exc:
        catalogue.create_package(data)
    assert exc.value.code == "invalid-package" and Package.select().count() == 0
    with pytest.raises(PackageError):
        PackageInput.from_dict({"nmae": "typo"})
    with pytest.raises(PackageError) as exc:
        package("Top", billing_model="topup", topup_amount="0")
    assert "topup_amount" in exc.value.errors


def test_given_a_package_when_updated_or_deleted_then_subscribers_block_deletion(
        db, plan, tmp_path):
    pkg = package(rate_plan=plan.id)
    catalogue.update_package(pkg, PackageInput(price="39.5", features=["sms", "fax"]))
    pkg = Package.get_by_id(pkg.id)
    assert (pkg.price, pkg.features, pkg.rate_plan_id, pkg.max_users) == (
        Decimal("39.5"), "fax sms", plan.id, 5)
    tenant = tenant_on(pkg)
    with pytest.raises(SubscriptionError):
        catalogue.delete_package(pkg)
    catalogue.update_package(pkg, PackageInput(active=False))
    assert [p.name for p in catalogue.packages(active_only=True)] == []
    with pytest.raises(PackageError):  # not sold any more
        subs.subscribe(Tenant.create(name="other", slug="other"), pkg.id)
    subs.terminate(tenant, tmp_path)
    catalogue.delete_package(pkg)
    assert Package.select().count() == 0
    assert TenantLog.select().where(TenantLog.action.startswith("package.")).count() == 4


# -- provisioning ---------------------------------------------------------------------------

def test_given_a_package_when_provisioned_then_tenant_admin_limits_ledger_and_mail(
        db, plan, smtp, hook):
    pkg = package(rate_plan=plan.id, channel_limit=4, max_agents=2, disk_quota_mb=50)
    done = subs.provision(pkg.id, profile(), admin(), languages=LANGS,
                          external_id="whmcs-17", now=NOW)
    tenant = Tenant.get_by_id(done.tenant.id)
    assert (tenant.rate_plan_id, tenant.channel_limit, tenant.max_users, tenant.max_agents,
            tenant.max_contacts, tenant.disk_quota_mb, tenant.features) == (
        plan.id, 4, 5, 2, 100, 50, "voice_message sms reports")
    sub = subs.current(tenant)
    assert (sub.status, sub.external_id, sub.period_start, sub.period_end.month) == (
        "active", "whmcs-17", NOW, (NOW.month % 12) + 1)
    rows = {e.kind: e for e in LedgerEntry.select().where(LedgerEntry.tenant == tenant.id)}
    assert rows["setup_fee"].amount == 0 and "10.00" in rows["setup_fee"].reference
    assert rows["subscription"].amount == 0 and "29.00" in rows["subscription"].reference
    assert tenant.balance == 0 and done.activation_link is None and done.mail_error == ""
    mail = smtp.wait()
    assert mail["To"] == "acme-admin@example.com"
    assert "s3cret-pass" in smtp.body(mail) and "http://acme.voxcast.test/login" in smtp.body(mail)
    created = events_of("tenant.created")
    assert len(created) == 1 and created[0]["data"]["external_id"] == "whmcs-17"
    # the same external id twice: refused, nothing made
    with pytest.raises(SubscriptionError):
        subs.provision(pkg.id, profile("beta"), admin(username="beta-admin"), languages=LANGS,
                       external_id="whmcs-17", now=NOW)
    assert not Tenant.select().where(Tenant.slug == "beta").exists()


def test_given_notify_activation_or_none_then_a_link_is_mailed_or_nothing(db, smtp):
    pkg = package()
    done = subs.provision(pkg.id, profile(), admin("activation"), languages=LANGS)
    assert done.activation_link.startswith("http://acme.voxcast.test/activate/")
    assert smtp.link(smtp.wait()) == done.activation_link
    assert User.get_by_id(done.user.id).pending_activation
    quiet = subs.provision(pkg.id, profile("quiet"), NewAdmin("quiet-admin", "", "Q",
                                                              "q@example.com", "none"),
                           languages=LANGS)
    assert quiet.activation_link is None and User.get_by_id(quiet.user.id).active
    with pytest.raises(AssertionError):
        smtp.wait(2, timeout=0.5)


def test_given_a_topup_package_or_bad_profile_when_provisioned_then_nothing_is_created(db):
    top = package("Top 50", billing_model="topup", topup_amount="50")
    with pytest.raises(PackageError):
        subs.provision(top.id, profile(), admin(), languages=LANGS)
    pkg = package()
    with pytest.raises(TenantError):
        subs.provision(pkg.id, TenantProfile(name="", slug="BAD SLUG"), admin(), languages=LANGS)
    assert Tenant.select().where(Tenant.slug != "master").count() == 0
    assert Subscription.select().count() == 0


def test_given_an_unreachable_smtp_server_then_the_tenant_stays_and_the_error_is_told(
        db, monkeypatch):
    from voxcast import mailer
    settings = mailer.MailSettings(host="127.0.0.1", port=1, timeout=1)
    done = subs.provision(package().id, profile(), admin(), languages=LANGS,
                          mail_settings=settings, base_url="http://portal.test")
    assert done.mail_error and Tenant.get_by_id(done.tenant.id)
    assert TenantLog.select().where(TenantLog.action == "tenant.welcome_mail_failed").exists()


# -- renewal --------------------------------------------------------------------------------

def free_money(tenant):
    return ledger.free_money(tenant.id)


@pytest.mark.parametrize("rollover, expected", [("keep", Decimal("10")), ("reset", Decimal("5"))])
def test_given_free_credit_when_renewed_late_then_keep_adds_and_reset_replaces(
        db, rollover, expected):
    start = NOW - dt.timedelta(days=32)  # the first period ended yesterday or so
    pkg = package(free_credit="5", free_minutes=20, free_rollover=rollover, grace_days=5)
    tenant = tenant_on(pkg, now=start)
    if rollover == "keep":
        assert free_money(tenant) == Decimal("5")
    subs.renew(tenant, reference="INV-1", now=NOW)
    assert free_money(tenant) == expected
    assert ledger.free_seconds(tenant.id) == (2 if rollover == "keep" else 1) * 20 * 60
    sub = subs.current(tenant)
    assert sub.period_start > start and sub.period_end > NOW
    renewal = LedgerEntry.get(LedgerEntry.tenant == tenant.id, LedgerEntry.kind == "subscription",
                              LedgerEntry.message_ref == subs.period_ref(sub, sub.period_start))
    assert renewal.amount == 0 and "INV-1" in renewal.reference and "29.00" in renewal.reference


def test_given_reset_when_renewed_early_then_the_old_credit_lasts_to_its_period_end(db):
    pkg = package(free_credit="5", free_rollover="reset")
    tenant = tenant_on(pkg)
    end = subs.current(tenant).period_end
    subs.renew(tenant, now=NOW + DAY)
    buckets = list(CreditBucket.select().where(CreditBucket.tenant == tenant.id)
                   .order_by(CreditBucket.id))
    assert [b.expires_at for b in buckets] == [end, subs.current(tenant).period_end]
    assert free_money(tenant) == Decimal("10")  # both usable until the first period ends


def test_given_a_renewal_when_replayed_with_the_same_now_then_nothing_happens_twice(db, hook):
    pkg = package(free_credit="5", free_rollover="keep")
    tenant = tenant_on(pkg)
    first = subs.renew(tenant, now=NOW + DAY)
    again = subs.renew(tenant, now=NOW + DAY)
    assert (again.period_start, again.period_end) == (first.period_start, first.period_end)
    assert LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                      LedgerEntry.kind == "subscription").count() == 2
    assert CreditBucket.select().where(CreditBucket.tenant == tenant.id).count() == 2
    assert len(events_of("subscription.renewed")) == 1
    later = subs.renew(tenant, now=NOW + 2 * DAY)  # another payment: the period after
    assert later.period_start == first.period_end


def test_given_charge_balance_when_renewed_then_the_price_comes_from_the_balance(db):
    tenant = tenant_on(package(price="29"))
    ledger.credit(tenant.id, "50", reference="wire")
    subs.renew(tenant, charge_balance=True, now=NOW + DAY)
    assert ledger.balance(tenant.id) == Decimal("21") == ledger.ledger_sum(tenant.id)
    sub = subs.current(tenant)
    with pytest.raises(ledger.InsufficientCredit):
        subs.renew(tenant, charge_balance=True, now=NOW + 2 * DAY)
    assert subs.current(tenant).period_end == sub.period_end  # nothing changed
    assert ledger.balance(tenant.id) == Decimal("21")


def test_given_a_usage_package_when_renewed_then_included_units_are_reset(db, plan):
    pkg = package(billing_model="usage", rate_plan=plan.id, included_minutes=10,
                  included_messages=100, included_pages=5, included_emails=1000)
    tenant = tenant_on(pkg)
    assert (ledger.free_seconds(tenant.id), ledger.free_units(tenant.id, "sms")) == (600, 100)
    ledger.charge_messages(tenant.id, "sms", [ledger.MessageCharge("message:1", Decimal("0.10"),
                                                                   units=2)])
    assert ledger.free_units(tenant.id, "sms") == 98
    end = subs.current(tenant).period_end
    subs.renew(tenant, now=end - dt.timedelta(hours=1))
    old = CreditBucket.get(CreditBucket.kind == "sms", CreditBucket.units == 98)
    assert old.expires_at == end  # reset at its period's end, not added up
    new = CreditBucket.get(CreditBucket.kind == "sms", CreditBucket.units == 100)
    assert new.expires_at == subs.current(tenant).period_end


def test_given_no_subscription_then_renew_and_change_say_so(db):
    tenant = Tenant.create(name="bare", slug="bare")
    with pytest.raises(NoSubscription):
        subs.renew(tenant)
    with pytest.raises(NoSubscription):
        subs.change_package(tenant, package().id)
    assert subs.current(tenant) is None
    subs.suspend(tenant)  # works without a subscription too
    assert Tenant.get_by_id(tenant.id).status == "suspended"
    subs.unsuspend(tenant)
    assert Tenant.get_by_id(tenant.id).status == "active"


# -- unpaid: suspension, termination ---------------------------------------------------------

def _with_data(tenant):
    group = ContactGroup.create(tenant=tenant, name="g")
    Contact.create(tenant=tenant, group=group, phone="+4930111")
    campaign = Campaign.create(tenant=tenant, name="c", type="sms", group=group,
                               status="running", sms_text="hi")
    Call.create(tenant=tenant, number="+4930111", channel_id=f"ch-{tenant.id}", billsec=30)
    return campaign


def test_given_an_unpaid_period_then_the_sweep_suspends_after_grace_and_terminates_later(
        db, tmp_path):
    tenant = tenant_on(package(grace_days=3, terminate_days=10))
    campaign = _with_data(tenant)
    end = subs.current(tenant).period_end
    assert subs.sweep(end + 2 * DAY, sounds_dir=tmp_path).suspended == []
    done = subs.sweep(end + 4 * DAY, sounds_dir=tmp_path)
    assert done.suspended == [tenant.id] and done.terminated == []
    sub = subs.current(tenant)
    assert (sub.status, sub.suspended_reason) == ("suspended", "unpaid")
    assert Tenant.get_by_id(tenant.id).status == "suspended"
    assert Campaign.get_by_id(campaign.id).status == "paused"  # campaigns stop
    assert subs.sweep(end + 5 * DAY, sounds_dir=tmp_path).suspended == []  # once
    assert subs.sweep(end + 9 * DAY, sounds_dir=tmp_path).terminated == []  # not before
    assert Contact.select().where(Contact.tenant == tenant.id).count() == 1  # data kept
    done = subs.sweep(end + 11 * DAY, sounds_dir=tmp_path)
    assert done.terminated == [tenant.id]
    assert Tenant.get_or_none(Tenant.id == tenant.id) is None
    for model in (Contact, Campaign, Call, Subscription, LedgerEntry):
        assert model.select().where(model.tenant == tenant.id).count() == 0


def test_given_payg_or_a_provider_suspension_then_the_sweep_neither_suspends_nor_terminates(
        db, tmp_path):
    payg = tenant_on(package("PAYG", billing_model="payg"), slug="payg")
    held = tenant_on(package(grace_days=0, terminate_days=1), slug="held")
    subs.suspend(held, reason="provider")
    later = NOW + dt.timedelta(days=400)
    done = subs.sweep(later, sounds_dir=tmp_path)
    assert done.suspended == [] and done.terminated == []
    assert Tenant.get_by_id(payg.id).status == "active"
    assert subs.current(held).suspended_reason == "provider"


def test_given_an_unpaid_suspension_when_renewed_then_unsuspended_but_not_a_provider_one(
        db, tmp_path):
    unpaid = tenant_on(package(), slug="unpaid")
    campaign = _with_data(unpaid)
    by_user = Campaign.create(tenant=unpaid, name="held by the user", type="sms",
                              group=campaign.group, status="paused", status_code="user")
    end = subs.current(unpaid).period_end
    subs.sweep(end + 4 * DAY, sounds_dir=tmp_path)
    assert Campaign.get_by_id(campaign.id).status == "paused"
    subs.renew(unpaid, now=end + 4 * DAY)
    assert (subs.current(unpaid).status, Tenant.get_by_id(unpaid.id).status) == ("active", "active")
    assert Campaign.get_by_id(campaign.id).status == "running"  # restored as it was
    assert Campaign.get_by_id(by_user.id).status == "paused"
    held = tenant_on(package("Other"), slug="held")
    held_campaign = _with_data(held)
    subs.suspend(held, reason="provider")
    subs.suspend(held, reason="unpaid")  # never weakens a provider's suspension
    subs.renew(held, now=NOW + DAY)
    assert subs.current(held).suspended_reason == "provider"
    assert Tenant.get_by_id(held.id).status == "suspended"
    assert Campaign.get_by_id(held_campaign.id).status == "paused"
    assert subs.unsuspend(held) == 1
    assert (subs.current(held).status, Tenant.get_by_id(held.id).status) == ("active", "active")
    assert Campaign.get_by_id(held_campaign.id).status == "running"


def test_given_old_idempotency_keys_then_the_sweep_purges_them(db, tmp_path):
    key = ApiKey.create(name="k", key_hash="h", prefix="p") if "prefix" in ApiKey._meta.fields \
        else ApiKey.create(name="k", key_hash="h")
    IdempotencyKey.create(api_key=key, key="old", method="POST", path="/x", body_hash="0",
                          created_at=NOW - 8 * DAY)
    IdempotencyKey.create(api_key=key, key="new", method="POST", path="/x", body_hash="0")
    assert subs.sweep(NOW, sounds_dir=tmp_path).keys_purged == 1
    assert [k.key for k in IdempotencyKey.select()] == ["new"]


# -- package changes -----------------------------------------------------------------------

def test_given_an_upgrade_then_limits_apply_at_once_and_every_record_stays(db, hook):
    small = package("Small", max_users=2, max_contacts=10, channel_limit=2)
    big = package("Big", max_users=50, max_contacts=5000, channel_limit=30,
                  features="sms fax voice_message voice_ivr")
    tenant = tenant_on(small)
    _with_data(tenant)
    result = subs.change_package(tenant, big.id)
    assert result.applied and result.subscription.package_id == big.id
    tenant = Tenant.get_by_id(tenant.id)
    assert (tenant.max_contacts, tenant.channel_limit, tenant.features) == (
        5000, 30, "voice_message voice_ivr fax sms")
    for model in (Contact, Campaign, Call):
        assert model.select().where(model.tenant == tenant.id).count() == 1
    changed = events_of("subscription.package_changed")
    assert len(changed) == 1 and changed[0]["data"]["to_package_id"] == big.id
    assert LedgerEntry.select().where(LedgerEntry.kind == "subscription",
                                      LedgerEntry.reference.contains("Small -> Big")).exists()


def test_given_a_downgrade_below_usage_then_refused_with_each_reason(db):
    big = package("Big", max_users=50, max_contacts=5000)
    tiny = package("Tiny", max_users=0, max_contacts=0, max_campaigns=0)
    tenant = tenant_on(big)
    _with_data(tenant)
    User.create(tenant=tenant, username="u1", role="tenant", password_hash="x")
    with pytest.raises(DowngradeRefused) as exc:
        subs.change_package(tenant, tiny.id)
    assert set(exc.value.over) == {"max_users", "max_contacts", "max_campaigns"}
    assert "allows 0 contacts; the tenant has 1" in exc.value.over["max_contacts"]
    assert subs.current(tenant).package_id == big.id
    assert Tenant.get_by_id(tenant.id).max_contacts == 5000


def test_given_a_next_renewal_policy_then_the_downgrade_waits_and_applies_when_it_fits(db):
    big = package("Big", max_contacts=5000)
    small = package("Small", max_contacts=0, downgrade_policy="next_renewal")
    tenant = tenant_on(big)
    _with_data(tenant)
    with pytest.raises(DowngradeRefused):
        subs.change_package(tenant, small.id, when="now")
    result = subs.change_package(tenant, small.id)
    assert not result.applied and result.effective_at == subs.current(tenant).period_end
    assert subs.current(tenant).pending_package_id == small.id
    subs.renew(tenant, now=NOW + DAY)  # still over: kept, and why is logged
    assert subs.current(tenant).package_id == big.id
    assert TenantLog.select().where(TenantLog.action == "subscription.pending_kept").exists()
    Contact.delete().where(Contact.tenant == tenant.id).execute()
    subs.renew(tenant, now=NOW + 2 * DAY)
    sub = subs.current(tenant)
    assert (sub.package_id, sub.pending_package_id) == (small.id, None)
    assert Tenant.get_by_id(tenant.id).max_contacts == 0
    assert Campaign.select().where(Campaign.tenant == tenant.id).count() == 1


def test_given_when_next_renewal_for_a_fitting_change_then_it_waits(db):
    a, b = package("A"), package("B", max_users=9)
    tenant = tenant_on(a)
    result = subs.change_package(tenant, b.id, when="next_renewal")
    assert not result.applied and Tenant.get_by_id(tenant.id).max_users == 5
    subs.change_package(tenant, a.id)  # the current package again: the pending one is off
    assert subs.current(tenant).pending_package_id is None
    with pytest.raises(PackageError):
        subs.change_package(tenant, b.id, when="tomorrow")


# -- top-ups, included units and minutes ----------------------------------------------------

def test_given_a_topup_package_then_the_balance_is_credited_through_the_ledger(db):
    tenant = tenant_on(package())
    top = package("Top 50", billing_model="topup", topup_amount="50")
    entry = subs.topup(tenant, top.id, reference="INV-9")
    assert (entry.kind, entry.amount, entry.balance_after) == ("topup", Decimal("50"), Decimal("50"))
    assert "INV-9" in entry.reference and ledger.ledger_sum(tenant.id) == Decimal("50")
    with pytest.raises(PackageError):
        subs.topup(tenant, package("Not top").id)
    with pytest.raises(PackageError):
        subs.subscribe(Tenant.create(name="t2", slug="t2"), top.id)


def test_given_included_sms_then_messages_spend_them_before_money(db, plan):
    tenant = tenant_on(package(billing_model="usage", rate_plan=plan.id, included_messages=3))
    ledger.credit(tenant.id, "1")
    charges = [ledger.MessageCharge(f"message:{i}", Decimal("0.05") * units, units=units)
               for i, units in ((1, 1), (2, 1), (3, 2), (4, 1))]
    posted = ledger.charge_messages(tenant.id, "sms", charges)
    assert posted == {"message:1": (Decimal("0"), Decimal("0.05")),
                      "message:2": (Decimal("0"), Decimal("0.05")),
                      "message:3": (Decimal("-0.05"), Decimal("0.05")),  # one of two parts
                      "message:4": (Decimal("-0.05"), Decimal("0"))}
    rows = LedgerEntry.select().where(LedgerEntry.tenant == tenant.id, LedgerEntry.kind == "sms")
    assert rows.count() == 4  # one row per message
    assert ledger.balance(tenant.id) == Decimal("0.90") == ledger.ledger_sum(tenant.id)
    assert ledger.free_units(tenant.id, "sms") == 0
    assert ledger.charge_messages(tenant.id, "sms", charges[:1]) == {
        "message:1": (Decimal("0"), Decimal("0.05"))}  # a repeat changes nothing


def test_given_included_pages_then_a_single_fax_charge_spends_them_first(db, plan):
    tenant = tenant_on(package(billing_model="usage", rate_plan=plan.id, included_pages=2))
    entry = ledger.charge(tenant.id, Decimal("0.30"), kind="fax", message_ref="message:7",
                          units=3)
    assert (entry.amount, entry.free_money) == (Decimal("-0.10"), Decimal("0.20"))
    assert ledger.free_units(tenant.id, "fax") == 0
    assert ledger.available_for_messages(tenant.id, "fax", Decimal("0.10")) == Decimal("-0.10")


def test_given_included_minutes_then_a_call_spends_them_before_money(db, plan):
    tenant = tenant_on(package(billing_model="usage", rate_plan=plan.id, included_minutes=2))
    call = Call.create(tenant=tenant, number="+4930111", channel_id="c1", billsec=150)
    entry = ledger.charge(tenant.id, Decimal("0.30"), kind="call", call_id=call.id, seconds=150)
    assert entry.free_seconds == 120 and entry.amount == Decimal("-0.06")
    assert ledger.free_seconds(tenant.id) == 0


def test_given_calls_and_messages_then_usage_counts_them_in_the_period(db, plan, tmp_path):
    tenant = tenant_on(package(billing_model="usage", rate_plan=plan.id, included_messages=10))
    other = tenant_on(package("Other"), slug="other")
    for i, (billsec, when) in enumerate([(61, NOW), (30, NOW + DAY), (500, NOW - 40 * DAY)]):
        Call.create(tenant=tenant, number="+4930", channel_id=f"u{i}", billsec=billsec,
                    started_at=when)
    Call.create(tenant=other, number="+4930", channel_id="x", billsec=999, started_at=NOW)
    for channel, units, cost in [("sms", 2, "0.10"), ("sms", 1, "0.05"), ("fax", 3, "0.30"),
                                 ("email", 1, "0.01"), ("sms", 1, None)]:
        Message.create(tenant=tenant, channel=channel, address="x", units=units,
                       cost=Decimal(cost) if cost else None, submitted_at=NOW)
    ledger.charge_messages(tenant.id, "sms", [ledger.MessageCharge("message:1", Decimal("0.05"))])
    got = usage(tenant.id, NOW - DAY, NOW + 2 * DAY, sounds_dir=tmp_path)
    assert (got.calls, got.seconds, got.minutes) == (2, 91, 2)
    assert (got.sms_messages, got.sms_parts, got.fax_pages, got.emails) == (2, 3, 3, 1)
    assert got.included_left["sms"] == 9 and got.disk_bytes == 0
    assert got.cost.get("sms") == Decimal("0") and got.as_dict()["minutes"] == 2


# -- the command line ------------------------------------------------------------------------

@pytest.fixture
def db_url(settings):
    return settings.db_url


def test_given_an_unpaid_subscription_when_the_sweep_command_runs_then_it_is_suspended(
        db, db_url, monkeypatch, capsys):
    from voxcast import cli
    tenant = tenant_on(package(grace_days=3), now=NOW - 40 * DAY)
    paid = tenant_on(package("Paid"), slug="paid")
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert cli.main(["subscriptions", "sweep"]) == 0
    assert f"suspended (unpaid): {tenant.id};" in capsys.readouterr().out
    assert subs.current(tenant).suspended_reason == "unpaid"
    assert subs.current(paid).status == "active"
    assert cli.main(["subscriptions", "sweep"]) == 0
    assert "suspended (unpaid): none;" in capsys.readouterr().out


# -- included minutes reach the dialer, phones and the credit resume ---------------------------

def test_given_only_included_minutes_then_calls_are_placed_and_no_credit_campaigns_resume(db):
    from models.entities import CampaignContact, Rate as RateRow
    from voxcast.billing import plans
    from voxcast.billing.call_credit import CallBilling
    from voxcast.campaigns import lifecycle
    from voxcast.dialing.admission import Admission, DncCheck
    from voxcast.dialing.claims import Claims
    from voxcast.phones import routing
    from voxcast.billing.rating import Rate
    plans._cache.clear()  # plan ids repeat across these throwaway databases
    plan = RatePlan.create(name="per-second")
    RateRow.create(plan=plan, prefix="1555", per_minute=Decimal("0.60"),
                   connection_fee=Decimal("0"), initial_s=1, increment_s=1)
    tenant = tenant_on(package(billing_model="usage", rate_plan=plan.id, included_minutes=5))
    assert ledger.available(tenant.id) == 0 and ledger.available_seconds(tenant.id) == 300
    group = ContactGroup.create(tenant=tenant, name="g")
    campaigns = []
    for i, name in enumerate(("running", "paused")):
        campaign = Campaign.create(tenant=tenant, name=name, group=group, status="running")
        contact = Contact.create(tenant=tenant, group=group, phone=f"+1555000000{i}")
        CampaignContact.create(tenant=tenant, campaign=campaign, contact=contact,
                               phone=contact.phone, next_attempt_at=NOW - DAY)
        campaigns.append(campaign)
    billing = CallBilling()
    claims = Claims(Admission([DncCheck(), billing]))
    (claim,) = claims.claim_due(campaigns[0].id, 1, now=NOW)
    assert billing.grant_of(claim.call_id).max_seconds == 300  # the included minutes
    lifecycle.pause_tenant(tenant.id, lifecycle.Cause("no_credit"))
    assert campaigns[1].id in billing.resume_paused()
    rate = Rate("1555", Decimal("0.60"), Decimal("0"), 6, 6)
    assert routing.credit_refusal(rate, Decimal("0"), free_seconds=6) == ""
    assert routing.credit_refusal(rate, Decimal("0"), free_seconds=5) == routing.NO_CREDIT
