"""The floor for inbound Stasis calls: a Stasis app that only answers, plays the prompt and hangs
up on PlaybackFinished, through our own ARI client (REST over the event socket, the same event
filter), under its own app name (`<app>-minimal`, which the `bench-minimal` extension uses).

No database, no CDR, no handler objects: what is left is what ARI itself costs Asterisk and us
per call, so bench/inbound_cps.py can say how far our app is above it.
Usage: python bench/minimal_ari_app.py  (for the instance in VOXCAST_INSTANCE; runs until killed)
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ari_app.client import AriClient, AriError  # noqa: E402
from ari_app.events import Event  # noqa: E402
from voxcast import config  # noqa: E402

PROMPT = "bench-prompt"


def app_name(settings: config.Settings) -> str:
    return f"{settings.ari_app_name}-minimal"


async def amain(settings: config.Settings, ready: Path | None) -> None:
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password(),
                    app_name(settings))
    media = settings.sound_uri(PROMPT)
    calls = 0

    async def step(coro) -> None:
        try:
            await coro
        except AriError as exc:  # the caller hung up first: nothing to do
            if exc.status != 404:
                logging.warning("%s", exc)

    def on_event(event: Event) -> None:
        nonlocal calls
        if event.type == "StasisStart":
            calls += 1
            asyncio.ensure_future(start(event.channel_id))
        elif event.type == "PlaybackFinished" and event.target_channel_id:
            asyncio.ensure_future(step(ari.hangup(event.target_channel_id)))

    async def start(channel_id: str) -> None:
        try:
            await ari.answer(channel_id)
            await ari.play(channel_id, media)
        except AriError as exc:
            if exc.status != 404:
                logging.warning("%s", exc)

    async def on_state(up: bool) -> None:
        if up and ready is not None:
            ready.write_text("connected")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    events = asyncio.create_task(ari.run_events(on_event, on_state))
    await stop.wait()
    events.cancel()
    await asyncio.gather(events, return_exceptions=True)
    await ari.close()
    logging.info("minimal app: %d calls; ARI messages: %s", calls,
                 ", ".join(f"{k} {n}" for k, n in ari.received.most_common()))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    ready = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    settings = config.load()
    try:
        import uvloop
        uvloop.run(amain(settings, ready))
    except ImportError:  # pragma: no cover
        asyncio.run(amain(settings, ready))


if __name__ == "__main__":
    main()
