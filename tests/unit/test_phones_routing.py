"""Where a phone's call goes (voxcast.phones.routing): the pure rule, and its database part on
a real SQLite file (tenants, extensions, queues, IVRs, plans and credit)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from models import Did, Extension, RatePlan, Tenant
from models.entities import Rate as RateRow
from models.entities import Ivr, Queue
from voxcast.billing import ledger
from voxcast.billing.rating import Rate
from voxcast.phones import routing
from voxcast.phones.routing import PhoneFacts, Route, decide

T = 7


def facts(**kw) -> PhoneFacts:
    base = dict(extension="7101", tenant_id=T, tenant_active=True, country="US",
                blocked_prefixes=(), caller_id="+15550001111")
    base.update(kw)
    return PhoneFacts(**base)


def test_given_unknown_or_inactive_phone_when_it_dials_then_nothing_is_reachable():
    for f in (PhoneFacts("7101", None), facts(tenant_active=False)):
        for dialled in ("7102", "+15551230001", "*50"):
            assert decide(f, dialled).kind == "refuse"
            assert decide(f, dialled).reason == routing.NOT_ALLOWED


def test_given_own_extension_then_internal_and_never_itself():
    assert decide(facts(own_extension=True), "7102") == Route("internal", "7102", tenant_id=T)
    assert decide(facts(own_extension=True), "7101").reason == routing.INVALID


def test_given_another_tenants_extension_then_it_is_read_as_a_pstn_number_not_a_phone():
    # Not the caller's extension: 7201 is no possible PSTN number, so it is refused.
    route = decide(facts(own_extension=False), "7201")
    assert route.kind == "refuse" and route.reason == routing.INVALID


def test_given_queue_or_ivr_number_of_the_tenant_then_its_route():
    assert decide(facts(queue_id=4), "600") == Route("queue", "4", tenant_id=T)
    assert decide(facts(ivr_id=9), "700") == Route("ivr", "9", tenant_id=T)


def test_given_feature_codes_then_features_and_other_star_codes_invalid():
    assert decide(facts(), "*50") == Route("feature", "login", tenant_id=T)
    assert decide(facts(), "*53").target == "ready"
    assert decide(facts(), "*99").reason == routing.INVALID
    assert decide(facts(), "12a4").reason == routing.INVALID


@pytest.mark.parametrize("dialled,country,e164", [
    ("+15551230001", "US", "+15551230001"),
    ("15551230001", "US", "+15551230001"),
    ("5551230001", "US", "+15551230001"),
    ("01144201234567", "US", "+44201234567"),
    ("030123456", "DE", "+4930123456"),
    ("004930123456", "DE", "+4930123456"),
])
def test_given_pstn_number_then_e164_with_the_tenants_caller_id(dialled, country, e164):
    route = decide(facts(country=country), dialled)
    assert route == Route("pstn", e164, tenant_id=T, caller_id="+15550001111")


def test_given_blocked_prefixes_then_matching_numbers_are_refused():
    blocked = routing.parse_prefixes("1900, +44 ; 011")
    assert blocked == ("1900", "44", "011")
    f = facts(blocked_prefixes=blocked)
    assert decide(f, "19005550100").reason == routing.NOT_ALLOWED  # premium
    assert decide(f, "+442012345678").reason == routing.NOT_ALLOWED  # by E.164 country code
    assert decide(f, "01133123456789").reason == routing.NOT_ALLOWED  # as dialled
    assert decide(f, "+15551230001").kind == "pstn"


def test_check_prefixes_keeps_digits_and_refuses_the_rest():
    assert routing.check_prefixes(" 1900,+44\n011 44") == "1900 44 011"
    with pytest.raises(ValueError):
        routing.check_prefixes("1900 premium")


def test_credit_refusal():
    rate = Rate("1", Decimal("0.60"), initial_s=6, increment_s=6)
    assert routing.credit_refusal("unrated", Decimal("0")) == ""
    assert routing.credit_refusal(None, Decimal("100")) == routing.NOT_ALLOWED
    assert routing.credit_refusal(rate, Decimal("0.06")) == ""
    assert routing.credit_refusal(rate, Decimal("0.05")) == routing.NO_CREDIT
    assert routing.credit_refusal(Rate("1", Decimal("0")), Decimal("0")) == ""


# -- the database part --------------------------------------------------------------------

def _tenant(name: str, **kw) -> Tenant:
    return Tenant.create(name=name, slug=name, **kw)


def test_authorize_reads_only_the_callers_tenant(db):
    a, b = _tenant("ta"), _tenant("tb")
    Extension.create(number="7101", secret="s1", tenant=a, caller_id="+15550002222")
    Extension.create(number="7102", secret="s2", tenant=a)
    Extension.create(number="7201", secret="s3", tenant=b)
    Extension.create(number="7301", secret="s4")  # in the pool: no tenant
    Did.create(number="+15550002222", tenant=a)
    Did.create(number="+15550001111", tenant=a)
    q = Queue.create(tenant=a, name="sales", number="600")
    Queue.create(tenant=b, name="b-sales", number="601")
    ivr = Ivr.create(tenant=a, name="menu", number="700")

    assert routing.authorize("7101", "7102").kind == "internal"
    assert routing.authorize("7101", "7201").kind == "refuse"  # tenant b's phone
    assert routing.authorize("7201", "7101").kind == "refuse"
    assert routing.authorize("7101", "600") == Route("queue", str(q.id), tenant_id=a.id)
    assert routing.authorize("7101", "601").kind == "refuse"  # b's queue number
    assert routing.authorize("7101", "700") == Route("ivr", str(ivr.id), tenant_id=a.id)
    assert routing.authorize("7301", "7102").reason == routing.NOT_ALLOWED  # unallocated
    assert routing.authorize("9999", "7102").reason == routing.NOT_ALLOWED  # unknown
    # No plan anywhere: not rated, placed with the extension's own DID as caller ID.
    assert routing.authorize("7101", "+15551230001") == Route(
        "pstn", "+15551230001", tenant_id=a.id, caller_id="+15550002222")
    # A caller ID that is no longer the tenant's falls back to its first DID.
    Extension.update(caller_id="+15559999999").where(Extension.number == "7101").execute()
    assert routing.authorize("7101", "+15551230001").caller_id == "+15550001111"

    a.status = "suspended"
    a.save()
    assert routing.authorize("7101", "7102").reason == routing.NOT_ALLOWED


def test_authorize_checks_rate_and_credit(db):
    plan = RatePlan.create(name="p")
    RateRow.create(plan=plan, prefix="1555", per_minute=Decimal("0.60"), initial_s=6,
                   increment_s=6)
    t = _tenant("tc", rate_plan=plan, blocked_prefixes="1900")
    Extension.create(number="7401", secret="s", tenant=t)
    assert routing.authorize("7401", "+15551230001").reason == routing.NO_CREDIT
    ledger.credit(t.id, Decimal("1.00"))
    assert routing.authorize("7401", "+15551230001").kind == "pstn"
    assert routing.authorize("7401", "+442012345678").reason == routing.NOT_ALLOWED  # no rate
    assert routing.authorize("7401", "+19005550100").reason == routing.NOT_ALLOWED  # blocked
    route, limit = routing.prepare_pstn("7401", "+15551230001")
    assert route.kind == "pstn" and limit == t.channel_limit


def test_a_german_tenants_routes_and_refusals_carry_its_language(db):
    t = _tenant("tde", language="de", country="DE", blocked_prefixes="0900")
    Extension.create(number="7701", secret="s", tenant=t)
    Extension.create(number="7702", secret="s2", tenant=t)
    assert routing.authorize("7701", "7702").language == "de"
    refused = routing.authorize("7701", "09001234567")
    assert refused.kind == "refuse" and refused.language == "de"
    assert decide(facts(language="de"), "*50").language == "de"
