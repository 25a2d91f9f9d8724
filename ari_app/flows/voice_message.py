"""Voice Message campaign call: play the message when the contact answers, then hang up."""
from __future__ import annotations

from ..events import Event
from ..outbound import OutboundCall


class VoiceMessageCall(OutboundCall):
    @property
    def playback_id(self) -> str:
        return f"{self.channel_id}-msg"

    async def answered(self, event: Event) -> None:
        sound = self.ctx.settings.sound_uri(self.plan.message_file)
        await self.ctx.ari.play(self.channel_id, sound, playback_id=self.playback_id)

    async def playback_finished(self, event: Event) -> None:
        if event.playback_id == self.playback_id:
            await self.ctx.ari.hangup(self.channel_id)
