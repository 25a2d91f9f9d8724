"""Fax campaign call: dialled by the dialer like a voice campaign's (claims, channel limits,
CPS, the CDR); once answered the channel is handed to the dialplan's [voxcast-fax-send], where
SendFAX sends the campaign's document (T.38 when the far end switches to it, audio otherwise).

The outcome comes back as an ARI user event: the context's `h` extension runs
`UserEvent(VoxcastFax,...)` with FAXSTATUS, FAXPAGES, FAXERROR, REMOTESTATIONID and FAXMODE
whatever ended the call (SendFAX done, the far end hanging up, a failed negotiation). The app
is subscribed to every channel, and Asterisk emits a channel's events in order, so the result
is in this handler's queue before ChannelDestroyed: the CDR close and the attempt's Message
(voxcast.messaging.fax.records.finish_attempt) are then written in one writer job. Chosen over
re-entering Stasis after SendFAX (no StasisStart once the far end hung up, which is how most
faxes end) and over a FastAGI step in `h` (a second process writing the same contact's state
concurrently with the CDR close)."""
from __future__ import annotations

import dataclasses
import logging

from voxcast.messaging.fax import records
from ari_app.events import Event
from ari_app.outbound import OutboundCall

log = logging.getLogger("voxcast.flows.fax")

SEND_CONTEXT = "voxcast-fax-send"
RESULT_EVENT = "VoxcastFax"  # the dialplan's UserEvent name


class FaxSendCall(OutboundCall):
    def __init__(self, ctx, claim, plan, record: bool = False):
        # No answering-machine detection (it would take the fax tones for a machine) and no
        # recording of a fax call.
        super().__init__(ctx, claim, dataclasses.replace(plan, amd_enabled=False, record=False),
                         record=False)
        self.attempt: records.Attempt | None = None
        self.result: records.FaxResult | None = None
        self.no_credit = False

    async def place(self) -> bool:
        got = await self.ctx.writer.run(
            records.open_attempt, self.claim.tenant_id, self.claim.campaign_id,
            self.claim.entry_id, self.claim.call_id, self.claim.channel_id, self.claim.phone,
            self.plan.caller_id, getattr(self.plan, "fax_document_id", None))
        if got == records.NO_CREDIT:  # not placed; the contact is due again (close_job)
            log.info("campaign %s: no credit for the pages to %s; paused",
                     self.claim.campaign_id, self.claim.phone)
            self.no_credit = True
            await self.close(0, "not placed: no credit for the fax pages")
            return False
        if got == records.NO_DOCUMENT:
            log.error("campaign %s: fax document missing; %s not dialled",
                      self.claim.campaign_id, self.claim.phone)
            self.rang = True
            await self.close(0, "fax document missing")
            return False
        self.attempt = got
        return await super().place()

    def variables(self) -> dict:
        out = super().variables()
        if self.attempt is not None:
            out["VOXCAST_FAX_FILE"] = self.ctx.settings.fax_path(self.attempt.tiff)
        out["VOXCAST_FAX_ID"] = (self.plan.caller_id or "")[:20]  # our station id (T.30 TSI)
        return out

    async def answered(self, event: Event) -> None:
        await self.ctx.ari.post(f"/channels/{self.channel_id}/continue", context=SEND_CONTEXT,
                                extension="s", priority=1)

    async def channel_userevent(self, event: Event) -> None:
        if event.raw.get("eventname") == RESULT_EVENT:
            self.result = records.parse_result(event.raw.get("userevent") or {})
            log.info("fax to %s: %s", self.claim.phone, self.result)

    def close_job(self):
        finish_call = super().close_job()
        attempt = self.attempt
        result = self.result

        call_id, entry_id, no_credit = self.claim.call_id, self.claim.entry_id, self.no_credit

        def close_fax_call(*args):
            disposition = finish_call(*args)
            if no_credit:
                records.requeue_entry(entry_id)
            elif attempt is not None:
                records.finish_attempt(attempt.message_id, result)
            else:  # adopted after a restart, or never placed: found by its call
                records.finish_call_attempt(call_id, result)
            return disposition
        return close_fax_call
