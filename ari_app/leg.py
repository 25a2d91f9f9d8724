"""One call leg's life: a channel with a CDR, maybe a channel slot and a credit meter. Every
leg (outbound campaign call, inbound DID call, transfer leg, a call adopted after a restart)
closes the same way, here: the flow's own cleanup, the slot freed, the meter stopped (a cut
says so on the CDR), then the CDR closed, which moves the campaign contact on and settles the
credit (voxcast.cdr.records.Cdrs.finish_call)."""
from __future__ import annotations

from models.entities import utcnow
from voxcast.billing.call_time import CUT_CAUSE

from ari_app.calls import CallHandler
from ari_app.events import Event

RANG_STATES = ("Ringing", "Ring", "Up")  # channel states that show the far end answered our INVITE


class CallLeg(CallHandler):
    """Subclasses set `call_id` once the CDR exists and may override `cleanup` (before the
    close), `describe` (the cause text), `close_args` (what the CDR close needs besides the
    cause) and `closed` (after it)."""

    # Wait for the CDR close before `closed()` (a transfer leg tells its caller after it);
    # others queue it, as nothing needs the result and the writer runs jobs in order.
    await_close = False
    # Set when the app itself ends the call for a reason the CDR must say (ari_app.suspension:
    # "Tenant suspended"); it wins over the channel's own cause text.
    cut_reason = ""

    def __init__(self, ctx, channel_id: str, tenant_id: int | None = None,
                 call_id: int | None = None, campaign_id: int | None = None, credit=None):
        super().__init__(ctx, channel_id)
        self.tenant_id = tenant_id
        self.call_id = call_id
        self.campaign_id = campaign_id
        self.credit = credit  # a CallCredit when the leg is rated, else None
        self.answered_at = None
        self.rang = False
        self._slot = False

    def take_slot(self) -> None:
        """Count the leg in its tenant's (and campaign's) channel limits until it closes."""
        if not self._slot:
            self.ctx.channels.add(self.tenant_id, self.campaign_id)
            self._slot = True

    async def channel_destroyed(self, event: Event) -> None:
        # The last snapshot tells whether the far end rang: no ChannelStateChange events
        # needed (two frames per call fewer for Asterisk and us).
        if event.channel_state in RANG_STATES:
            self.rang = True
        await self.close(event.cause, event.cause_txt)

    async def close(self, cause: int, cause_txt: str) -> None:
        if self.done:
            return
        await self.cleanup()
        self.finish()
        if self._slot:
            self._slot = False
            self.ctx.channels.remove(self.tenant_id, self.campaign_id)
        if self.credit:  # settled with the CDR, in Cdrs.finish_call
            self.credit.stop()
            if self.credit.cut:
                cause_txt = CUT_CAUSE
        cause_txt = self.describe(cause_txt)
        if self.cut_reason:
            cause_txt = self.cut_reason
        if self.call_id is not None:
            args = (self.call_id, self.answered_at, utcnow(), cause, cause_txt, *self.close_args())
            job = self.close_job()
            if self.await_close:
                await self.ctx.writer.run(job, *args)
            else:
                self.ctx.writer.post(job, *args)
        await self.closed()

    async def cleanup(self) -> None:
        """The flow's part of the end (hang up the other side of a bridge...)."""

    def describe(self, cause_txt: str) -> str:
        return cause_txt

    def close_job(self):
        """The writer job that closes the CDR (finish_call's arguments); a flow with its own
        record to close in the same job (a fax attempt's Message) wraps it."""
        return self.ctx.cdrs.finish_call

    def close_args(self) -> tuple:
        """finish_call's arguments after the cause text: (rang, machine, policy)."""
        return (self.rang,)

    async def closed(self) -> None:
        """After the CDR close was queued (or done, with `await_close`)."""


class DialplanLeg(CallLeg):
    """A call that entered Stasis from dialplan (a DID, a phone's queue or IVR number). Its
    events stop at StasisEnd, so its CDR is closed there, with the cause its hang-up request
    gave (Normal Clearing when none did)."""

    def __init__(self, ctx, channel_id: str, **kw):
        super().__init__(ctx, channel_id, **kw)
        self.rang = True  # the caller rang us
        self.hangup_cause, self.hangup_cause_txt = 16, "Normal Clearing"

    async def channel_hangup_request(self, event: Event) -> None:
        if event.cause:
            self.hangup_cause, self.hangup_cause_txt = event.cause, event.cause_txt

    async def stasis_end(self, event: Event) -> None:
        await self.close(self.hangup_cause, self.hangup_cause_txt)

    async def channel_destroyed(self, event: Event) -> None:
        await self.close(event.cause, event.cause_txt)
