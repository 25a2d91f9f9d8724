"""Inbound fax through the real Asterisk: a DID that answers with its voice greeting and has
fax detection on hears the calling tone of a fax sent to it (a fax campaign of the same
instance, the trunk looped back) and receives the fax instead; the pages are stored as PDF for
the tenant and not charged."""
from __future__ import annotations

from models import Call, Did
from models.entities import LedgerEntry, Message
from voxcast.messaging.fax import documents

from .conftest import wait_for
from .factories import unique_phones
from .fax_support import fax_looped_back, make_pdf
from .test_fax_send import PAGE_PRICE, _campaign, _tenant

LONG_GREETING = ("Thank you for calling the voxcast test line. Nobody is here to take your "
                 "call right now, and this greeting goes on for a good while, so that a fax "
                 "machine calling this number has time to be heard before it ends.")



def test_given_a_voice_did_with_fax_detection_when_a_fax_calls_then_the_fax_is_received(
        stasis_app, settings, workdir):
    tenant = _tenant()
    doc = documents.upload(tenant.id, "two pages", "two.pdf",
                           make_pdf(workdir / "two.pdf", 2).read_bytes(), settings)
    (phone,) = unique_phones(1)
    did = Did.create(number=phone.lstrip("+"), tenant=tenant, route="greeting",
                     greeting_text=LONG_GREETING, fax_detect=True)
    campaign = _campaign(tenant, settings, [phone], doc, retry_failed=0)
    received = fax_looped_back(campaign, settings)
    (sent,) = Message.select().where(Message.campaign == campaign)
    assert (sent.state, sent.units) == ("sent", 2), (sent.error, sent.body)
    assert (received.state, received.units, received.sender) == ("received", 2, did.number)
    assert (settings.faxes_dir / received.document).read_bytes().startswith(b"%PDF-")
    inbound = Call.get_by_id(received.call_id)
    assert inbound.direction == "inbound" and inbound.ended_at is not None
    # only the pages sent are charged; receiving is free
    charges = list(LedgerEntry.select().where(LedgerEntry.tenant == tenant.id,
                                              LedgerEntry.kind == "fax"))
    assert len(charges) == 1 and abs(charges[0].amount) == PAGE_PRICE * 2


def test_given_a_voice_did_with_fax_detection_when_a_person_calls_then_the_greeting_as_usual(
        stasis_app, settings, workdir):
    from voxcast.audio import sounds

    from .sipp import Sipp
    tenant = _tenant()
    (phone,) = unique_phones(1)
    number = phone.lstrip("+")
    Did.create(number=number, tenant=tenant, route="greeting", greeting_text="Hello there.",
               fax_detect=True)
    uac = Sipp.uac("uac_call_did.xml", workdir, f"127.0.0.1:{settings.sip_port}", number,
                   port=settings.sip_port + 41).start()
    assert uac.wait(30) == 0, uac.diagnostics()
    call = wait_for(lambda: Call.get_or_none(Call.did == number, Call.ended_at.is_null(False)),
                    10, message="inbound CDR closed")
    assert call.disposition == "ANSWERED" and call.tenant_id == tenant.id
    greeting_s = sounds.duration_seconds(
        settings.sounds_dir / f"{sounds.tts_name('Hello there.')}.wav")
    msgs = uac.messages()
    ok = next(m for m in msgs if m.method == "200" and not m.sent)
    bye = next(m for m in msgs if m.method == "BYE" and not m.sent)  # we hang up after it
    assert greeting_s - 0.3 <= (bye.at - ok.at).total_seconds() <= greeting_s + 2.0
    assert not Message.select().where(Message.tenant == tenant.id).exists()
