"""The Message rows of fax: one per send attempt (channel fax, call = the attempt's CDR, units =
pages sent, state sent / failed with the error), one per received fax (direction inbound,
document = the stored PDF). Writer-thread jobs of the Stasis app, except the pure parts
(`outcome`, `parse_result`) and the e-mail (`mail_received`, in a thread).

Fax campaigns are claimed by the dialer like voice campaigns (claims, channel limits, CPS,
CDRs), so the attempt's Message is written here when the call is placed (state submitting)
and closed after its CDR: the CDR moves the contact on as for any call (busy, no answer,
failed: the campaign's retries); an answered call whose fax failed is then taken as FAILED
(retry_failed). Pages sent are charged through voxcast.messaging.dispatch.Dispatcher.accepted
when it is there (billing in one place), else ledger.charge with the same reference."""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from peewee import fn

from models import Call, CampaignContact, Did
from models.entities import FaxDocument, Message, utcnow
from voxcast import mailer
from voxcast.billing import ledger, plans
from voxcast.dialing.campaign_plans import retry_policy_of
from voxcast.dialing.retry import decide

log = logging.getLogger("voxcast.fax")


@dataclass(frozen=True)
class FaxResult:
    """What res_fax left in the channel's variables (the dialplan's UserEvent)."""
    status: str = ""  # FAXSTATUS: SUCCESS | FAILED
    pages: int = 0  # FAXPAGES: pages sent or received
    error: str = ""  # FAXERROR
    station: str = ""  # REMOTESTATIONID
    mode: str = ""  # FAXMODE: audio | T38
    bitrate: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS" and self.pages > 0


def parse_result(fields: dict) -> FaxResult:
    """The UserEvent's fields (ARI's `userevent` object) as a FaxResult."""
    def get(name: str) -> str:
        return str(fields.get(name, "") or "").strip()
    pages = get("pages")
    return FaxResult(get("status").upper(), int(pages) if pages.isdigit() else 0,
                     get("error"), get("station"), get("mode"), get("bitrate"))


@dataclass(frozen=True)
class Attempt:
    message_id: int
    tiff: str  # file name in faxes_dir
    pages: int  # the document's


NO_DOCUMENT = "no_document"  # open_attempt's refusals (the call is not placed)
NO_CREDIT = "no_credit"


def affordable_sends(tenant_id: int, document_id: int | None) -> int:
    """How many more sends of the document the tenant's credit covers now (the dialer claims
    no more than that; 1 << 30 when pages are free)."""
    price = plans.unit_price(tenant_id, "fax")
    doc = FaxDocument.get_or_none(FaxDocument.id == document_id) if document_id else None
    if price <= 0 or doc is None or doc.pages <= 0:
        return 1 << 30
    spare = ledger.available_for_messages(tenant_id, "fax", price, _owed_pages(tenant_id))
    return max(0, int(spare // (price * doc.pages)))


def requeue_entry(entry_id: int) -> None:
    """After the CDR of a call not placed for lack of credit was closed: the contact is due
    again (when the campaign resumes) and the attempt is not counted."""
    (CampaignContact.update(state="pending", attempts=CampaignContact.attempts - 1,
                            next_attempt_at=utcnow(), last_disposition="")
     .where(CampaignContact.id == entry_id, CampaignContact.attempts > 0).execute())


def _owed_pages(tenant_id: int) -> int:
    """Pages of the tenant's fax attempts handed on but not charged yet."""
    return int(Message.select(fn.COALESCE(fn.SUM(Message.units), 0))
               .where(Message.tenant == tenant_id, Message.channel == "fax",
                      Message.direction == "outbound",
                      Message.state.in_(("queued", "submitting")),
                      Message.cost.is_null()).scalar() or 0)


def pages_affordable(tenant_id: int, document_id: int | None, pages: int | None = None) -> bool:
    """Whether the tenant's available credit, less the pages of its fax attempts not yet
    charged, covers one more send of the document at the page price (also what resumes a
    fax campaign paused for no_credit: voxcast.billing.call_credit)."""
    price = plans.unit_price(tenant_id, "fax")
    if price <= 0:
        return True
    if pages is None:
        doc = FaxDocument.get_or_none(FaxDocument.id == document_id) if document_id else None
        pages = doc.pages if doc is not None else 0
    return ledger.available_for_messages(tenant_id, "fax", price, _owed_pages(tenant_id)) \
        >= price * pages


def open_attempt(tenant_id: int, campaign_id: int, entry_id: int, call_id: int,
                 channel_id: str, phone: str, caller_id: str,
                 document_id: int | None) -> Attempt | str:
    """The attempt's Message (state submitting: handed to Asterisk, units = the document's
    pages until the pages sent are known), or why the call must not be placed: NO_DOCUMENT
    (the document is gone: the call is closed as failed) or NO_CREDIT (the tenant's credit,
    less the pages of its fax attempts not yet charged, does not cover this one: the claim is
    not placed, its CDR says why, the contact is due again without the attempt counted
    (requeue_entry) and the campaign is paused until a top-up, as for calls)."""
    doc = (FaxDocument.get_or_none(FaxDocument.id == document_id,
                                   FaxDocument.tenant == tenant_id)
           if document_id else None)
    if doc is None or not doc.tiff or doc.pages <= 0:
        return NO_DOCUMENT
    if not pages_affordable(tenant_id, doc.id, doc.pages):
        from voxcast.campaigns import lifecycle
        lifecycle.pause_for(campaign_id, lifecycle.Cause("no_credit"))
        return NO_CREDIT
    entry = CampaignContact.get_or_none(CampaignContact.id == entry_id)
    now = utcnow()
    msg = Message.create(tenant=tenant_id, channel="fax", direction="outbound",
                         campaign=campaign_id, contact=entry.contact_id if entry else None,
                         entry=entry_id, address=phone, sender=caller_id or "",
                         units=doc.pages, state="submitting", call=call_id,
                         external_id=channel_id, attempts=entry.attempts if entry else 1,
                         created_at=now, submitted_at=now)
    return Attempt(msg.id, doc.tiff, doc.pages)


def outcome(result: FaxResult | None, disposition: str, cause_txt: str) -> tuple[str, str]:
    """(message state, error) of an attempt from its fax result and the CDR's disposition."""
    if result is not None and result.ok:
        return "sent", ""
    if disposition != "ANSWERED":
        return "failed", f"{disposition}: {cause_txt}".strip(": ")[:250]
    if result is None:
        return "failed", "answered, but no fax result (hung up before the fax started?)"
    error = result.error or result.status or "fax failed"
    if result.pages == 0:  # a person, a voice mailbox, a modem that never negotiated
        return "failed", f"no fax machine answered ({error})"[:250]
    return "failed", f"fax failed after {result.pages} page(s) ({error})"[:250]


def _charge(msg: Message, units: int) -> Decimal:
    """Pages at the tenant's per-page price, once per message (idempotent reference)."""
    try:
        from voxcast.messaging.dispatch import Dispatcher  # the lead's: billing in one place
    except ImportError:
        Dispatcher = None
    if Dispatcher is not None:
        dispatcher = Dispatcher("fax", lambda campaign, fields: None)
        return dispatcher.accepted(msg.id, msg.external_id, units=units)
    price = plans.unit_price(msg.tenant_id, "fax")
    cost = (price * units).quantize(Decimal("0.0001"))
    if cost > 0:
        ledger.charge(msg.tenant_id, cost, kind="fax", message_ref=f"message:{msg.id}",
                      reference=f"fax to {msg.address}, {units} page(s)")
    Message.update(cost=cost).where(Message.id == msg.id).execute()
    return cost


def finish_attempt(message_id: int, result: FaxResult | None) -> str:
    """After the attempt's CDR was closed (queued behind it on the writer): the Message's
    final state, units and charge; an answered call whose fax failed is retried as FAILED.
    Returns the state."""
    msg = Message.get_or_none(Message.id == message_id)
    if msg is None or msg.state in ("sent", "failed"):
        return msg.state if msg else ""
    call = Call.get_or_none(Call.id == msg.call_id) if msg.call_id else None
    disposition = call.disposition if call is not None else "FAILED"
    state, error = outcome(result, disposition or "FAILED", call.cause_txt if call else "")
    units = result.pages if result is not None else 0
    now = utcnow()
    if units > 0:
        _charge(msg, units)
    (Message.update(state=state, error=error, units=units, done_at=now,
                    body=_summary(result))
     .where(Message.id == msg.id).execute())
    entry = CampaignContact.get_or_none(CampaignContact.id == msg.entry_id) if msg.entry_id else None
    if entry is not None:
        if state == "failed" and disposition == "ANSWERED":  # the CDR took it as done
            policy = retry_policy_of(entry.campaign)
            decided = decide("FAILED", entry.attempts, policy, now)
            entry.state = decided.state
            entry.next_attempt_at = decided.next_attempt_at or entry.next_attempt_at
        if entry.state in ("done", "failed"):
            entry.result = state
        entry.last_disposition = (error or disposition or "")[:250]
        entry.save()
        if entry.state != "dialing":
            from voxcast.campaigns import lifecycle
            lifecycle.complete_if_finished(entry.campaign_id)
    log.info("fax %s to %s: %s %s (%s pages)", message_id, msg.address, state, error, units)
    return state


def finish_call_attempt(call_id: int, result: FaxResult | None) -> str:
    """finish_attempt for the attempt of a call (an adopted call: its handler was made after a
    restart and never had the Message id)."""
    msg = (Message.select(Message.id)
           .where(Message.call == call_id, Message.channel == "fax",
                  Message.direction == "outbound").order_by(Message.id.desc()).first())
    return finish_attempt(msg.id, result) if msg is not None else ""


def close_orphans() -> int:
    """Attempts whose call ended while the Stasis app was not running (its CDR closed as lost
    at the restart): failed, and retried per the campaign's settings. Returns how many."""
    rows = list(Message.select(Message.id).join(Call, on=(Message.call == Call.id))
                .where(Message.channel == "fax", Message.direction == "outbound",
                       Message.state == "submitting", Call.ended_at.is_null(False)))
    for row in rows:
        finish_attempt(row.id, None)
    return len(rows)


def _summary(result: FaxResult | None) -> str:
    if result is None:
        return ""
    return " ".join(f"{k}={v}" for k, v in (("status", result.status), ("mode", result.mode),
                                            ("station", result.station),
                                            ("bitrate", result.bitrate)) if v)


# -- inbound -----------------------------------------------------------------------------------

def received_names(tenant_id: int, call_id: int) -> tuple[str, str]:
    """(TIFF, PDF) file names of a received fax in faxes_dir."""
    return f"t{tenant_id}-rx-{call_id}.tif", f"t{tenant_id}-rx-{call_id}.pdf"


def store_received(tenant_id: int, call_id: int | None, did: str, caller: str, pdf_name: str,
                   pages: int, result: FaxResult | None) -> int:
    """The received fax's Message (inbound, never charged: no plan prices inbound fax)."""
    ok = result is not None and result.ok and pages > 0 and bool(pdf_name)
    error = "" if ok else ((result.error or result.status) if result else "no fax received")
    now = utcnow()
    msg = Message.create(tenant=tenant_id, channel="fax", direction="inbound",
                         address=caller or "", sender=did, units=pages if ok else 0,
                         state="received" if ok else "failed", error=(error or "")[:250],
                         call=call_id, document=pdf_name if ok else "",
                         external_id=(result.station if result else "")[:255],
                         body=_summary(result), cost=Decimal("0"), created_at=now,
                         submitted_at=now, done_at=now)
    return msg.id


def fax_emails(did_number: str) -> list[str]:
    did = Did.get_or_none(Did.number == did_number)
    return split_emails(did.fax_emails if did else "")


def split_emails(text: str) -> list[str]:
    return [a for a in re.split(r"[\s,;]+", text or "") if "@" in a]


def mail_received(to: list[str], pdf: Path, caller: str, did: str, pages: int,
                  at: dt.datetime | None = None) -> int:
    """E-mail the received fax's PDF to each address; returns how many accepted it."""
    at = at or utcnow()
    subject = f"Fax from {caller or 'unknown'} to {did} ({pages} page{'s' if pages != 1 else ''})"
    body = (f"A fax was received on {did} from {caller or 'an unknown number'} at "
            f"{at:%Y-%m-%d %H:%M} UTC: {pages} page(s). The fax is attached as PDF.\n")
    attachment = mailer.Attachment(f"fax-{pdf.stem}.pdf", pdf.read_bytes(), "application/pdf")
    sent = 0
    settings = mailer.MailSettings.from_env()
    for address in to:
        try:
            mailer.send(settings, address, subject, body, (attachment,))
            sent += 1
        except mailer.MailError as exc:
            log.error("received fax %s not mailed to %s: %s", pdf.name, address, exc)
    return sent
