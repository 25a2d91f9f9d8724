"""Database work of the interactive flows (IVR runner, transfers, surveys, reminders). Like
voxcast.dialing.claims and voxcast.cdr.records, every function runs on the Stasis app's writer thread via
`ctx.writer.run`."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from models import Call, Campaign, CampaignContact, Contact
from models.entities import Extension, Ivr, IvrRecording, Queue, SurveyAnswer, utcnow
from models import DncNumber
from voxcast.audit import records as audit
from voxcast.ivr import services as flow_service
from voxcast.campaigns import flows_config
from voxcast.ivr import tree as ivr


@dataclass(frozen=True)
class FlowSpec:
    """What one call runs: the tree, the values its placeholders are filled from, and the
    rows its outcomes are written to."""
    tree: dict
    tenant_id: int
    values: dict = field(default_factory=dict)
    campaign_id: int | None = None
    contact_id: int | None = None
    entry_id: int | None = None
    call_id: int | None = None
    ivr_id: int | None = None
    phone: str = ""


class ForeignFlowError(LookupError):
    """A saved IVR is not the calling tenant's, or names audio the tenant does not own (saved
    before that was checked, or the owning campaign is gone): the call is not run with it."""


def _own_tree(tenant_id: int, ivr_row: Ivr) -> dict:
    """The IVR's tree, checked again at call time: it must be the tenant's and play only the
    tenant's sounds (one indexed query, only when the tree names sounds at all)."""
    if ivr_row.tenant_id != tenant_id:
        raise ForeignFlowError(f"IVR {ivr_row.id} is not tenant {tenant_id}'s")
    tree = json.loads(ivr_row.tree)
    foreign = flow_service.foreign_sounds(tenant_id, tree)
    if foreign:
        raise ForeignFlowError(f"IVR {ivr_row.id} plays sounds tenant {tenant_id} does not own: "
                                f"{', '.join(foreign)}")
    return tree


def contact_values(contact: Contact | None) -> dict[str, str]:
    if contact is None:
        return {}
    return {name: getattr(contact, name) or "" for name in ivr.CONTACT_FIELDS}


def outbound_flow(call_id: int) -> FlowSpec:
    """The tree of the campaign call `call_id` (its CDR), compiled from the campaign's settings
    with the contact's fields; the message sound stands in for flows_config.MESSAGE_SOUND."""
    call = Call.get_by_id(call_id)
    campaign = Campaign.get_by_id(call.campaign_id)
    contact = Contact.get_or_none(Contact.id == call.contact_id)
    if campaign.type == "voice_ivr":
        source = Ivr.get_or_none(Ivr.id == campaign.ivr_id)
        if source is None:
            raise LookupError(f"campaign {campaign.id} has no IVR")
        tree, ivr_id = _own_tree(campaign.tenant_id, source), source.id
    else:
        cfg = flows_config.validate(campaign.type, campaign.flow, campaign.repeat_count)
        tree = flows_config.compile_tree(campaign.type, cfg, campaign.message_file,
                                         max(1, campaign.repeat_count or 1))
        ivr_id = None
    return FlowSpec(tree, campaign.tenant_id, contact_values(contact), campaign.id,
                    call.contact_id, call.entry_id, call.id, ivr_id, call.number)


def ivr_tree(tenant_id: int, ivr_id: int | None) -> dict | None:
    """The tree of one of the tenant's IVRs, checked as at every call; None when it is gone.
    ForeignFlowError when it is not the tenant's or plays audio the tenant does not own."""
    row = Ivr.get_or_none(Ivr.id == ivr_id) if ivr_id is not None else None
    return _own_tree(tenant_id, row) if row else None


def set_result(entry_id: int | None, result: str) -> None:
    if entry_id:
        CampaignContact.update(result=result).where(CampaignContact.id == entry_id).execute()


def save_answer(spec: FlowSpec, question: str, digit: str) -> None:
    if spec.campaign_id:
        SurveyAnswer.create(tenant=spec.tenant_id, campaign=spec.campaign_id,
                            contact=spec.contact_id, call=spec.call_id, question=question,
                            digit=digit)


def opt_out(spec: FlowSpec) -> None:
    """The number we dialed (or that called) goes on the tenant's list exactly as the dialer
    compares it, even if a stricter normalisation would refuse it."""
    if not spec.phone:
        return
    added = (DncNumber.insert(tenant=spec.tenant_id, phone=spec.phone, source="opt-out")
             .on_conflict_ignore().execute())
    if added:
        audit.record("dnc.add", tenant_id=spec.tenant_id, object_type="dnc",
                     detail=f"{spec.phone} opted out by key press")


def set_contact_field(spec: FlowSpec, name: str, value: str) -> None:
    if spec.contact_id and name in ivr.SETTABLE_FIELDS:
        Contact.update({getattr(Contact, name): value[:255]}).where(
            Contact.id == spec.contact_id, Contact.tenant == spec.tenant_id).execute()


def agent_extensions(tenant_id: int, numbers: list[str]) -> list[str]:
    """The given extensions that (still) belong to the tenant, in the given order."""
    owned = {n for (n,) in Extension.select(Extension.number)
             .where(Extension.tenant == tenant_id, Extension.number.in_(numbers)).tuples()}
    return [n for n in numbers if n in owned]


def own_queue(tenant_id: int, queue_id) -> bool:
    """An IVR's transfer to a queue, checked at call time: the queue is (still) the tenant's."""
    return Queue.select().where(Queue.id == queue_id, Queue.tenant == tenant_id).exists()


def open_leg(spec: FlowSpec, number: str, channel_id: str) -> int:
    """The CDR of a transfer leg: tenant-tagged like the call it came from."""
    return Call.create(tenant=spec.tenant_id, campaign=spec.campaign_id, contact=spec.contact_id,
                       direction="transfer", number=number, channel_id=channel_id,
                       started_at=utcnow()).id


def save_recording(spec: FlowSpec, node: str, name: str) -> int:
    return IvrRecording.create(tenant=spec.tenant_id, call=spec.call_id,
                               campaign=spec.campaign_id, contact=spec.contact_id,
                               ivr=spec.ivr_id, node=node, name=name).id
