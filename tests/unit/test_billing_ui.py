"""Billing pages: rate plans and rates (with CSV import), payments, the tenant's billing
pages, costs on CDRs and in reports, the low-balance e-mail over a real SMTP peer."""
from __future__ import annotations

import time

import io
from decimal import Decimal as D

import pytest

from models import Call, Campaign, RatePlan, Tenant, TenantLog
from models.entities import LedgerEntry, Rate
from voxcast.billing import ledger, notify, plans

from .conftest import ADMIN_PASSWORD
from .smtp_peer import free_port, smtp  # noqa: F401  (fixture)
from .test_admin_tenants import new_tenant_form


def text(resp) -> str:
    return resp.get_data(as_text=True)


def consistent(tenant_id):
    assert ledger.balance(tenant_id) == ledger.ledger_sum(tenant_id)
    return ledger.balance(tenant_id)


@pytest.fixture
def admin(auth):
    auth.login("admin", ADMIN_PASSWORD)
    return auth


@pytest.fixture
def plan(app):
    return plans.create_plan(plans.PlanInput(name="Retail", sms_price="0.05"))


def test_given_admin_when_plan_and_rates_edited_then_saved_audited_and_cache_renewed(admin):
    resp = admin.post("/admin/billing/plans/new", {"name": "Wholesale", "sms_price": "0.012",
                                                   "fax_page_price": "0.1", "email_price": "0",
                                                   "inbound_per_minute": "0",
                                                   "did_monthly_fee": "2"})
    assert resp.status_code == 302, text(resp)
    plan = RatePlan.get(RatePlan.name == "Wholesale")
    assert plan.sms_price == D("0.012")
    assert plans.rate_table_for_plan(plan.id).lookup("+4915112345678") is None
    resp = admin.post(f"/admin/billing/plans/{plan.id}/rates",
                      {"prefix": "+49 151", "description": "Germany mobile",
                       "per_minute": "0.089", "connection_fee": "0", "initial_s": "30",
                       "increment_s": "6"})
    assert resp.status_code == 302, text(resp)
    rate = Rate.get(Rate.plan == plan.id)
    assert rate.prefix == "49151"
    assert plans.rate_table_for_plan(plan.id).lookup("+4915112345678").per_minute == D("0.089")
    page = text(admin.client.get(f"/admin/billing/plans/{plan.id}/rates"))
    assert "Germany mobile" in page and "49151" in page
    resp = admin.post(f"/admin/billing/rates/{rate.id}/edit",
                      {"prefix": "49151", "description": "DE mobile", "per_minute": "0.05",
                       "connection_fee": "0.01", "initial_s": "60", "increment_s": "60"})
    assert resp.status_code == 302
    table = plans.rate_table_for_plan(plan.id)
    assert table.lookup("4915112345678").per_minute == D("0.05")
    assert table.lookup("4915112345678").connection_fee == D("0.01")
    assert admin.post(f"/admin/billing/rates/{rate.id}/delete").status_code == 302
    assert plans.rate_table_for_plan(plan.id).lookup("4915112345678") is None
    actions = {log.action for log in TenantLog.select()}
    assert {"rateplan.create", "rate.create", "rate.update", "rate.delete"} <= actions


@pytest.mark.parametrize("field,value", [("prefix", "49a"), ("prefix", ""),
                                         ("per_minute", "-1"), ("per_minute", "cheap"),
                                         ("initial_s", "0"), ("increment_s", "x"),
                                         ("connection_fee", "0.0000001")])
def test_given_bad_rate_when_added_then_400_and_nothing_saved(admin, plan, field, value):
    data = {"prefix": "44", "description": "UK", "per_minute": "0.02", "connection_fee": "0",
            "initial_s": "60", "increment_s": "60", field: value}
    resp = admin.post(f"/admin/billing/plans/{plan.id}/rates", data)
    assert resp.status_code == 400
    assert Rate.select().where(Rate.plan == plan.id).count() == 0


def test_given_duplicate_prefix_or_plan_name_then_refused(admin, plan):
    plans.save_rate(plan, plans.RateInput("44", per_minute="0.02"))
    resp = admin.post(f"/admin/billing/plans/{plan.id}/rates",
                      {"prefix": "44", "per_minute": "0.03", "connection_fee": "0",
                       "initial_s": "60", "increment_s": "60"})
    assert resp.status_code == 400 and "already has a rate" in text(resp)
    resp = admin.post("/admin/billing/plans/new", {"name": "Retail"})
    assert resp.status_code == 400 and "already exists" in text(resp)


def test_given_plan_in_use_or_default_when_deleted_then_refused(admin, plan, make_tenant):
    make_tenant("acme", rate_plan=plan)
    admin.post(f"/admin/billing/plans/{plan.id}/delete")
    assert RatePlan.get_or_none(RatePlan.id == plan.id) is not None
    default = RatePlan.get(RatePlan.is_default == True)  # noqa: E712
    admin.post(f"/admin/billing/plans/{default.id}/delete")
    assert RatePlan.get_or_none(RatePlan.id == default.id) is not None
    Tenant.update(rate_plan=None).where(Tenant.slug == "acme").execute()
    assert admin.post(f"/admin/billing/plans/{plan.id}/delete").status_code == 302
    assert RatePlan.get_or_none(RatePlan.id == plan.id) is None


CSV_OK = (b"prefix,description,per_minute,connection_fee,initial,increment\n"
          b"44,UK,0.02,0,60,60\n447,UK mobile,0.10,0.01,30,6\n1,USA,0.01,,,\n")
CSV_BAD = (b"prefix;description;per_minute;connection_fee;initial;increment\n"
           b"44;UK;0.02;0;60;60\n4x;Bad prefix;0.02;0;60;60\n33;France;abc;0;60;60\n"
           b"34;Spain;0.03;0;0;60\n44;UK again;0.02;0;60;60\n49;Germany;0.03;0;60;60\n")


def upload(admin, plan, data: bytes, **fields):
    form = {"mode": "merge", "file": (io.BytesIO(data), "rates.csv")}
    form.update(fields)
    return admin.post(f"/admin/billing/plans/{plan.id}/import", form,
                      content_type="multipart/form-data")


def test_given_good_csv_when_imported_then_rates_added(admin, plan):
    resp = upload(admin, plan, CSV_OK)
    assert resp.status_code == 302, text(resp)
    table = plans.rate_table_for_plan(plan.id)
    assert len(table) == 3
    uk_mobile = table.lookup("+447700900123")
    assert (uk_mobile.per_minute, uk_mobile.connection_fee, uk_mobile.initial_s,
            uk_mobile.increment_s) == (D("0.10"), D("0.01"), 30, 6)
    assert table.lookup("+12025550100").initial_s == 60
    assert TenantLog.get(TenantLog.action == "rate.import").detail.count("rates=3")
    exported = text(admin.client.get(f"/admin/billing/plans/{plan.id}/rates.csv"))
    assert exported.splitlines()[0] == "prefix,description,per_minute,connection_fee,initial,increment"
    assert len(exported.splitlines()) == 4


def test_given_csv_with_errors_when_imported_then_each_bad_row_reported_and_nothing_applied(
        admin, plan):
    plans.save_rate(plan, plans.RateInput("44", per_minute="0.5"))
    resp = upload(admin, plan, CSV_BAD)
    assert resp.status_code == 400
    page = text(resp)
    for line in ("3", "4", "5", "6"):
        assert f'<td class="num">{line}</td>' in page
    assert "first on line 2" in page and "nothing was" in page.lower()
    assert [r.per_minute for r in Rate.select().where(Rate.plan == plan.id)] == [D("0.5")]  # untouched
    # the admin explicitly skips the bad rows: the good ones apply
    resp = upload(admin, plan, CSV_BAD, skip_bad="y")
    assert resp.status_code == 302, text(resp)
    table = plans.rate_table_for_plan(plan.id)
    assert sorted(r.prefix for r in table.rates()) == ["44", "49"]
    assert table.lookup("44").per_minute == D("0.02")


def test_given_replace_mode_when_imported_then_old_rates_gone(admin, plan):
    plans.save_rate(plan, plans.RateInput("33", per_minute="0.5"))
    assert upload(admin, plan, CSV_OK, mode="replace").status_code == 302
    assert sorted(r.prefix for r in Rate.select().where(Rate.plan == plan.id)) == [
        "1", "44", "447"]


def test_given_empty_or_headerless_csv_then_handled(admin, plan):
    assert upload(admin, plan, b"").status_code == 400
    assert upload(admin, plan, b"prefix,description\n44,UK\n").status_code == 400
    assert upload(admin, plan, b"44,UK,0.02\n").status_code == 302  # no header: column order
    assert Rate.get(Rate.plan == plan.id).per_minute == D("0.02")


def test_given_payment_when_added_then_balance_ledger_and_history(admin, make_tenant):
    tenant, _ = make_tenant("acme")
    resp = admin.post("/admin/billing/payments/new", {"tenant": str(tenant.id),
                                                      "kind": "payment", "amount": "40.25",
                                                      "reference": "INV-77"})
    assert resp.status_code == 302, text(resp)
    admin.post("/admin/billing/payments/new", {"tenant": str(tenant.id), "kind": "topup",
                                               "amount": "10", "reference": "Top-up pack"})
    assert consistent(tenant.id) == D("50.25")
    entry = LedgerEntry.get(LedgerEntry.reference == "INV-77")
    assert entry.kind == "payment" and entry.entered_by.username == "admin"
    assert TenantLog.get(TenantLog.action == "billing.payment").tenant_id == tenant.id
    page = text(admin.client.get("/admin/billing/payments"))
    assert "INV-77" in page and "Top-up pack" in page
    assert "50.25" in text(admin.client.get("/admin/tenants"))


@pytest.mark.parametrize("amount,tenant", [("-5", None), ("0", None), ("abc", None),
                                           ("", None), ("10", 0), ("10", 99999)])
def test_given_bad_payment_then_clear_error_and_nothing_applied(admin, make_tenant, amount,
                                                                tenant):
    acme, _ = make_tenant("acme")
    resp = admin.post("/admin/billing/payments/new", {
        "tenant": str(acme.id if tenant is None else tenant), "kind": "payment",
        "amount": amount, "reference": "x"})
    assert resp.status_code == 400
    assert LedgerEntry.select().count() == 0 and consistent(acme.id) == D("0")


def test_given_new_tenant_with_opening_balance_then_it_is_a_ledger_entry(admin, smtp):
    assert admin.post("/admin/tenants/new", new_tenant_form()).status_code == 302
    tenant = Tenant.get(Tenant.slug == "acme")
    entry = LedgerEntry.get(LedgerEntry.tenant == tenant.id)
    assert entry.kind == "opening" and entry.amount == D("25.50")
    assert consistent(tenant.id) == D("25.50")


def test_given_tenant_then_billing_pages_show_own_history_plan_and_refuse_admin_pages(
        auth, plan, make_tenant):
    tenant, user = make_tenant("acme", rate_plan=plan)
    plans.save_rate(plan, plans.RateInput("44", "United Kingdom", per_minute="0.0234"))
    ledger.credit(tenant.id, "30", "payment", "INV-1")
    ledger.grant_free(tenant.id, seconds=600, reference="Welcome minutes")
    auth.login(user.username, f"pw-{user.username}")
    page = text(auth.client.get("/billing/"))
    assert "INV-1" in page and "30.00" in page and "Welcome minutes" in page
    assert "Payments" in page and "Rate Plans" in page
    page = text(auth.client.get("/billing/rates"))
    assert "Retail" in page and "United Kingdom" in page and "0.0234" in page and "0.05" in page
    assert "Add a rate" not in page
    assert "Billing" in text(auth.client.get("/dashboard/", follow_redirects=True))
    for url in ("/admin/billing/plans", f"/admin/billing/plans/{plan.id}/rates",
                "/admin/billing/payments", "/admin/billing/payments/new",
                f"/admin/billing/tenants/{tenant.id}/ledger", "/admin/billing/charges.csv"):
        assert auth.client.get(url).status_code == 403, url


def test_given_calls_with_costs_then_cdrs_report_and_csv_show_them(auth, make_tenant):
    tenant, user = make_tenant("acme")
    ledger.credit(tenant.id, "10", "payment")
    campaign = Campaign.create(tenant=tenant, name="Spring sale")
    costs = [D("0.1234"), D("0.5000"), D("0")]
    for i, cost in enumerate(costs):
        call = Call.create(tenant=tenant, campaign=campaign if i < 2 else None,
                           number=f"+4420712345{i:02d}", channel_id=f"c{i}",
                           billsec=60 if cost else 0, disposition="ANSWERED")
        res = ledger.reserve(tenant.id, "1", f"call {i}", call_id=call.id)
        ledger.settle(res, cost, call.id, seconds=60 if cost else 0)
    assert consistent(tenant.id) == D("9.3766")
    auth.login(user.username, f"pw-{user.username}")
    page = text(auth.client.get("/cdrs/"))
    assert "0.1234" in page and "0.5000" in page
    page = text(auth.client.get("/billing/report"))
    assert "0.6234" in page  # the period's total
    page = text(auth.client.get("/billing/report?by=campaign"))
    assert "Spring sale" in page and "0.6234" in page
    csv_text = text(auth.client.get("/billing/charges.csv"))
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("date (UTC),tenant,kind,cost")  # the viewer's zone
    assert len(lines) == 4 and "Spring sale" in csv_text and "0.1234" in csv_text


def test_given_threshold_when_balance_crosses_below_then_one_mail_until_topped_up(
        auth, make_tenant, smtp):
    tenant, user = make_tenant("acme", email="billing@acme.example")
    ledger.credit(tenant.id, "10", "payment")
    auth.login(user.username, f"pw-{user.username}")
    assert auth.post("/billing/settings", {"threshold": "abc"}).status_code == 400
    assert auth.post("/billing/settings", {"threshold": "-1"}).status_code == 400
    assert auth.post("/billing/settings", {"threshold": "5"}).status_code == 302
    assert Tenant.get_by_id(tenant.id).low_balance_threshold == D("5")
    ledger.charge(tenant.id, "4", "sms", message_ref="m1")  # 6 left: above
    assert smtp.messages == []
    ledger.charge(tenant.id, "2", "sms", message_ref="m2")  # 4 left: below -> one mail
    msg = smtp.wait(1)
    assert msg["To"] == "billing@acme.example" and "acme" in msg["Subject"]
    assert "4.00" in smtp.body(msg)
    ledger.charge(tenant.id, "1", "sms", message_ref="m3")  # still below: no second mail
    assert notify.check_low_balance(tenant.id) is False
    assert len(smtp.messages) == 1
    ledger.credit(tenant.id, "20", "payment")  # back above: armed again
    ledger.charge(tenant.id, "20", "sms", message_ref="m4")
    smtp.wait(2)
    assert len(smtp.messages) == 2


def test_given_unreachable_smtp_when_low_then_retried_next_time(make_tenant, app, monkeypatch):
    tenant, _ = make_tenant("acme", email="billing@acme.example", low_balance_threshold=5)
    monkeypatch.setenv("VOXCAST_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VOXCAST_SMTP_PORT", str(free_port()))  # nobody listens
    ledger.charge(tenant.id, "1", "sms", message_ref="m1")
    # the mail goes out from its own thread; its failure re-arms the warning
    deadline = time.monotonic() + 5
    while Tenant.get_by_id(tenant.id).low_balance_notified and time.monotonic() < deadline:
        time.sleep(0.02)
    assert Tenant.get_by_id(tenant.id).low_balance_notified is False


def test_given_admin_when_free_credit_given_then_ledger_page_shows_it(admin, make_tenant):
    tenant, _ = make_tenant("acme")
    resp = admin.post(f"/admin/billing/tenants/{tenant.id}/free-credit",
                      {"kind": "minutes", "amount": "100", "reference": "Promo"})
    assert resp.status_code == 302, text(resp)
    assert ledger.free_seconds(tenant.id) == 6000
    resp = admin.post(f"/admin/billing/tenants/{tenant.id}/free-credit",
                      {"kind": "money", "amount": "-3", "reference": "bad"})
    assert resp.status_code == 400
    page = text(admin.client.get(f"/admin/billing/tenants/{tenant.id}/ledger"))
    assert "Promo" in page and "100" in page
    assert consistent(tenant.id) == D("0")


def test_admin_report_and_charges_csv(admin, make_tenant):
    tenant, _ = make_tenant("acme")
    call = Call.create(tenant=tenant, number="+12025550100", channel_id="c1", billsec=30)
    ledger.charge(tenant.id, "0.25", "call", call_id=call.id)
    page = text(admin.client.get("/admin/billing/report"))
    assert "0.2500" in page
    csv_text = text(admin.client.get(f"/admin/billing/charges.csv?tenant={tenant.id}"))
    assert "acme" in csv_text and "0.2500" in csv_text
    bad = admin.client.get("/admin/billing/report?start=garbage&end=2020-13-40")
    assert bad.status_code == 200
