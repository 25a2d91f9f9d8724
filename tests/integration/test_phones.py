"""Registered phones (sipp) placing calls through the real Asterisk, the FastAGI server and the
Stasis app: another extension of the same tenant rings; another tenant's never does; PSTN
calls go out on the trunk with the tenant's DID as caller ID, rated and charged on its own CDR,
refused without credit or to a blocked prefix, cut when the credit runs out, and counted in
the tenant's channel limit; the tenant's IVR and queue numbers answer, another tenant's
queue number does not."""
from __future__ import annotations

from decimal import Decimal

from models import Call, Did, Extension, RatePlan
from models.entities import Rate
from voxcast.billing import ledger
from voxcast.billing.call_time import CUT_CAUSE

from .conftest import wait_for
from .phones import answers, dial, received_invites, register, tenant_with_phones
from .sipp import Sipp
from .test_billing_enforcement import PER_SECOND, _assert_books_balance


def _port(settings, n: int) -> int:
    return settings.sip_port + 60 + n


def _rated_tenant(settings, numbers, balance: str, did: str, **fields):
    plan = RatePlan.create(name=f"phones-plan-{did}")
    Rate.create(plan=plan, prefix="1555", **PER_SECOND)
    tenant, secrets = tenant_with_phones(settings, numbers, rate_plan=plan, **fields)
    Did.create(number=did, tenant=tenant)
    if Decimal(balance) > 0:
        ledger.credit(tenant.id, balance, reference="test credit")
    return tenant, secrets


def test_given_two_phones_of_a_tenant_when_one_dials_the_other_then_it_rings(
        stasis_app, agi_server, settings, workdir):
    _, pw = tenant_with_phones(settings, ["8101", "8102"])
    register(settings, workdir, "8101", pw["8101"], _port(settings, 1))
    register(settings, workdir, "8102", pw["8102"], _port(settings, 2))
    callee = Sipp.uas("uas_answer.xml", workdir, _port(settings, 2), calls=1, timeout=30).start()
    try:
        phone = dial(settings, workdir, "8101", pw["8101"], "8102", _port(settings, 1))
        assert phone.wait(40) == 0, phone.diagnostics() + agi_server.log_tail()
        assert callee.wait(20) == 0, callee.diagnostics()
    finally:
        callee.stop()
    assert answers(phone)[-1] == "200"
    invite = received_invites(callee)
    assert len(invite) == 1 and invite[0].startswith("INVITE sip:8102@")
    assert "<sip:8101@" in invite[0]  # the caller's extension as its caller ID


def test_given_another_tenants_extension_when_dialled_then_refused_and_it_never_rings(
        stasis_app, agi_server, settings, workdir):
    _, pw = tenant_with_phones(settings, ["8111"])
    _, other = tenant_with_phones(settings, ["8211"])
    register(settings, workdir, "8211", other["8211"], _port(settings, 3))
    victim = Sipp.uas("uas_answer.xml", workdir, _port(settings, 3), calls=1, timeout=15).start()
    try:
        phone = dial(settings, workdir, "8111", pw["8111"], "8211", _port(settings, 4))
        assert phone.wait(30) == 0, phone.diagnostics()
    finally:
        victim.stop()
    assert answers(phone)[-1] == "403", answers(phone)
    assert received_invites(victim) == []


def test_given_credit_when_phone_dials_pstn_then_out_with_the_did_rated_and_charged(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = _rated_tenant(settings, ["8121"], "5.00", "+15550120001")
    Extension.update(caller_id="+15550120001").where(Extension.number == "8121").execute()
    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=30).start()
    try:
        phone = dial(settings, workdir, "8121", pw["8121"], "15551230001", _port(settings, 5),
                     hold_ms=3000)
        assert phone.wait(40) == 0, phone.diagnostics() + stasis_app.log_tail()
        assert trunk.wait(20) == 0, trunk.diagnostics()
    finally:
        trunk.stop()
    assert answers(phone)[-1] == "200"
    invite = received_invites(trunk)
    assert len(invite) == 1 and invite[0].startswith("INVITE sip:+15551230001@")
    from_line = next(l for l in invite[0].splitlines() if l.lower().startswith("from:"))
    assert "15550120001" in from_line, from_line
    call = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.direction == "phone",
                                             Call.ended_at.is_null(False)), 15,
                    message="the phone call's CDR closed")
    assert call.number == "+15551230001" and call.did == "+15550120001"
    assert call.disposition == "ANSWERED" and 2 <= call.billsec <= 5
    wait_for(lambda: Call.get_by_id(call.id).cost is not None, 10, message="call settled")
    assert Decimal(Call.get_by_id(call.id).cost) == Decimal("0.01") * Call.get_by_id(call.id).billsec
    _assert_books_balance(tenant)


def test_given_no_credit_or_a_blocked_prefix_when_phone_dials_then_refused_and_not_dialled(
        stasis_app, agi_server, settings, workdir):
    _, pw = _rated_tenant(settings, ["8131"], "0", "+15550130001")
    blocked, pw2 = _rated_tenant(settings, ["8132"], "5.00", "+15550130002",
                                 blocked_prefixes="1555999 44")
    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=20).start()
    try:
        broke = dial(settings, workdir, "8131", pw["8131"], "15551230002", _port(settings, 6))
        assert broke.wait(30) == 0, broke.diagnostics()
        premium = dial(settings, workdir, "8132", pw2["8132"], "+15559990003", _port(settings, 7))
        assert premium.wait(30) == 0, premium.diagnostics()
        abroad = dial(settings, workdir, "8132", pw2["8132"], "+442071234567", _port(settings, 7))
        assert abroad.wait(30) == 0, abroad.diagnostics()
    finally:
        trunk.stop()
    for phone in (broke, premium, abroad):
        assert answers(phone)[-1] == "403", answers(phone)
    dialled = ("15551230002", "15559990003", "442071234567")
    assert [i for i in received_invites(trunk) if any(n in i.split("\n", 1)[0] for n in dialled)] == []
    assert not Call.select().where(Call.tenant == blocked.id).exists()


def test_given_credit_for_a_few_seconds_when_phone_talks_on_then_the_call_is_cut(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = _rated_tenant(settings, ["8141"], "0.04", "+15550140001")
    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=30).start()
    try:
        phone = dial(settings, workdir, "8141", pw["8141"], "15551230004", _port(settings, 8),
                     scenario="uac_phone_dial_until_bye.xml")
        assert phone.wait(30) == 0, phone.diagnostics() + stasis_app.log_tail()
        assert trunk.wait(20) == 0, trunk.diagnostics()
    finally:
        trunk.stop()
    assert "BYE" in [m.method for m in phone.messages() if not m.sent]  # we hung up the phone
    call = wait_for(lambda: Call.get_or_none(Call.tenant == tenant.id, Call.direction == "phone",
                                             Call.ended_at.is_null(False)), 15,
                    message="CDR closed")
    assert call.cause_txt == CUT_CAUSE and call.billsec <= 4
    tenant = _assert_books_balance(tenant)
    assert Decimal(tenant.balance) >= 0


def test_given_channel_limit_reached_when_a_second_phone_dials_out_then_refused(
        stasis_app, agi_server, settings, workdir):
    tenant, pw = _rated_tenant(settings, ["8151", "8152"], "5.00", "+15550150001",
                               channel_limit=1)
    trunk = Sipp.uas("uas_answer.xml", workdir, settings.trunk_port, calls=1, timeout=30).start()
    try:
        first = dial(settings, workdir, "8151", pw["8151"], "15551230005", _port(settings, 9),
                     hold_ms=6000)
        wait_for(lambda: "ACK" in [m.method for m in trunk.messages() if not m.sent], 15,
                 message="the first call answered on the trunk")
        second = dial(settings, workdir, "8152", pw["8152"], "15551230006", _port(settings, 10))
        assert second.wait(30) == 0, second.diagnostics()
        assert first.wait(30) == 0, first.diagnostics()
    finally:
        trunk.stop()
    assert answers(second)[-1] == "503", answers(second)
    assert "183" in answers(second)  # refused in Stasis: the prompt first, as early media
    assert answers(first)[-1] == "200"
    assert len(received_invites(trunk)) == 1


def test_given_ivr_and_queue_numbers_of_the_tenant_when_dialled_then_they_answer(
        stasis_app, agi_server, settings, workdir):
    import json

    from models.entities import Ivr, Queue, QueueCall
    tenant, pw = tenant_with_phones(settings, ["8161"])
    Ivr.create(tenant=tenant, name="menu", number="7761", tree=json.dumps(
        {"start": "hello", "nodes": {"hello": {"type": "say", "text": "Hello from the menu."}}}))
    queue = Queue.create(tenant=tenant, name="sales", number="7762", max_wait_seconds=3,
                         fallback="message", fallback_text="Nobody is here.",
                         announce_every_seconds=0)
    _, other = tenant_with_phones(settings, ["8261"])
    Queue.create(tenant=_tenant_of(other), name="b-sales", number="7763")
    for dialled in ("7761", "7762"):
        phone = dial(settings, workdir, "8161", pw["8161"], dialled, _port(settings, 11),
                     scenario="uac_phone_dial_until_bye.xml")
        assert phone.wait(40) == 0, phone.diagnostics() + stasis_app.log_tail()
        assert answers(phone)[-1] == "200"
        assert "BYE" in [m.method for m in phone.messages() if not m.sent]
    assert QueueCall.select().where(QueueCall.queue == queue.id).exists()
    # Another tenant's queue number is no number of this tenant's phones.
    phone = dial(settings, workdir, "8161", pw["8161"], "7763", _port(settings, 11))
    assert phone.wait(30) == 0, phone.diagnostics()
    assert answers(phone)[-1] == "403"


def _tenant_of(secrets_by_number: dict):
    return Extension.get(Extension.number == next(iter(secrets_by_number))).tenant


def test_given_the_far_end_busy_or_the_phone_giving_up_then_both_legs_end_and_nothing_is_owed(
        stasis_app, agi_server, settings, workdir):
    from models.entities import CreditReservation
    tenant, pw = _rated_tenant(settings, ["8171"], "5.00", "+15550170001")
    busy = Sipp.uas("uas_busy.xml", workdir, settings.trunk_port, calls=1, timeout=20).start()
    try:
        phone = dial(settings, workdir, "8171", pw["8171"], "15551230007", _port(settings, 12))
        assert phone.wait(30) == 0, phone.diagnostics()
    finally:
        busy.stop()
    assert answers(phone)[-1] == "486", answers(phone)  # the far end's busy, passed on

    ringing = Sipp.uas("uas_no_answer.xml", workdir, settings.trunk_port, calls=1,
                       timeout=20).start()
    try:
        phone = dial(settings, workdir, "8171", pw["8171"], "15551230008", _port(settings, 12),
                     hold_ms=1500, scenario="uac_phone_dial_cancel.xml")
        assert phone.wait(30) == 0, phone.diagnostics()
        assert ringing.wait(20) == 0, ringing.diagnostics()  # cancelled on the trunk too
    finally:
        ringing.stop()
    wait_for(lambda: Call.select().where(Call.tenant == tenant.id,
                                         Call.ended_at.is_null(False)).count() == 2, 15,
             message="both CDRs closed")
    calls = list(Call.select().where(Call.tenant == tenant.id))
    assert sorted(c.disposition for c in calls) == ["BUSY", "NO ANSWER"], \
        [(c.disposition, c.cause_txt) for c in calls]
    assert all(c.billsec == 0 for c in calls)
    wait_for(lambda: not CreditReservation.select().where(
        CreditReservation.tenant == tenant.id, CreditReservation.released_at.is_null()).exists(),
        10, message="reservations released")
    assert Decimal(_assert_books_balance(tenant).balance) == Decimal("5.00")
