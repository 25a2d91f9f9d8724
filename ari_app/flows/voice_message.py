"""Voice Message campaign call: play the message when the contact answers (repeat_count times),
then hang up."""
from __future__ import annotations

from ari_app.events import Event
from ari_app.outbound import OutboundCall


class VoiceMessageCall(OutboundCall):
    plays_left = 0

    @property
    def playback_id(self) -> str:
        return f"{self.channel_id}-msg{self.plays_left}"

    async def answered(self, event: Event) -> None:
        self.plays_left = max(1, getattr(self.plan, "repeat_count", 1) or 1)
        await self._play()

    async def _play(self) -> None:
        self.plays_left -= 1
        sound = self.ctx.settings.sound_uri(self.plan.message_file)
        await self.ctx.ari.play(self.channel_id, sound, playback_id=self.playback_id)

    async def playback_finished(self, event: Event) -> None:
        if event.playback_id == self.playback_id:
            if self.plays_left > 0:
                await self._play()
            else:
                await self.ctx.ari.hangup(self.channel_id)
