"""The FastAGI routes the dialplan calls (agi://127.0.0.1:<agi port>/<route>):

- `phone` (argument: the caller's PJSIP endpoint; the dialled number is agi_extension): where
  a phone's call goes, by voxcast.phones.routing.authorize. The answer is a few channel
  variables, VOXCAST_ROUTE last, which [voxcast-extensions] acts on; feature codes (*50-*53)
  are played out here and answer VOXCAST_ROUTE=done.

Anything unexpected (an unknown route, a missing argument, garbage, a dropped connection, a
slow database) ends the conversation with a log line; the dialplan then refuses the call
(it clears VOXCAST_ROUTE before asking, and refuses whatever is not a known route), so a
channel is never left waiting on us. Database work runs on the process's writer thread."""
from __future__ import annotations

import asyncio
import logging

from voxcast.phones import routing

from agi.protocol import LINE_MAX, AgiChannel, AgiError, AgiHangup

log = logging.getLogger("voxcast.agi")

SESSION_MAX_S = 120.0  # the longest conversation (a PIN keyed slowly, 6 s a key, and prompts)
PIN_WAIT_MS = 6000
PIN_MAX_DIGITS = 12


class AgiServer:
    def __init__(self, db, host: str = "127.0.0.1", port: int = 4573):
        self.db = db  # async callable: await db(func, *args) runs func on the writer thread
        self.host = host
        self.port = port
        self.routes = {"phone": self.phone}
        self.server: asyncio.Server | None = None
        self.served = 0  # conversations finished (for tests and the log)

    async def start(self) -> asyncio.Server:
        self.server = await asyncio.start_server(self.handle, self.host, self.port,
                                                 limit=LINE_MAX)
        log.info("FastAGI server listening on %s:%s", self.host, self.port)
        return self.server

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        chan = AgiChannel(reader, writer)
        peer = writer.get_extra_info("peername")
        try:
            async with asyncio.timeout(SESSION_MAX_S):
                await chan.read_env()
                route = self.routes.get(chan.script)
                if route is None:
                    log.warning("AGI from %s for unknown route %r (channel %s): refused",
                                peer, chan.script, chan.env.get("agi_channel", "?"))
                    await self._refuse(chan)
                    return
                await route(chan)
        except AgiHangup as exc:
            log.info("AGI %s %s: %s", chan.script or "?", chan.env.get("agi_channel", peer), exc)
        except (AgiError, TimeoutError) as exc:
            log.warning("AGI %s %s: bad conversation (%s): refused", chan.script or "?",
                        chan.env.get("agi_channel", peer), exc or "timed out")
            await self._refuse(chan)
        except Exception:
            log.exception("AGI %s %s failed: refused", chan.script or "?",
                          chan.env.get("agi_channel", peer))
            await self._refuse(chan)
        finally:
            self.served += 1
            chan.close()

    @staticmethod
    async def _refuse(chan: AgiChannel) -> None:
        """Best effort: say so explicitly (the dialplan refuses without it too)."""
        if chan.hung_up or not chan.env:
            return
        try:
            await chan.command("SET VARIABLE", "VOXCAST_ROUTE", "refuse", timeout=2.0)
        except (AgiError, OSError):
            pass

    # -- routes ---------------------------------------------------------------------------------
    async def phone(self, chan: AgiChannel) -> None:
        endpoint = chan.arg(1).strip()
        dialled = chan.env.get("agi_extension", "").strip()
        if not endpoint or not dialled:
            raise AgiError(f"phone route needs the endpoint and a number, got "
                           f"{endpoint!r} -> {dialled!r}")
        route = await self.db(routing.authorize, endpoint, dialled)
        log.info("phone %s dials %s: %s %s%s", endpoint, dialled, route.kind, route.target,
                 f" ({route.reason})" if route.reason else "")
        if route.language != "en":  # the prompts below and the dialplan's, in the tenant's
            await chan.set_variable("CHANNEL(language)", route.language)
        if route.kind == "feature":
            await self.feature(chan, endpoint, route.target)
            return
        await chan.set_variable("VOXCAST_TARGET", route.target)
        await chan.set_variable("VOXCAST_TENANT_ID", route.tenant_id or "")
        await chan.set_variable("VOXCAST_PROMPT", route.prompt if route.kind == "refuse" else "")
        await chan.set_variable("VOXCAST_ROUTE", route.kind)  # last: only a whole answer routes

    async def feature(self, chan: AgiChannel, endpoint: str, name: str) -> None:
        """*50 asks for the PIN; every code ends with the prompt of its outcome."""
        from voxcast.phones import features
        await chan.answer()
        if name == "login":
            pin = await chan.get_data("vx-enter-pin", PIN_WAIT_MS, PIN_MAX_DIGITS)
            if chan.hung_up:
                raise AgiHangup("hung up at the PIN prompt")
            # Nothing keyed (a timeout) is no guess: not counted against the agent.
            prompt = await self.db(features.login, endpoint, pin) if pin else features.PIN_INVALID
        else:
            prompt = await self.db(features.ACTIONS[name], endpoint)
        log.info("feature %s at %s: %s", name, endpoint, prompt)
        await chan.set_variable("VOXCAST_FEATURE_RESULT", prompt)
        await chan.stream_file(prompt)
        await chan.set_variable("VOXCAST_ROUTE", "done")
