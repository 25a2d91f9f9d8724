"""Inbound fax on a DID with route "fax": the InboundCall (ari_app.flows.inbound) answers and
hands the channel to the dialplan's [voxcast-fax-receive], where ReceiveFAX writes the TIFF
into faxes_dir (T.38 when the far end offers it, audio otherwise). As for sending, the `h`
extension's UserEvent brings FAXSTATUS / FAXPAGES / REMOTESTATIONID back before the channel
is destroyed; at the close the TIFF becomes a PDF (tiff2pdf), the Message (direction inbound,
document = the PDF) is stored for the tenant and the PDF is e-mailed to the DID's fax_emails.
Inbound fax is not charged (no plan prices it)."""
from __future__ import annotations

import asyncio
import logging

from voxcast.messaging.fax import convert, documents, records
from ari_app.client import AriError
from ari_app.events import Event

log = logging.getLogger("voxcast.flows.fax")

RECEIVE_CONTEXT = "voxcast-fax-receive"
RESULT_EVENT = "VoxcastFax"


class FaxReceiver:
    """The InboundCall's runner while a fax is received; the channel is in dialplan, so the
    call's CDR is closed at ChannelDestroyed, not StasisEnd (`in_dialplan`)."""

    def __init__(self, handler, emails: str = ""):
        self.h = handler
        self.ctx = handler.ctx
        self.emails = records.split_emails(emails)
        self.result: records.FaxResult | None = None
        self.in_dialplan = False
        self.tiff, self.pdf = records.received_names(handler.tenant_id, handler.call_id)

    async def start(self) -> None:
        documents.fax_dir(self.ctx.settings)
        await self.ctx.ari.post(f"/channels/{self.h.channel_id}/variable",
                                variable="VOXCAST_FAX_FILE",
                                value=self.ctx.settings.fax_path(self.tiff))
        self.in_dialplan = True
        try:
            await self.ctx.ari.post(f"/channels/{self.h.channel_id}/continue",
                                    context=RECEIVE_CONTEXT, extension="s", priority=1)
        except AriError:
            self.in_dialplan = False
            raise

    async def channel_userevent(self, event: Event) -> None:
        if event.raw.get("eventname") == RESULT_EVENT:
            self.result = records.parse_result(event.raw.get("userevent") or {})
            log.info("fax received on %s from %s: %s", self.h.did, self.h.caller, self.result)

    async def cleanup(self) -> None:
        """At the call's close: store and mail in the background (the close does not wait)."""
        self.ctx.tasks.spawn(self._store(), f"fax-rx-{self.h.call_id}")

    async def _store(self) -> None:
        folder = self.ctx.settings.faxes_dir
        tiff, pdf = folder / self.tiff, folder / self.pdf
        pages = 0
        if tiff.exists() and tiff.stat().st_size > 0:
            try:
                pages = await asyncio.to_thread(convert.received_to_pdf, tiff, pdf)
            except Exception:
                log.exception("received fax %s: no PDF made", tiff.name)
        if not pages:
            pdf.unlink(missing_ok=True)
        tiff.unlink(missing_ok=True)  # the PDF is what is kept (and counted in the quota)
        message_id = await self.ctx.writer.run(
            records.store_received, self.h.tenant_id, self.h.call_id, self.h.did,
            self.h.caller, self.pdf if pages else "", pages, self.result)
        log.info("received fax message %s: %s pages", message_id, pages)
        if pages and self.emails:
            await asyncio.to_thread(records.mail_received, self.emails, pdf, self.h.caller,
                                    self.h.did, pages)

    # nothing else reaches a channel in dialplan
    async def playback_finished(self, event: Event) -> None:
        pass

    async def dtmf(self, event: Event) -> None:
        pass

    async def timeout(self, event: Event) -> None:
        pass

    async def recording_finished(self, event: Event) -> None:
        pass

    async def recording_failed(self, event: Event) -> None:
        pass

    async def transfer_answered(self, event: Event) -> None:
        pass

    async def transfer_ended(self, event: Event) -> None:
        pass
