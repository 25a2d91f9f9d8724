"""Press 1, IVR, survey and appointment-reminder campaign calls: once the contact answers,
the campaign's tree (compiled from its settings by voxcast.campaigns.flows_config, or its IVR) runs."""
from __future__ import annotations

from voxcast.ivr import flow_store
from ari_app.events import Event
from ari_app.outbound import OutboundCall
from ari_app.flows.ivr_runner import IvrRunner, RunsIvr


class InteractiveCall(RunsIvr, OutboundCall):
    async def answered(self, event: Event) -> None:
        spec = await self.ctx.writer.run(flow_store.outbound_flow, self.claim.call_id)
        self.runner = IvrRunner(self, spec)
        await self.runner.start()

    async def playback_finished(self, event: Event) -> None:
        if self.runner:
            await self.runner.playback_finished(event)

    async def cleanup(self) -> None:
        if self.runner:
            await self.runner.cleanup()
